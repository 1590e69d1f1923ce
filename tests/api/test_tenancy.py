"""Organizations never see or touch each other's rows: ids of organization A used with
organization B's token resolve to nothing, lists of B hold only B's rows, and B's writes on
A's ids are NOT_FOUND and change nothing."""

from __future__ import annotations

from typing import Any

import builders as b
import pytest

from cmgraph.db import models
from cmgraph.db.engine import Database
from tests.support import Api


async def populate(api: Any, last: str) -> dict[str, str]:
    """One of every kind of node, named after `last`; returns their ids by type."""
    client_id = await b.client(api, "Tess", last)
    provider_id = await b.provider(api, "Tom", last)
    payor_id = await b.payor(api, f"{last} Health")
    coverage_id = await b.coverage(api, client_id, payor_id, "2025-01-01")
    enrollment_id = await b.enrollment(api, provider_id, payor_id)
    assignment_id = await b.case_manager(api, client_id, provider_id, "2026-03-01")
    covered = await b.appointment(
        api, client_id, provider_id, "2026-03-10T09:00:00-05:00", "2026-03-10T10:00:00-05:00"
    )
    await b.appointment(  # before the CM starts: a NO_CASE_MANAGER finding
        api, client_id, provider_id, "2026-02-10T09:00:00-05:00", "2026-02-10T10:00:00-05:00"
    )
    hook = await b.ok(
        api,
        """mutation($url: String!) { createWebhookEndpoint(input: {url: $url,
             eventTypes: ["client.created"]}) { webhookEndpoint { id } userErrors { code } } }""",
        {"url": f"http://127.0.0.1:9/{last}"},
        "createWebhookEndpoint",
    )
    return {
        "WebhookEndpoint": hook["webhookEndpoint"]["id"],
        "Client": client_id,
        "Provider": provider_id,
        "Payor": payor_id,
        "Coverage": coverage_id,
        "Enrollment": enrollment_id,
        "CaseManagerAssignment": assignment_id,
        "Appointment": covered["appointment"]["id"],
    }


@pytest.fixture
async def theirs(api: Any) -> dict[str, str]:
    """Organization A's rows (A is `api`; the tests act as B, `other_api`)."""
    return await populate(api, "Alpha")


@pytest.fixture
async def mine(other_api: Any) -> dict[str, str]:
    """Organization B's own rows, so that B's lists and answers are not trivially empty."""
    return await populate(other_api, "Bravo")


NODE = "query($id: ID!) { node(id: $id) { id __typename } }"


@pytest.mark.parametrize(
    "type_name",
    [
        "Client",
        "Provider",
        "Payor",
        "Coverage",
        "Enrollment",
        "CaseManagerAssignment",
        "Appointment",
    ],
)
async def test_node_of_another_organization_is_null(
    api: Api, other_api: Api, theirs: dict[str, str], mine: dict[str, str], type_name: str
) -> None:
    assert (await api(NODE, {"id": theirs[type_name]}))["node"]["__typename"] == type_name
    assert (await other_api(NODE, {"id": mine[type_name]}))["node"]["__typename"] == type_name

    assert (await other_api(NODE, {"id": theirs[type_name]}))["node"] is None


async def test_client_and_provider_of_another_organization_are_null(
    api: Api, other_api: Api, theirs: dict[str, str], mine: dict[str, str]
) -> None:
    client = "query($id: ID!) { client(id: $id) { id } }"
    provider = "query($id: ID!) { provider(id: $id) { id } }"
    assert (await api(client, {"id": theirs["Client"]}))["client"] == {"id": theirs["Client"]}
    assert (await api(provider, {"id": theirs["Provider"]}))["provider"] == {
        "id": theirs["Provider"]
    }

    assert (await other_api(client, {"id": theirs["Client"]}))["client"] is None
    assert (await other_api(provider, {"id": theirs["Provider"]}))["provider"] is None


def assert_refused(body: dict[str, Any], code: str = "NOT_FOUND") -> None:
    assert body.get("data") is None, body
    assert body["errors"][0]["extensions"]["code"] == code, body


RENDERING = """
query($clientId: ID!) {
  renderingProvider(clientId: $clientId, serviceLine: "ABA", dateOfService: "2026-03-10") {
    provider { id } assignment { id } findings { code }
  }
}"""

