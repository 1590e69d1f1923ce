"""What each role may do, told as stories, and the clinician's caseload: a clinician sees
only the clients their provider is (or will be) case manager of, through every way in."""

from __future__ import annotations

from typing import Any

import builders as b
import httpx
import principals as p

from cmgraph.db import models
from cmgraph.db.engine import Database
from tests.support import Api


def forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert "data" not in body


CREATE = """mutation { createClient(input: {firstName: "Bo", lastName: "Billing"}) {
  client { id } userErrors { code } } }"""


async def test_billing_reads_everything_and_writes_nothing(api: Api, db: Database) -> None:
    billing = p.as_(api, await p.token(db, api.slug, "billing"))
    await b.client(api, "Ann", "Read")

    data = await billing("{ clients { totalCount } payors { id } auditEvents { totalCount } }")
    assert data["clients"]["totalCount"] == 1
    assert data["auditEvents"]["totalCount"] >= 1

    forbidden(await billing.post(CREATE))
    assert await b.count(db, models.Client, api.slug) == 1


async def test_a_coordinator_writes_clients_but_not_providers_nor_tokens(
    api: Api, db: Database
) -> None:
    coordinator = p.as_(api, await p.token(db, api.slug, "coordinator"))
    assert (await coordinator(CREATE))["createClient"]["userErrors"] == []

    provider = """mutation { createProvider(input: {firstName: "N", lastName: "O",
      npi: "1234567893"}) { provider { id } } }"""
    forbidden(await coordinator.post(provider))
    forbidden(await coordinator.post("{ apiTokens { id } }"))
    forbidden(await coordinator.post("{ auditEvents { totalCount } }"))
    assert await b.count(db, models.Provider, api.slug) == 0


async def test_one_denied_field_refuses_the_whole_request_before_anything_runs(
    api: Api, db: Database
) -> None:
    coordinator = p.as_(api, await p.token(db, api.slug, "coordinator"))
    both = """mutation {
      createClient(input: {firstName: "Al", lastName: "Lowed"}) { client { id } }
      createPayor(input: {name: "Nope", kind: COMMERCIAL}) { payor { id } }
    }"""
    forbidden(await coordinator.post(both))
    assert await b.count(db, models.Client, api.slug) == 0
    assert await b.count(db, models.Payor, api.slug) == 0


async def test_fragments_and_aliases_do_not_hide_a_root_field(api: Api, db: Database) -> None:
    coordinator = p.as_(api, await p.token(db, api.slug, "coordinator"))
    forbidden(
        await coordinator.post(
            "query { ...F } fragment F on Query { trail: auditEvents { totalCount } }"
        )
    )
    forbidden(await coordinator.post("query { ... on Query { apiTokens { id } } }"))


async def test_an_integration_may_do_what_its_scopes_say(api: Api, db: Database) -> None:
    reader = p.as_(api, await p.token(db, api.slug, "integration", scopes=("clients:read",)))
    await b.client(api, "Ivy", "Sync")

    assert (await reader("{ clients { totalCount } }"))["clients"]["totalCount"] == 1
    forbidden(await reader.post(CREATE))
    forbidden(await reader.post("{ payors { id } }"))

    writer = p.as_(
        api, await p.token(db, api.slug, "integration", scopes=("clients:write", "clients:read"))
    )
    assert (await writer(CREATE))["createClient"]["userErrors"] == []


async def test_an_integration_reads_who_a_client_is_only_with_clients_read(
    api: Api, db: Database
) -> None:
    client = await b.client(api, "Ivy", "Sync")
    provider = await b.provider(api)
    await b.case_manager(api, client, provider, "2026-03-01")
    providers_only = p.as_(
        api, await p.token(db, api.slug, "integration", scopes=("providers:read",))
    )
    both = p.as_(
        api,
        await p.token(db, api.slug, "integration", scopes=("providers:read", "clients:read")),
    )
    through_caseload = """query($id: ID!) { provider(id: $id) {
      caseload { startDate ...Who } } }
      fragment Who on CaseManagerAssignment { client { firstName lastName } }"""

    forbidden(await providers_only.post(through_caseload, {"id": provider}))
    assert (
        await providers_only("query($id: ID!) { provider(id: $id) { npi } }", {"id": provider})
    )["provider"]["npi"]
    data = await both(through_caseload, {"id": provider})
    assert data["provider"]["caseload"][0]["client"]["firstName"] == "Ivy"


