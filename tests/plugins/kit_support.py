"""Helpers shared by tests (moved from test_plugin_kit.py, so that tests never import tests)."""

from __future__ import annotations

import itertools
from typing import Any, cast

from stdnum import luhn

_serial = itertools.count(400_000_001)


CLIENTS_DOB = "2019-07-04"


ADD = """mutation($input: AddCaseManagerInput!) {
  addCaseManager(input: $input) {
    caseManager { id } userErrors { code field rule plugin message } warnings { code }
  }
}"""


async def _ok(gql: Any, mutation: str, payload: str, input: dict[str, Any]) -> str:
    result = (await gql(mutation, {"input": input}))[payload]
    assert result["userErrors"] == [], result["userErrors"]
    key = next(k for k in result if k != "userErrors" and k != "warnings")
    return cast("str", result[key]["id"])


async def practice(
    gql: Any, plugins: list[str], *, cm_credential: str = "BCBA", enrollment: str = "ENROLLED"
) -> dict[str, str]:
    """A client covered by a payor naming `plugins`, a CM candidate enrolled with it, and an
    RBT; the IDs by role."""
    client = await _ok(
        gql,
        "mutation($input: CreateClientInput!) { createClient(input: $input) "
        "{ client { id } userErrors { code } } }",
        "createClient",
        {"firstName": "Ada", "lastName": "Lovelace"},
    )
    payor = await _ok(
        gql,
        "mutation($input: CreatePayorInput!) { createPayor(input: $input) "
        "{ payor { id } userErrors { code } } }",
        "createPayor",
        {
            "name": "Payor " + "+".join(plugins or ["plain"]),
            "kind": "COMMERCIAL",
            "plugins": plugins,
        },
    )
    await _ok(
        gql,
        "mutation($input: AddCoverageInput!) { addCoverage(input: $input) "
        "{ coverage { id } userErrors { code } } }",
        "addCoverage",
        {"clientId": client, "payorId": payor, "effectiveFrom": "2025-01-01"},
    )
    people = {}
    for role, credential in (("cm", cm_credential), ("rbt", "RBT")):
        nine = str(next(_serial))
        npi = nine + luhn.calc_check_digit("80840" + nine)
        people[role] = await _ok(
            gql,
            "mutation($input: CreateProviderInput!) { createProvider(input: $input) "
            "{ provider { id } userErrors { code } } }",
            "createProvider",
            {"firstName": role, "lastName": "X", "npi": npi, "credentials": [{"type": credential}]},
        )
    await _ok(
        gql,
        "mutation($input: RecordEnrollmentInput!) { recordEnrollment(input: $input) "
        "{ enrollment { id } userErrors { code } } }",
        "recordEnrollment",
        {"providerId": people["cm"], "payorId": payor, "status": enrollment},
    )
    return {"client": client, "payor": payor, **people}


async def add_cm(gql: Any, who: dict[str, str], start: str = "2026-03-01") -> dict[str, Any]:
    input = {
        "clientId": who["client"],
        "serviceLine": "ABA",
        "providerId": who["cm"],
        "startDate": start,
    }
    return cast("dict[str, Any]", (await gql(ADD, {"input": input}))["addCaseManager"])


async def session(
    gql: Any, who: dict[str, str], starts_at: str, ends_at: str, status: str = "COMPLETED"
) -> str:
    appointment = await _ok(
        gql,
        "mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) "
        "{ appointment { id } userErrors { code } } }",
        "scheduleAppointment",
        {
            "clientId": who["client"],
            "serviceLine": "ABA",
            "providerId": who["rbt"],
            "startsAt": starts_at,
            "endsAt": ends_at,
            "serviceCode": "97153",
        },
    )
    await _ok(
        gql,
        "mutation($input: UpdateAppointmentInput!) { updateAppointment(input: $input) "
        "{ appointment { id } userErrors { code } } }",
        "updateAppointment",
        {"id": appointment, "status": status},
    )
    return appointment