RENDERING_BATCH = """
query($requests: [RenderingProviderRequest!]!) {
  renderingProviders(requests: $requests) { provider { id } }
}"""

# Before the CM starts (2026-03-01), so the practice's one provider is a candidate: from
# then on it is the CM whom a change would replace, and left out.
SUGGEST = """
query($clientId: ID!) {
  suggestCaseManagers(clientId: $clientId, serviceLine: "ABA", startDate: "2026-02-01",
                      includeBlocked: true) {
    provider { id }
  }
}"""

CHECK = """
query($input: AddCaseManagerInput!) { checkCaseManager(input: $input) { code field } }
"""


async def test_rendering_provider_of_another_organizations_client_is_not_found(
    api: Api, other_api: Api, theirs: dict[str, str], mine: dict[str, str]
) -> None:
    answer = (await api(RENDERING, {"clientId": theirs["Client"]}))["renderingProvider"]
    assert answer["provider"] == {"id": theirs["Provider"]}

    assert_refused(await other_api.raw(RENDERING, {"clientId": theirs["Client"]}))
    request = {"serviceLine": "ABA", "dateOfService": "2026-03-10"}
    assert_refused(
        await other_api.raw(
            RENDERING_BATCH,
            {
                "requests": [
                    {**request, "clientId": mine["Client"]},
                    {**request, "clientId": theirs["Client"]},
                ]
            },
        )
    )


async def test_suggestions_for_another_organizations_client_are_refused(
    api: Api, other_api: Api, theirs: dict[str, str], mine: dict[str, str]
) -> None:
    assert (await api(SUGGEST, {"clientId": theirs["Client"]}))["suggestCaseManagers"]
    assert (await other_api(SUGGEST, {"clientId": mine["Client"]}))["suggestCaseManagers"]

    assert_refused(await other_api.raw(SUGGEST, {"clientId": theirs["Client"]}))


async def test_suggestions_never_offer_another_organizations_providers(
    other_api: Api, theirs: dict[str, str], mine: dict[str, str]
) -> None:
    found = (await other_api(SUGGEST, {"clientId": mine["Client"]}))["suggestCaseManagers"]
    assert theirs["Provider"] not in {c["provider"]["id"] for c in found}
    assert mine["Provider"] in {c["provider"]["id"] for c in found}


@pytest.mark.parametrize(
    ("client_of", "provider_of", "field"),
    [
        ("theirs", "theirs", "clientId"),
        ("mine", "theirs", "providerId"),
        ("theirs", "mine", "clientId"),
    ],
)
async def test_check_case_manager_with_another_organizations_ids_is_refused(
    other_api: Api,
    theirs: dict[str, str],
    mine: dict[str, str],
    client_of: str,
    provider_of: str,
    field: str,
) -> None:
    ids = {"theirs": theirs, "mine": mine}
    variables = {
        "input": {
            "clientId": ids[client_of]["Client"],
            "serviceLine": "ABA",
            "providerId": ids[provider_of]["Provider"],
            "startDate": "2026-06-01",
        }
    }
    body = await other_api.raw(CHECK, variables)
    assert_refused(body)
    assert body["errors"][0]["extensions"]["field"] == ["input", field]


LISTS = """
query {
  clients(first: 100) { totalCount edges { node { id } } }
  providers(first: 100) { totalCount edges { node { id } } }
  payors { id }
  rules { name payors { id } }
  complianceFindings(from: "2026-01-01", to: "2026-12-31") {
    totalCount edges { node { client { id } appointment { id } } }
  }
}"""


async def test_lists_hold_only_the_organizations_own_rows(
    other_api: Api, theirs: dict[str, str], mine: dict[str, str]
) -> None:
    data = await other_api(LISTS)

    assert [e["node"]["id"] for e in data["clients"]["edges"]] == [mine["Client"]]
    assert data["clients"]["totalCount"] == 1
    assert [e["node"]["id"] for e in data["providers"]["edges"]] == [mine["Provider"]]
    assert data["providers"]["totalCount"] == 1
    assert [p["id"] for p in data["payors"]] == [mine["Payor"]]
    assert {p["id"] for r in data["rules"] for p in r["payors"]} == {mine["Payor"]}
    findings = data["complianceFindings"]
    assert findings["totalCount"] == 1
    assert {e["node"]["client"]["id"] for e in findings["edges"]} == {mine["Client"]}
    assert theirs["Client"] not in str(data)


