"""Builders for the payor-plugin tests: a practice set up through the GraphQL mutations.

Every builder asserts that its mutation succeeded and returns the new object's global id.
"""

from __future__ import annotations

import itertools
from typing import Any, cast

from stdnum import luhn

from tests.support import Api

_npi_serial = itertools.count(300_000_001)


def new_npi() -> str:
    nine = str(next(_npi_serial))
    return nine + luhn.calc_check_digit("80840" + nine)


async def _ok(api: Api, mutation: str, payload: str, field: str, input: dict[str, Any]) -> str:
    data = await api(mutation, {"input": input})
    result = data[payload]
    assert result["userErrors"] == [], result["userErrors"]
    return cast("str", result[field]["id"])


async def client(api: Api, first: str = "Ada", last: str = "Lovelace") -> str:
    return await _ok(
        api,
        "mutation($input: CreateClientInput!) { createClient(input: $input) "
        "{ client { id } userErrors { code field message } } }",
        "createClient",
        "client",
        {"firstName": first, "lastName": last},
    )


async def provider(api: Api, first: str, last: str, *credentials: str) -> str:
    """A provider holding the given credential types (none expire)."""
    return await _ok(
        api,
        "mutation($input: CreateProviderInput!) { createProvider(input: $input) "
        "{ provider { id } userErrors { code field message } } }",
        "createProvider",
        "provider",
        {
            "firstName": first,
            "lastName": last,
            "npi": new_npi(),
            "credentials": [{"type": c} for c in credentials],
        },
    )


async def payor(api: Api, name: str, kind: str, *plugins: str) -> str:
    return await _ok(
        api,
        "mutation($input: CreatePayorInput!) { createPayor(input: $input) "
        "{ payor { id } userErrors { code field message } } }",
        "createPayor",
        "payor",
        {"name": name, "kind": kind, "plugins": list(plugins)},
    )


async def coverage(
    api: Api, client: str, payor: str, since: str = "2025-01-01", priority: int = 1
) -> str:
    return await _ok(
        api,
        "mutation($input: AddCoverageInput!) { addCoverage(input: $input) "
        "{ coverage { id } userErrors { code field message } } }",
        "addCoverage",
        "coverage",
        {"clientId": client, "payorId": payor, "effectiveFrom": since, "priority": priority},
    )


async def enroll(
    api: Api,
    provider: str,
    payor: str,
    since: str | None = "2025-01-01",
    until: str | None = None,
    status: str = "ENROLLED",
) -> str:
    return await _ok(
        api,
        "mutation($input: RecordEnrollmentInput!) { recordEnrollment(input: $input) "
        "{ enrollment { id } userErrors { code field message } } }",
        "recordEnrollment",
        "enrollment",
        {
            "providerId": provider,
            "payorId": payor,
            "status": status,
            "effectiveFrom": since,
            "effectiveTo": until,
        },
    )


ADD_CASE_MANAGER = """mutation($input: AddCaseManagerInput!) {
  addCaseManager(input: $input) {
    caseManager { id }
    userErrors { code field message rule plugin }
    warnings { code severity message rule plugin }
  }
}"""


async def add_case_manager(
    api: Api, client: str, provider: str, start: str, line: str = "ABA"
) -> dict[str, Any]:
    """The whole addCaseManager payload (it may carry userErrors)."""
    data = await api(
        ADD_CASE_MANAGER,
        {
            "input": {
                "clientId": client,
                "serviceLine": line,
                "providerId": provider,
                "startDate": start,
            }
        },
    )
    return cast("dict[str, Any]", data["addCaseManager"])


async def case_manager(api: Api, client: str, provider: str, start: str, line: str = "ABA") -> str:
    payload = await add_case_manager(api, client, provider, start, line)
    assert payload["userErrors"] == [], payload["userErrors"]
    return cast("str", payload["caseManager"]["id"])


async def session(
    api: Api,
    client: str,
    provider: str,
    starts_at: str,
    ends_at: str,
    *,
    code: str | None = None,
    telehealth: bool = False,
    line: str = "ABA",
    status: str | None = "COMPLETED",
) -> str:
    """An appointment (ISO date-times with offsets), then marked with `status`."""
    appointment = await _ok(
        api,
        "mutation($input: ScheduleAppointmentInput!) { scheduleAppointment(input: $input) "
        "{ appointment { id } userErrors { code field message } } }",
        "scheduleAppointment",
        "appointment",
        {
            "clientId": client,
            "serviceLine": line,
            "providerId": provider,
            "startsAt": starts_at,
            "endsAt": ends_at,
            "serviceCode": code,
            "telehealth": telehealth,
        },
    )
    if status is not None and status != "SCHEDULED":
        await _ok(
            api,
            "mutation($input: UpdateAppointmentInput!) { updateAppointment(input: $input) "
            "{ appointment { id } userErrors { code field message } } }",
            "updateAppointment",
            "appointment",
            {"id": appointment, "status": status},
        )
    return appointment
