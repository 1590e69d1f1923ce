"""Small async builders that set up a practice through the GraphQL mutations.

Each builder asserts that its mutation succeeded and returns the new object's global id, so
a test reads as the steps a billing coordinator would take.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, cast

from stdnum import luhn

from tests.support import Api

_npi_serial = itertools.count(100_000_001)


def new_npi() -> str:
    """A valid NPI (Luhn check digit over 80840 + the first nine digits), unique per run."""
    nine = str(next(_npi_serial))
    return nine + luhn.calc_check_digit("80840" + nine)


async def _ok(api: Api, mutation: str, input: dict[str, Any], payload: str, field: str) -> str:
    data = await api(mutation, {"input": input})
    result = data[payload]
    assert result["userErrors"] == [], result["userErrors"]
    return cast("str", result[field]["id"])


async def create_client(api: Api, first_name: str = "Ada", last_name: str = "Lovelace") -> str:
    return await _ok(
        api,
        """mutation($input: CreateClientInput!) {
             createClient(input: $input) { client { id } userErrors { code field message } }
           }""",
        {"firstName": first_name, "lastName": last_name},
        "createClient",
        "client",
    )


def credential(type: str, expires_on: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": type, "expiresOn": expires_on, **extra}


async def create_provider(
    api: Api,
    first_name: str = "Grace",
    last_name: str = "Hopper",
    credentials: list[dict[str, Any]] | None = None,
    npi: str | None = None,
) -> str:
    """A provider; by default a BCBA (qualified for ABA) with a fresh NPI."""
    return await _ok(
        api,
        """mutation($input: CreateProviderInput!) {
             createProvider(input: $input) { provider { id } userErrors { code field message } }
           }""",
        {
            "firstName": first_name,
            "lastName": last_name,
            "npi": npi or new_npi(),
            "credentials": [credential("BCBA")] if credentials is None else credentials,
        },
        "createProvider",
        "provider",
    )


async def create_payor(api: Api, name: str = "Acme Health", kind: str = "COMMERCIAL") -> str:
    return await _ok(
        api,
        """mutation($input: CreatePayorInput!) {
             createPayor(input: $input) { payor { id } userErrors { code field message } }
           }""",
        {"name": name, "kind": kind},
        "createPayor",
        "payor",
    )


async def add_coverage(
    api: Api,
    client: str,
    payor: str,
    effective_from: str = "2025-01-01",
    effective_to: str | None = None,
    priority: int = 1,
) -> str:
    return await _ok(
        api,
        """mutation($input: AddCoverageInput!) {
             addCoverage(input: $input) { coverage { id } userErrors { code field message } }
           }""",
        {
            "clientId": client,
            "payorId": payor,
            "effectiveFrom": effective_from,
            "effectiveTo": effective_to,
            "priority": priority,
            "memberId": "M-1",
        },
        "addCoverage",
        "coverage",
    )


async def record_enrollment(
    api: Api,
    provider: str,
    payor: str,
    status: str = "ENROLLED",
    effective_from: str | None = "2025-01-01",
    effective_to: str | None = None,
) -> str:
    return await _ok(
        api,
        """mutation($input: RecordEnrollmentInput!) {
             recordEnrollment(input: $input) {
               enrollment { id } userErrors { code field message }
             }
           }""",
        {
            "providerId": provider,
            "payorId": payor,
            "status": status,
            "effectiveFrom": effective_from,
            "effectiveTo": effective_to,
        },
        "recordEnrollment",
        "enrollment",
    )


async def schedule(
    api: Api,
    client: str,
    provider: str,
    starts_at: str,
    ends_at: str | None = None,
    service_line: str = "ABA",
    status: str | None = None,
) -> str:
    """An appointment starting at `starts_at` (ISO with offset), one hour long by default;
    `status` (COMPLETED, CANCELLED...) is set with updateAppointment afterwards."""
    if ends_at is None:
        hour = int(starts_at[11:13]) + 1
        assert hour < 24, "give ends_at for sessions starting at 23:00 or later"
        ends_at = f"{starts_at[:11]}{hour:02d}{starts_at[13:]}"
    appointment = await _ok(
        api,
        """mutation($input: ScheduleAppointmentInput!) {
             scheduleAppointment(input: $input) {
               appointment { id } userErrors { code field message }
             }
           }""",
        {
            "clientId": client,
            "serviceLine": service_line,
            "providerId": provider,
            "startsAt": starts_at,
            "endsAt": ends_at,
        },
        "scheduleAppointment",
        "appointment",
    )
    if status is not None:
        await _ok(
            api,
            """mutation($input: UpdateAppointmentInput!) {
                 updateAppointment(input: $input) {
                   appointment { id } userErrors { code field message }
                 }
               }""",
            {"id": appointment, "status": status},
            "updateAppointment",
            "appointment",
        )
    return appointment


@dataclass(frozen=True)
class Case:
    """A client covered by a primary payor, and a BCBA enrolled with that payor."""

    client: str
    payor: str
    bcba: str


async def credentialed_case(api: Api, since: str = "2025-01-01") -> Case:
    client = await create_client(api)
    payor = await create_payor(api)
    await add_coverage(api, client, payor, effective_from=since)
    bcba = await create_provider(api, "Grace", "Hopper")
    await record_enrollment(api, bcba, payor, effective_from=since)
    return Case(client=client, payor=payor, bcba=bcba)


async def credentialed_bcba(api: Api, payor: str, first: str, last: str) -> str:
    provider = await create_provider(api, first, last)
    await record_enrollment(api, provider, payor)
    return provider


# --- the case-manager mutations, returning their whole payload -------------------------

ASSIGNMENT = "id startDate endDate note version provider { id } serviceLine { code }"
USER_ERRORS = "userErrors { code field message rule plugin }"
FINDINGS = "code severity message field rule plugin date"

ADD = f"""mutation($input: AddCaseManagerInput!) {{
  addCaseManager(input: $input) {{
    caseManager {{ {ASSIGNMENT} }} {USER_ERRORS} warnings {{ {FINDINGS} }}
  }}
}}"""

CHECK = f"""query($input: AddCaseManagerInput!) {{
  checkCaseManager(input: $input) {{ {FINDINGS} }}
}}"""

CHANGE = f"""mutation($input: ChangeCaseManagerInput!) {{
  changeCaseManager(input: $input) {{
    ended {{ {ASSIGNMENT} }} caseManager {{ {ASSIGNMENT} }} {USER_ERRORS}
    warnings {{ {FINDINGS} }}
  }}
}}"""

UPDATE = f"""mutation($input: UpdateCaseManagerInput!) {{
  updateCaseManager(input: $input) {{
    caseManager {{ {ASSIGNMENT} }} {USER_ERRORS} warnings {{ {FINDINGS} }}
  }}
}}"""

REMOVE = f"""mutation($input: RemoveCaseManagerInput!) {{
  removeCaseManager(input: $input) {{ removedId {USER_ERRORS} }}
}}"""

CASE_MANAGERS = f"""query($id: ID!) {{
  client(id: $id) {{ caseManagers {{ {ASSIGNMENT} }} }}
}}"""


def cm_input(
    case: Case,
    start_date: str,
    provider: str | None = None,
    line: str = "ABA",
    end_date: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """An AddCaseManagerInput (or ChangeCaseManagerInput, without end_date) for case's client."""
    input = {
        "clientId": case.client,
        "serviceLine": line,
        "providerId": provider or case.bcba,
        "startDate": start_date,
    }
    if end_date is not None:
        input["endDate"] = end_date
    if note is not None:
        input["note"] = note
    return input


async def add_case_manager(api: Api, input: dict[str, Any]) -> dict[str, Any]:
    return cast("dict[str, Any]", (await api(ADD, {"input": input}))["addCaseManager"])


async def assign(api: Api, input: dict[str, Any]) -> dict[str, Any]:
    """addCaseManager that must succeed; the new assignment."""
    payload = await add_case_manager(api, input)
    assert payload["userErrors"] == [], payload["userErrors"]
    return cast("dict[str, Any]", payload["caseManager"])


async def case_managers(api: Api, client: str) -> list[dict[str, Any]]:
    return cast(
        "list[dict[str, Any]]", (await api(CASE_MANAGERS, {"id": client}))["client"]["caseManagers"]
    )