async def test_nested_lists_of_an_organizations_nodes_stay_inside_it(
    other_api: Api, theirs: dict[str, str], mine: dict[str, str]
) -> None:
    data = await other_api(
        """query($id: ID!) { client(id: $id) {
             coverages { payor { id } } caseManagers { provider { id } }
             appointments { id } findings { code } } }""",
        {"id": mine["Client"]},
    )
    client = data["client"]
    assert [c["payor"]["id"] for c in client["coverages"]] == [mine["Payor"]]
    assert [c["provider"]["id"] for c in client["caseManagers"]] == [mine["Provider"]]
    assert len(client["appointments"]) == 2
    assert theirs["Appointment"] not in str(client)


# --- writes on another organization's ids ------------------------------------------------

REMOVE = """
mutation($input: RemoveCaseManagerInput!) {
  removeCaseManager(input: $input) { removedId userErrors { field code } }
}"""

UPDATE_CM = """
mutation($input: UpdateCaseManagerInput!) {
  updateCaseManager(input: $input) { caseManager { id } userErrors { field code } }
}"""


def _writes(
    theirs: dict[str, str], mine: dict[str, str]
) -> list[tuple[str, str, dict[str, Any], list[str]]]:
    """(mutation, payload, input, the field that must be NOT_FOUND)."""
    session = {"startsAt": "2026-04-01T09:00:00-04:00", "endsAt": "2026-04-01T10:00:00-04:00"}
    return [
        (b.UPDATE_CLIENT, "updateClient", {"id": theirs["Client"], "lastName": "X"}, ["id"]),
        (b.UPDATE_PROVIDER, "updateProvider", {"id": theirs["Provider"], "active": False}, ["id"]),
        (
            b.ADD_COVERAGE,
            "addCoverage",
            {"clientId": theirs["Client"], "payorId": mine["Payor"], "effectiveFrom": "2026-01-01"},
            ["clientId"],
        ),
        (
            b.ADD_COVERAGE,
            "addCoverage",
            {"clientId": mine["Client"], "payorId": theirs["Payor"], "effectiveFrom": "2026-01-01"},
            ["payorId"],
        ),
        (b.UPDATE_COVERAGE, "updateCoverage", {"id": theirs["Coverage"], "priority": 2}, ["id"]),
        (
            b.RECORD_ENROLLMENT,
            "recordEnrollment",
            {"providerId": theirs["Provider"], "payorId": mine["Payor"], "status": "ENROLLED"},
            ["providerId"],
        ),
        (
            b.RECORD_ENROLLMENT,
            "recordEnrollment",
            {"providerId": mine["Provider"], "payorId": theirs["Payor"], "status": "ENROLLED"},
            ["payorId"],
        ),
        (
            b.UPDATE_ENROLLMENT,
            "updateEnrollment",
            {"id": theirs["Enrollment"], "status": "DENIED"},
            ["id"],
        ),
        (
            b.SCHEDULE,
            "scheduleAppointment",
            {"clientId": theirs["Client"], "serviceLine": "ABA", "providerId": mine["Provider"]}
            | session,
            ["clientId"],
        ),
        (
            b.SCHEDULE,
            "scheduleAppointment",
            {"clientId": mine["Client"], "serviceLine": "ABA", "providerId": theirs["Provider"]}
            | session,
            ["providerId"],
        ),
        (
            b.UPDATE_APPOINTMENT,
            "updateAppointment",
            {"id": theirs["Appointment"], "status": "CANCELLED"},
            ["id"],
        ),
        (
            b.UPDATE_APPOINTMENT,
            "updateAppointment",
            {"id": mine["Appointment"], "providerId": theirs["Provider"]},
            ["providerId"],
        ),
        (
            b.ADD_CASE_MANAGER,
            "addCaseManager",
            {
                "clientId": theirs["Client"],
                "serviceLine": "ABA",
                "providerId": mine["Provider"],
                "startDate": "2027-01-01",
            },
            ["clientId"],
        ),
        (
            b.CHANGE_CASE_MANAGER,
            "changeCaseManager",
            {
                "clientId": mine["Client"],
                "serviceLine": "ABA",
                "providerId": theirs["Provider"],
                "startDate": "2027-01-01",
            },
            ["providerId"],
        ),
        (
            UPDATE_CM,
            "updateCaseManager",
            {"id": theirs["CaseManagerAssignment"], "version": 1, "note": "mine now"},
            ["id"],
        ),
        (
            REMOVE,
            "removeCaseManager",
            {"id": theirs["CaseManagerAssignment"], "version": 1},
            ["id"],
        ),
    ]


