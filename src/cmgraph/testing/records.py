"""One record of a practice per call, through the public GraphQL API, for plugin tests that
need more than `cmgraph.testing.practice` sets up (two payors, a substitute, a credential
that lapses...): ``from cmgraph.testing import records as r`` then ``client = await
r.client(cmgraph_graphql)``, ``plan = await r.payor(cmgraph_graphql, "Acme", "COMMERCIAL",
"my_payor")``, ``await r.coverage(cmgraph_graphql, client, plan)``...

Every builder asserts that its mutation succeeded (no userErrors) and returns the new
object's GraphQL id; `add_case_manager` returns the whole payload instead, for tests of a
refusal. `call` is anything that runs a GraphQL document with variables and returns its
data, such as the ``cmgraph_graphql`` fixture.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from stdnum import luhn

Call = Callable[[str, dict[str, Any]], Awaitable[Any]]
# What a credential may be given as: its type ("BCBA"), or CredentialInput's fields
# ({"type": "BCBA", "expiresOn": "2026-03-31"}).
CredentialSpec = str | dict[str, Any]

_serial = itertools.count(600_000_001)

_PAYLOADS = {
    "createClient": ("CreateClientInput", "client"),
    "createPayor": ("CreatePayorInput", "payor"),
    "addCoverage": ("AddCoverageInput", "coverage"),
    "createProvider": ("CreateProviderInput", "provider"),
    "recordEnrollment": ("RecordEnrollmentInput", "enrollment"),
    "scheduleAppointment": ("ScheduleAppointmentInput", "appointment"),
    "updateAppointment": ("UpdateAppointmentInput", "appointment"),
}


def npi() -> str:
    """A fresh valid NPI (Luhn check digit with the 80840 prefix)."""
    nine = str(next(_serial))
    return nine + luhn.calc_check_digit("80840" + nine)


async def created(call: Call, mutation: str, input: dict[str, Any]) -> str:
    """Run one of the mutations above; the id of what it made (no userErrors allowed)."""
    kind, field = _PAYLOADS[mutation]
    data = await call(
        f"mutation($input: {kind}!) {{ {mutation}(input: $input) {{ "
        f"made: {field} {{ id }} userErrors {{ code field message }} }} }}",
        {"input": input},
    )
    result = data[mutation]
    assert result["userErrors"] == [], result["userErrors"]
    return str(result["made"]["id"])


async def client(call: Call, first: str = "Ada", last: str = "Lovelace") -> str:
    return await created(call, "createClient", {"firstName": first, "lastName": last})


async def provider(call: Call, first: str, last: str, *credentials: CredentialSpec) -> str:
    """A provider holding the given credentials (a bare type never expires)."""
    held = [{"type": c} if isinstance(c, str) else dict(c) for c in credentials]
    return await created(
        call,
        "createProvider",
        {"firstName": first, "lastName": last, "npi": npi(), "credentials": held},
    )


async def payor(
    call: Call, name: str, kind: str, *plugins: str, settings: dict[str, Any] | None = None
) -> str:
    """A payor of `kind` (COMMERCIAL, MEDICAID, MEDICARE, TRICARE, OTHER) naming `plugins`."""
    input: dict[str, Any] = {"name": name, "kind": kind, "plugins": list(plugins)}
    if settings:
        input["settings"] = settings
    return await created(call, "createPayor", input)


async def coverage(
    call: Call,
    client: str,
    payor: str,
    since: str = "2025-01-01",
    priority: int = 1,
    until: str | None = None,
) -> str:
    """The client's coverage by payor (priority 1: primary), from `since` to `until`."""
    return await created(
        call,
        "addCoverage",
        {
            "clientId": client,
            "payorId": payor,
            "effectiveFrom": since,
            "effectiveTo": until,
            "priority": priority,
        },
    )


async def enroll(
    call: Call,
    provider: str,
    payor: str,
    since: str | None = "2025-01-01",
    until: str | None = None,
    status: str = "ENROLLED",
    applied_on: str | None = None,
) -> str:
    """The provider's enrollment with payor (status PENDING, ENROLLED, DENIED, TERMINATED)."""
    return await created(
        call,
        "recordEnrollment",
        {
            "providerId": provider,
            "payorId": payor,
            "status": status,
            "effectiveFrom": since,
            "effectiveTo": until,
            "appliedOn": applied_on,
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
    call: Call, client: str, provider: str, start: str, line: str = "ABA"
) -> dict[str, Any]:
    """addCaseManager's whole payload: caseManager, userErrors, warnings."""
    input = {"clientId": client, "serviceLine": line, "providerId": provider, "startDate": start}
    return dict((await call(ADD_CASE_MANAGER, {"input": input}))["addCaseManager"])


async def case_manager(
    call: Call, client: str, provider: str, start: str, line: str = "ABA"
) -> str:
    """A case-manager assignment that must be accepted; its id."""
    payload = await add_case_manager(call, client, provider, start, line)
    assert payload["userErrors"] == [], payload["userErrors"]
    return str(payload["caseManager"]["id"])


async def session(
    call: Call,
    client: str,
    provider: str,
    starts_at: str,
    ends_at: str,
    *,
    code: str | None = None,
    telehealth: bool = False,
    line: str = "ABA",
    status: str = "COMPLETED",
) -> str:
    """A session delivered by `provider` (ISO date-times with offsets), marked `status`."""
    appointment = await created(
        call,
        "scheduleAppointment",
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
    if status != "SCHEDULED":
        await created(call, "updateAppointment", {"id": appointment, "status": status})
    return appointment


CLAIM_LINES = """
query($from: Date!, $to: Date!, $client: ID) {
  claimLines(from: $from, to: $to, clientId: $client, first: 100) {
    edges { node {
      dateOfService serviceCode modifiers
      appointment { id telehealth }
      payor { id name }
      deliveredBy { id displayName }
      renderingProvider { id displayName }
      supervisingProvider { id displayName }
      findings { code severity message rule plugin payor { id } }
    } }
  }
}
"""


async def claim_lines(call: Call, client: str, start: str, end: str) -> list[dict[str, Any]]:
    """The client's claim lines with dates of service from `start` to `end` (inclusive)."""
    data = await call(CLAIM_LINES, {"from": start, "to": end, "client": client})
    return [edge["node"] for edge in data["claimLines"]["edges"]]


COMPLIANCE = """
query($from: Date!, $to: Date!) {
  complianceFindings(from: $from, to: $to, first: 100) {
    edges { node {
      code severity message rule plugin date
      client { id } appointment { id } payor { id }
    } }
  }
}
"""


async def compliance_findings(call: Call, start: str, end: str) -> list[dict[str, Any]]:
    """The practice's compliance report for dates from `start` to `end` (inclusive)."""
    data = await call(COMPLIANCE, {"from": start, "to": end})
    return [edge["node"] for edge in data["complianceFindings"]["edges"]]


CLIENT_FINDINGS = """query($id: ID!) {
  client(id: $id) { findings { code severity message rule plugin date payor { id } } }
}"""


async def client_findings(call: Call, client: str) -> list[dict[str, Any]]:
    """The client's open findings, as the Clinical tab shows them (stored and current)."""
    data = await call(CLIENT_FINDINGS, {"id": client})
    return list(data["client"]["findings"])