async def test_an_integration_reads_the_audit_trail_only_with_audit_read(
    api: Api, db: Database
) -> None:
    client = await b.client(api, "Ivy", "Sync")
    provider = await b.provider(api)
    await b.case_manager(api, client, provider, "2026-03-01")
    token = await p.token(
        db, api.slug, "integration", scopes=("case_managers:read", "clients:read")
    )
    reader = p.as_(api, token)
    history = """query($id: ID!) { client(id: $id) {
      caseManagers { startDate changes { actor operation } } } }"""

    forbidden(await reader.post(history, {"id": client}))
    plain = await reader(
        "query($id: ID!) { client(id: $id) { caseManagers { startDate } } }", {"id": client}
    )
    assert plain["client"]["caseManagers"][0]["startDate"] == "2026-03-01"


async def test_node_returns_only_the_kinds_a_caller_may_read(api: Api, db: Database) -> None:
    payor = await b.payor(api, "Acme")
    client = await b.client(api, "Kid", "Node")
    reader = p.as_(api, await p.token(db, api.slug, "integration", scopes=("clients:read",)))
    node = "query($id: ID!) { node(id: $id) { id } }"

    assert (await reader(node, {"id": client}))["node"] == {"id": client}
    assert (await reader(node, {"id": payor}))["node"] is None


# --- the clinician's caseload -----------------------------------------------------------


async def caseload(api: Api, db: Database) -> dict[str, Any]:
    """A clinician (provider `mine`), a client on their caseload, one on another provider's,
    and one whose assignment with the clinician ended long ago."""
    mine = await b.provider(api, "Cara", "Clinician")
    other = await b.provider(api, "Otto", "Other")
    own = await b.client(api, "Olive", "Own")
    theirs = await b.client(api, "Theo", "Theirs")
    former = await b.client(api, "Fern", "Former")
    own_cm = await b.case_manager(api, own, mine, "2026-01-01")
    their_cm = await b.case_manager(api, theirs, other, "2026-01-01")
    await b.case_manager(api, former, mine, "2019-01-01", end_date="2019-12-31")
    own_visit = await b.appointment(
        api, own, other, "2026-03-10T09:00:00-05:00", "2026-03-10T10:00:00-05:00"
    )
    their_visit = await b.appointment(
        api, theirs, mine, "2026-03-10T11:00:00-05:00", "2026-03-10T12:00:00-05:00"
    )
    clinician = p.as_(api, await p.token(db, api.slug, "clinician", provider=mine))
    return {
        "clinician": clinician,
        "mine": mine,
        "own": own,
        "theirs": theirs,
        "former": former,
        "own_cm": own_cm,
        "their_cm": their_cm,
        "own_visit": own_visit["appointment"]["id"],
        "their_visit": their_visit["appointment"]["id"],
    }


async def test_a_clinician_lists_and_searches_only_their_caseload(api: Api, db: Database) -> None:
    c = await caseload(api, db)
    data = await c["clinician"]("{ clients { totalCount edges { node { id } } } }")
    assert data["clients"]["totalCount"] == 1
    assert [e["node"]["id"] for e in data["clients"]["edges"]] == [c["own"]]

    for search in ("Theo", "Fern", "Olive"):
        found = await c["clinician"](
            "query($s: String) { clients(search: $s) { totalCount } }", {"s": search}
        )
        assert found["clients"]["totalCount"] == (1 if search == "Olive" else 0)


async def test_a_clinician_reads_their_clients_and_their_appointments(
    api: Api, db: Database
) -> None:
    c = await caseload(api, db)
    data = await c["clinician"](
        "query($id: ID!) { client(id: $id) { id appointments { id } } }", {"id": c["own"]}
    )
    assert data["client"] == {"id": c["own"], "appointments": [{"id": c["own_visit"]}]}


async def test_a_clinician_gets_nothing_of_other_clients_by_any_id(api: Api, db: Database) -> None:
    c = await caseload(api, db)
    clinician = c["clinician"]
    for client in (c["theirs"], c["former"]):
        data = await clinician("query($id: ID!) { client(id: $id) { id } }", {"id": client})
        assert data["client"] is None
    node = "query($id: ID!) { node(id: $id) { id } }"
    for hidden in (c["theirs"], c["former"], c["their_cm"], c["their_visit"]):
        assert (await clinician(node, {"id": hidden}))["node"] is None, hidden
    for visible in (c["own"], c["own_cm"], c["own_visit"]):
        assert (await clinician(node, {"id": visible}))["node"] == {"id": visible}