async def snapshot(db: Any, slug: str) -> dict[str, int]:
    kinds = (
        models.Client,
        models.Provider,
        models.Credential,
        models.Payor,
        models.Coverage,
        models.Enrollment,
        models.Appointment,
        models.Assignment,
        models.ChangeRecord,
    )
    return {kind.__name__: await b.count(db, kind, slug) for kind in kinds}


async def test_writes_on_another_organizations_ids_are_not_found_and_change_nothing(
    api: Api, other_api: Api, db: Database, theirs: dict[str, str], mine: dict[str, str]
) -> None:
    before = (await snapshot(db, api.slug), await snapshot(db, other_api.slug))
    a_before = await api(
        """query($c: ID!, $p: ID!) { client(id: $c) { lastName coverages { priority }
             caseManagers { version note } appointments { status } }
             provider(id: $p) { active enrollments { status } } }""",
        {"c": theirs["Client"], "p": theirs["Provider"]},
    )

    for query, payload, variables, field in _writes(theirs, mine):
        data = (await other_api(query, {"input": variables}))[payload]
        codes = [(e["code"], e["field"]) for e in data["userErrors"]]
        assert codes == [("NOT_FOUND", ["input", *field])], (payload, variables, data)

    assert (await snapshot(db, api.slug), await snapshot(db, other_api.slug)) == before
    a_after = await api(
        """query($c: ID!, $p: ID!) { client(id: $c) { lastName coverages { priority }
             caseManagers { version note } appointments { status } }
             provider(id: $p) { active enrollments { status } } }""",
        {"c": theirs["Client"], "p": theirs["Provider"]},
    )
    assert a_after == a_before


# --- every root field and every node type, generated from the schema ---------------------

# For each root query field: a query of organization A's ids and names, as organization B
# asks it. Each must find nothing of A (a null, an empty list, or NOT_FOUND).
PROBES: dict[str, tuple[str, dict[str, str]]] = {
    "node": ("query($id: ID!) { node(id: $id) { id } }", {"id": "Client"}),
    "client": ("query($id: ID!) { client(id: $id) { id } }", {"id": "Client"}),
    "clients": ('{ clients(search: "Alpha") { totalCount edges { node { id } } } }', {}),
    "provider": ("query($id: ID!) { provider(id: $id) { id } }", {"id": "Provider"}),
    "providers": ('{ providers(search: "Alpha") { totalCount edges { node { id } } } }', {}),
    "payors": ("{ payors { id name } }", {}),
    "serviceLines": ("{ serviceLines { code } }", {}),
    "renderingProvider": (RENDERING, {"clientId": "Client"}),
    "renderingProviders": (
        """query($c: ID!) { renderingProviders(requests: [{clientId: $c, serviceLine: "ABA",
           dateOfService: "2026-03-10"}]) { provider { id } } }""",
        {"c": "Client"},
    ),
    "checkCaseManager": (
        """query($c: ID!, $p: ID!) { checkCaseManager(input: {clientId: $c, serviceLine: "ABA",
           providerId: $p, startDate: "2026-06-01"}) { code } }""",
        {"c": "Client", "p": "Provider"},
    ),
    "checkChangeCaseManager": (
        """query($c: ID!, $p: ID!) { checkChangeCaseManager(input: {clientId: $c,
           serviceLine: "ABA", providerId: $p, startDate: "2026-06-01"}) { code } }""",
        {"c": "Client", "p": "Provider"},
    ),
    "suggestCaseManagers": (SUGGEST, {"clientId": "Client"}),
    "complianceFindings": (
        '{ complianceFindings(from: "2026-01-01", to: "2026-12-31") { totalCount '
        "edges { node { client { id } } } } }",
        {},
    ),
    "rules": ("{ rules { name payors { id } } }", {}),
    "auditEvents": (
        "query($id: ID) { auditEvents(entityId: $id) { totalCount edges { node { entityId } } } }",
        {"id": "Client"},
    ),
    "apiTokens": ("{ apiTokens { id name } }", {}),
    "webhookEndpoints": ("{ webhookEndpoints { id url } }", {}),
    "webhookDeliveries": (
        "query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node { id } } } }",
        {"id": "WebhookEndpoint"},
    ),
    # B has events of its own: the probe is that none of A's ids appears in B's feed
    "events": ("{ events { edges { node { id type data } } } }", {}),
    "claimLines": (
        """query($c: ID) { claimLines(from: "2026-01-01", to: "2026-12-31", clientId: $c) {
           totalCount edges { node { client { id } renderingProvider { id } } } } }""",
        {"c": "Client"},
    ),
    "enrollmentImpact": (
        """query($p: ID!, $y: ID!) { enrollmentImpact(providerId: $p, payorId: $y,
           lapseOn: "2026-01-01") { assignments { id } clients { id } } }""",
        {"p": "Provider", "y": "Payor"},
    ),
}


