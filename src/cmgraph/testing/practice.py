"""A small practice through the API, for plugin tests: a client covered by a payor naming
the plugins, a case-manager candidate enrolled with it and a technician (RBT), then
assignments and sessions, each in one call. Every step is the public GraphQL API, so a
plugin's test reads like what a front end does."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from stdnum import luhn

Call = Callable[[str, dict[str, Any]], Awaitable[Any]]
_serial = itertools.count(600_000_001)


def npi() -> str:
    """A fresh valid NPI (Luhn check digit with the 80840 prefix)."""
    nine = str(next(_serial))
    return nine + luhn.calc_check_digit("80840" + nine)


async def _ok(call: Call, name: str, input: dict[str, Any]) -> str:
    """Run one mutation of the practice; its payload's object id (no userErrors allowed)."""
    kind = _INPUTS[name]
    data = await call(
        f"mutation($input: {kind}!) {{ {name}(input: $input) {{ "
        f"id: {_payload_field(name)} {{ id }} userErrors {{ code field message }} }} }}",
        {"input": input},
    )
    result = data[name]
    assert result["userErrors"] == [], result["userErrors"]
    return str(result["id"]["id"])


_INPUTS = {
    "createClient": "CreateClientInput",
    "createPayor": "CreatePayorInput",
    "addCoverage": "AddCoverageInput",
    "createProvider": "CreateProviderInput",
    "recordEnrollment": "RecordEnrollmentInput",
    "scheduleAppointment": "ScheduleAppointmentInput",
    "updateAppointment": "UpdateAppointmentInput",
}


def _payload_field(mutation: str) -> str:
    return {
        "createClient": "client",
        "createPayor": "payor",
        "addCoverage": "coverage",
        "createProvider": "provider",
        "recordEnrollment": "enrollment",
        "scheduleAppointment": "appointment",
        "updateAppointment": "appointment",
    }[mutation]


@dataclass(frozen=True)
class Practice:
    """The ids of one small practice (GraphQL ids)."""

    client: str
    payor: str
    cm: str
    rbt: str


async def practice(
    call: Call,
    plugins: list[str],
    *,
    kind: str = "COMMERCIAL",
    cm_credential: str = "BCBA",
    enrollment: str = "ENROLLED",
    covered_from: str = "2025-01-01",
    settings: dict[str, Any] | None = None,
) -> Practice:
    client = await _ok(call, "createClient", {"firstName": "Ada", "lastName": "Lovelace"})
    payor = await _ok(
        call,
        "createPayor",
        {"name": "Payor " + "+".join(plugins or ["plain"]), "kind": kind, "plugins": plugins}
        | ({"settings": settings} if settings else {}),
    )
    await _ok(
        call,
        "addCoverage",
        {"clientId": client, "payorId": payor, "effectiveFrom": covered_from},
    )
    people = {}
    for role, credential in (("cm", cm_credential), ("rbt", "RBT")):
        people[role] = await _ok(
            call,
            "createProvider",
            {
                "firstName": role,
                "lastName": "X",
                "npi": npi(),
                "credentials": [{"type": credential}],
            },
        )
    await _ok(
        call,
        "recordEnrollment",
        {"providerId": people["cm"], "payorId": payor, "status": enrollment},
    )
    return Practice(client, payor, people["cm"], people["rbt"])


ADD_CASE_MANAGER = """mutation($input: AddCaseManagerInput!) {
  addCaseManager(input: $input) {
    caseManager { id } userErrors { code field rule plugin message }
    warnings { code rule plugin message }
  }
}"""


async def add_case_manager(
    call: Call, who: Practice, start: str, line: str = "ABA"
) -> dict[str, Any]:
    """addCaseManager's whole payload (caseManager, userErrors, warnings)."""
    input = {"clientId": who.client, "serviceLine": line, "providerId": who.cm, "startDate": start}
    return dict((await call(ADD_CASE_MANAGER, {"input": input}))["addCaseManager"])


async def session(
    call: Call,
    who: Practice,
    starts_at: str,
    ends_at: str,
    *,
    by: str | None = None,
    code: str | None = "97153",
    telehealth: bool = False,
    status: str = "COMPLETED",
    line: str = "ABA",
) -> str:
    """A session (ISO date-times with offsets) delivered by `by` (default the RBT)."""
    appointment = await _ok(
        call,
        "scheduleAppointment",
        {
            "clientId": who.client,
            "serviceLine": line,
            "providerId": by or who.rbt,
            "startsAt": starts_at,
            "endsAt": ends_at,
            "serviceCode": code,
            "telehealth": telehealth,
        },
    )
    if status != "SCHEDULED":
        await _ok(call, "updateAppointment", {"id": appointment, "status": status})
    return appointment