async def test_a_providers_caseload_shows_a_clinician_only_their_clients(
    api: Api, db: Database
) -> None:
    c = await caseload(api, db)
    other = await b.provider(api, "Pat", "Peer")
    quinn = await b.client(api, "Quinn", "Peers")
    await b.case_manager(api, quinn, other, "2026-01-01")  # not on the clinician's caseload
    query = "query($id: ID!) { node(id: $id) { ... on Provider { caseload { client { id } } } } }"

    data = await c["clinician"](query, {"id": other})
    assert data["node"]["caseload"] == []
    everyone = await api(query, {"id": other})
    assert [a["client"]["id"] for a in everyone["node"]["caseload"]] == [quinn]


async def test_a_clinician_may_not_use_practice_wide_views_nor_write(
    api: Api, db: Database
) -> None:
    c = await caseload(api, db)
    clinician = c["clinician"]
    for query in (
        '{ complianceFindings(from: "2026-01-01", to: "2026-12-31") { totalCount } }',
        "{ payors { id } }",
        "{ providers { totalCount } }",
        "{ auditEvents { totalCount } }",
        CREATE,
    ):
        forbidden(await clinician.post(query))


def test_a_clinician_bound_to_no_provider_would_see_no_client_not_every_client() -> None:
    from uuid import uuid4

    from cmgraph.app import _caseload_of
    from cmgraph.services.access import Principal

    org = uuid4()
    unbound = Principal(org, "America/New_York", "clinician", "user:x")
    bound = Principal(org, "America/New_York", "clinician", "user:y", provider_id=org)
    coordinator = Principal(org, "America/New_York", "coordinator", "user:z")

    assert _caseload_of(unbound) is not None  # None would mean: every client
    assert _caseload_of(bound) == org
    assert _caseload_of(coordinator) is None


async def test_a_write_scope_writes_but_does_not_read_what_it_touches(
    api: Api, db: Database
) -> None:
    client = await b.client(api, "Wanda", "Writeonly", dateOfBirth="2014-05-06")
    provider = await b.provider(api)
    writer = p.as_(api, await p.token(db, api.slug, "integration", scopes=("clients:write",)))
    events = await b.count(db, models.ChangeRecord, api.slug)

    for read_back in (
        "client { displayName dateOfBirth }",
        "client { id }",
        "... on ClientPayload { client { ... on Node { id } } }",
    ):
        forbidden(
            await writer.post(
                "mutation($id: ID!) { updateClient(input: {id: $id}) { " + read_back + " } }",
                {"id": client},
            )
        )
    done = await writer(
        """mutation($id: ID!) { updateClient(input: {id: $id, lastName: "W"}) {
          userErrors { code } } }""",
        {"id": client},
    )
    assert done["updateClient"]["userErrors"] == []
    assert await b.count(db, models.ChangeRecord, api.slug) == events + 1

    scheduler = p.as_(
        api, await p.token(db, api.slug, "integration", scopes=("appointments:write",))
    )
    forbidden(
        await scheduler.post(
            """mutation($c: ID!, $p: ID!) { scheduleAppointment(input: {
          clientId: $c, providerId: $p, serviceLine: "ABA", startsAt: "2026-03-10T09:00:00-05:00",
          endsAt: "2026-03-10T10:00:00-05:00"}) { appointment { startsAt } } }""",
            {"c": client, "p": provider},
        )
    )
    assert await b.count(db, models.Appointment, api.slug) == 0


async def test_a_fragment_on_an_interface_does_not_hide_the_type_a_field_reads(
    api: Api, db: Database
) -> None:
    client = await b.client(api, "Ned", "Node")
    provider = await b.provider(api)
    visit = await b.appointment(
        api, client, provider, "2026-03-10T09:00:00-05:00", "2026-03-10T10:00:00-05:00"
    )
    visits = p.as_(api, await p.token(db, api.slug, "integration", scopes=("appointments:read",)))
    query = """query($id: ID!) { node(id: $id) { ... on Appointment { startsAt
      client { ... on Node { id } } } } }"""

    forbidden(await visits.post(query, {"id": visit["appointment"]["id"]}))
    plain = "query($id: ID!) { node(id: $id) { ... on Appointment { startsAt } } }"
    assert (await visits(plain, {"id": visit["appointment"]["id"]}))["node"]["startsAt"]