def test_every_root_query_field_has_a_tenancy_probe() -> None:
    from cmgraph.api.schema import schema

    queries = schema._schema.query_type
    assert queries is not None
    assert set(PROBES) == set(queries.fields)


def test_every_node_type_is_probed() -> None:
    from cmgraph.api.node_queries import NODE_TYPES

    assert set(NODE_TYPES) == {
        "Client",
        "Provider",
        "Payor",
        "Coverage",
        "Enrollment",
        "CaseManagerAssignment",
        "Appointment",
    }  # fmt: skip  (the parametrized node test above lists the same)


@pytest.mark.parametrize("field", sorted(PROBES))
async def test_every_root_field_finds_nothing_of_another_organization(
    api: Api, other_api: Api, theirs: dict[str, str], mine: dict[str, str], field: str
) -> None:
    query, variables = PROBES[field]
    values = {name: theirs[kind] for name, kind in variables.items()}
    body = await other_api.raw(query, values)

    text = str(body)
    assert "Alpha" not in text
    for their_id in theirs.values():
        assert their_id not in text, (field, body)
    if body.get("errors"):
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body
    else:
        data = body["data"][field]
        if isinstance(data, dict) and "totalCount" in data:
            assert data["totalCount"] == 0 or field == "complianceFindings", data


async def test_an_import_never_reaches_another_organizations_records(
    api: Api, other_api: Api, db: Database
) -> None:
    """Natural keys are looked up in the caller's organization only: B's file naming A's
    client by its external id finds nothing, and A is unchanged."""
    clients = "external_id,first_name,last_name\nA-1,Alpha,Client\n"
    created = await api(IMPORT_RECORDS, {"input": {"kind": "CLIENTS", "csv": clients}})
    assert created["importRecords"]["created"] == 1
    before = (await snapshot(db, api.slug), await snapshot(db, other_api.slug))

    payors = "payer_id,name,kind\nB-1,Their Payor,COMMERCIAL\n"
    await other_api(IMPORT_RECORDS, {"input": {"kind": "PAYORS", "csv": payors}})
    coverage = "client_external_id,payer_id,effective_from\nA-1,B-1,2026-01-01\n"
    answer = await other_api(
        IMPORT_RECORDS,
        {"input": {"kind": "COVERAGES", "csv": coverage, "errorPolicy": "REJECT_FAILED_ROWS"}},
    )

    errors = answer["importRecords"]["rowErrors"]
    assert [(e["column"], e["code"]) for e in errors] == [("client_external_id", "NOT_FOUND")]
    assert await snapshot(db, api.slug) == before[0]
    own = await other_api(IMPORT_RECORDS, {"input": {"kind": "CLIENTS", "csv": clients}})
    assert own["importRecords"]["created"] == 1  # A-1 is free in B: a key of its own


IMPORT_RECORDS = """mutation($input: ImportRecordsInput!) {
  importRecords(input: $input) { created rowErrors { column code } }
}"""
