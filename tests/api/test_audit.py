"""The audit trail: every mutation appends an event (who, role, when, operation, entity,
before, after, request id); nothing updates or deletes one; admin and billing read it with
`auditEvents`; the Clinical tab shows who changed each case manager and when."""

from __future__ import annotations

from typing import Any, cast

import builders as b
import principals as p
import pytest
from sqlalchemy import Insert, delete, insert, text, update
from sqlalchemy.exc import DBAPIError

from cmgraph.api.schema import schema
from cmgraph.db import models
from cmgraph.db.engine import Database
from tests.support import Api

EVENTS = """
query($entityId: ID, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
  auditEvents(entityId: $entityId, from: $from, to: $to, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id occurredAt actor actorName role operation entityType entityId
                   before after requestId } }
  }
}"""


async def events(api: Api, **variables: Any) -> dict[str, Any]:
    return cast("dict[str, Any]", (await api(EVENTS, variables))["auditEvents"])


async def test_a_mutation_appends_who_role_when_what_before_after_and_the_request_id(
    api: Api, db: Database
) -> None:
    response = await api.post(
        b.CREATE_CLIENT,
        {"input": {"firstName": "Ada", "lastName": "Audit"}},
        headers={"Authorization": f"Bearer {api.token}", "X-Request-ID": "req-create-1"},
    )
    server_id = response.headers["x-request-id"]  # the server always makes its own
    assert len(server_id) == 32 and server_id != "req-create-1"
    client = response.json()["data"]["createClient"]["client"]["id"]
    await b.ok(
        api, b.UPDATE_CLIENT, {"input": {"id": client, "lastName": "Audited"}}, "updateClient"
    )

    found = await events(api, entityId=client)
    assert found["totalCount"] == 2
    created, updated = (e["node"] for e in found["edges"])
    assert created["operation"] == "createClient"
    assert created["entityType"] == "Client" and created["entityId"] == client
    assert created["actor"].startswith("token:") and created["role"] == "admin"
    assert created["actorName"] == "admin token"
    assert created["requestId"] == server_id
    assert created["before"] is None and created["after"]["last_name"] == "Audit"
    assert created["occurredAt"]
    assert updated["operation"] == "updateClient"
    assert updated["before"]["last_name"] == "Audit"
    assert updated["after"]["last_name"] == "Audited"
    assert updated["requestId"] and updated["requestId"] != server_id
    # the caller's id is kept beside the server's
    rows = await b.changes(db, api.slug)
    assert [(r.request_id, r.caller_request_id) for r in rows] == [
        (server_id, "req-create-1"),
        (updated["requestId"], None),
    ]


async def test_a_caller_cannot_give_two_requests_one_request_id(api: Api, db: Database) -> None:
    """The caller's X-Request-ID is kept beside the server's id, cut to 64 characters and
    with anything but letters, digits and `._:-` replaced; two requests stay apart."""
    given = "trace 1\t<script>" + "x" * 100
    kept = "trace_1__script_" + "x" * 48
    for name in ("One", "Two"):
        response = await api.post(
            b.CREATE_CLIENT,
            {"input": {"firstName": name, "lastName": "Traced"}},
            headers={"Authorization": f"Bearer {api.token}", "X-Request-ID": given},
        )
        assert response.status_code == 200, response.text
    first, second = await b.changes(db, api.slug)
    assert first.request_id != second.request_id
    assert first.caller_request_id == second.caller_request_id == kept


async def test_every_mutation_of_the_schema_appends_events(api: Api, db: Database) -> None:
    """A story that uses every mutation once; each must leave an event named after it."""
    client = await b.client(api, "Eve", "Every")
    await b.ok(api, b.UPDATE_CLIENT, {"input": {"id": client, "lastName": "Ever"}}, "updateClient")
    provider = await b.provider(api, "Pam", "Provider")
    await b.ok(
        api, b.UPDATE_PROVIDER, {"input": {"id": provider, "firstName": "Pat"}}, "updateProvider"
    )
    second = await b.provider(api, "Sam", "Second")
    payor = await b.payor(api, "Every Health")
    await b.ok(
        api,
        """mutation($input: UpdatePayorInput!) { updatePayor(input: $input) {
             payor { id } userErrors { code } } }""",
        {"input": {"id": payor, "payerId": "EVERY1"}},
        "updatePayor",
    )
    coverage = await b.coverage(api, client, payor, "2025-01-01")
    await b.ok(
        api, b.UPDATE_COVERAGE, {"input": {"id": coverage, "memberId": "M2"}}, "updateCoverage"
    )
    enrollment = await b.enrollment(api, provider, payor)
    await b.enrollment(api, second, payor)
    await b.ok(
        api,
        b.UPDATE_ENROLLMENT,
        {"input": {"id": enrollment, "effectiveFrom": "2024-06-01"}},
        "updateEnrollment",
    )
    visit = await b.appointment(
        api, client, provider, "2026-03-10T09:00:00-05:00", "2026-03-10T10:00:00-05:00"
    )
    await b.set_status(api, visit["appointment"]["id"], "CANCELLED")
    assignment = await b.case_manager(api, client, provider, "2026-01-01")
    await b.ok(
        api,
        """mutation($input: UpdateCaseManagerInput!) { updateCaseManager(input: $input) {
             caseManager { id } userErrors { code } } }""",
        {"input": {"id": assignment, "version": 1, "note": "n"}},
        "updateCaseManager",
    )
    await b.change_case_manager(api, client, second, "2026-06-01")
    extra = await b.client(api, "Xi", "Extra")
    mistake = await b.case_manager(api, extra, provider, "2026-01-01")
    await b.ok(
        api,
        """mutation($input: RemoveCaseManagerInput!) { removeCaseManager(input: $input) {
             removedId userErrors { code } } }""",
        {"input": {"id": mistake, "version": 1}},
        "removeCaseManager",
    )
    made = await api(
        """mutation { createApiToken(input: {name: "sync", role: "integration",
             scopes: ["clients:read"]}) { token apiToken { id } userErrors { code } } }"""
    )
    await api(
        "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { userErrors { code } } }",
        {"id": made["createApiToken"]["apiToken"]["id"]},
    )
    hook = await b.ok(
        api,
        """mutation { createWebhookEndpoint(input: {url: "http://127.0.0.1:9/closed",
             eventTypes: ["client.created"]}) { webhookEndpoint { id } userErrors { code } } }""",
        {},
        "createWebhookEndpoint",
    )
    endpoint = {"id": hook["webhookEndpoint"]["id"]}
    for mutation in ("updateWebhookEndpoint", "rotateWebhookSecret", "sendTestWebhook"):
        extra = ', description: "d"' if mutation == "updateWebhookEndpoint" else ""
        await b.ok(
            api,
            f"""mutation($id: ID!) {{ {mutation}(input: {{id: $id{extra}}}) {{
                 userErrors {{ code }} }} }}""",
            endpoint,
            mutation,
        )
    listed = await api(
        "query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node { id } } } }",
        endpoint,
    )
    await b.ok(
        api,
        """mutation($id: ID!) { redeliverWebhook(input: {deliveryId: $id}) {
             userErrors { code } } }""",
        {"id": listed["webhookDeliveries"]["edges"][0]["node"]["id"]},
        "redeliverWebhook",
    )
    await b.ok(
        api,
        "mutation($id: ID!) { deleteWebhookEndpoint(input: {id: $id}) { userErrors { code } } }",
        endpoint,
        "deleteWebhookEndpoint",
    )

    imported = await api(
        """mutation($csv: String!) { importRecords(input: {kind: CLIENTS, csv: $csv}) {
             created } }""",
        {"csv": "external_id,first_name,last_name\nX-1,Ivy,Imported\n"},
    )
    assert imported["importRecords"]["created"] == 1

    rows = await b.changes(db, api.slug)
    operations = {r.operation for r in rows}
    # importRecords runs the other mutations' use cases: its events are theirs.
    mutations = schema._schema.mutation_type
    assert mutations is not None
    assert operations == set(mutations.fields) - {"importRecords"}
    assert any(
        r.operation == "createClient" and r.after is not None and r.after["external_id"] == "X-1"
        for r in rows
    )


async def test_a_refused_or_denied_mutation_appends_nothing(api: Api, db: Database) -> None:
    before = len(await b.changes(db, api.slug))
    refused = await api(b.UPDATE_CLIENT, {"input": {"id": "bm90OmFueXRoaW5n", "lastName": "X"}})
    assert refused["updateClient"]["userErrors"]
    billing = p.as_(api, await p.token(db, api.slug, "billing"))
    assert (
        await billing.post(b.CREATE_CLIENT, {"input": {"firstName": "A", "lastName": "B"}})
    ).status_code == 403
    assert len(await b.changes(db, api.slug)) == before


async def test_events_are_filtered_by_time_and_paged_oldest_first(api: Api) -> None:
    setup = (await events(api))["totalCount"]  # the organization and its token, by the CLI
    ids = [await b.client(api, "Pia", f"Page{i}") for i in range(3)]
    everything = await events(api, first=100)
    assert everything["totalCount"] == setup + 3
    times = [e["node"]["occurredAt"] for e in everything["edges"]]
    assert times == sorted(times)
    assert [e["node"]["entityId"] for e in everything["edges"]][setup:] == ids

    first = await events(api, first=setup + 1)
    rest = await events(api, first=10, after=first["pageInfo"]["endCursor"])
    assert first["pageInfo"]["hasNextPage"] and not rest["pageInfo"]["hasNextPage"]
    assert [e["node"]["entityId"] for e in first["edges"] + rest["edges"]][setup:] == ids

    middle = everything["edges"][setup + 1]["node"]["occurredAt"]
    since = await events(api, **{"from": middle})
    assert [e["node"]["entityId"] for e in since["edges"]] == ids[1:]
    until = await events(api, to=middle)
    assert [e["node"]["entityId"] for e in until["edges"]][setup:] == ids[:2]
    empty = await events(api, **{"from": "2001-01-01T00:00:00Z", "to": "2001-12-31T00:00:00Z"})
    assert empty["totalCount"] == 0


async def test_the_page_size_of_events_is_capped(api: Api) -> None:
    body = await api.raw(EVENTS, {"first": 101})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_the_clinical_tab_history_shows_who_changed_each_case_manager_and_when(
    api: Api, db: Database
) -> None:
    client = await b.client(api)
    first_cm = await b.provider(api, "Fay", "First")
    second_cm = await b.provider(api, "Sid", "Second")
    await b.case_manager(api, client, first_cm, "2026-01-01")
    coordinator = p.as_(api, await p.token(db, api.slug, "coordinator"))
    await b.change_case_manager(coordinator, client, second_cm, "2026-06-01")

    data = await coordinator(
        """query($id: ID!) { client(id: $id) { serviceLines { history {
             startDate endDate provider { id }
             changes { occurredAt actor actorName role operation } } } } }""",
        {"id": client},
    )
    (line,) = data["client"]["serviceLines"]
    newest, oldest = line["history"]
    assert [c["operation"] for c in newest["changes"]] == ["changeCaseManager"]
    assert newest["changes"][0]["role"] == "coordinator"
    assert newest["changes"][0]["actorName"] == "coordinator test token"
    assert [(c["operation"], c["role"]) for c in oldest["changes"]] == [
        ("addCaseManager", "admin"),
        ("changeCaseManager", "coordinator"),  # it ended the first assignment
    ]
    assert all(c["occurredAt"] for c in oldest["changes"])


@pytest.mark.parametrize("statement", ["update", "delete"])
async def test_the_database_refuses_to_update_or_delete_an_event(
    api: Api, db: Database, statement: str
) -> None:
    await b.client(api)
    org = await b.org_id(db, api.slug)
    c = models.ChangeRecord
    sql = (
        update(c).where(c.organization_id == org).values(actor="someone else")
        if statement == "update"
        else delete(c).where(c.organization_id == org)
    )
    async with db.write() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(sql)
        await session.rollback()
    assert {r.actor for r in await b.changes(db, api.slug)} != {"someone else"}
    assert len(await b.changes(db, api.slug)) == 1


async def test_the_database_refuses_to_replace_an_event_by_inserting_over_it(
    api: Api, db: Database, is_postgres: bool
) -> None:
    """SQLite's INSERT OR REPLACE deletes the row in its way without firing DELETE triggers,
    and PostgreSQL's INSERT ... ON CONFLICT DO UPDATE updates it: both would rewrite history."""
    await b.client(api)
    (event,) = await b.changes(db, api.slug)
    c = models.ChangeRecord
    values = {col.key: getattr(event, col.key) for col in c.__table__.columns}
    values["actor"] = "someone else"
    sql: Insert
    if is_postgres:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        upsert = pg_insert(c).values(values)
        sql = upsert.on_conflict_do_update(
            index_elements=["organization_id", "id"], set_={"actor": upsert.excluded.actor}
        )
    else:
        sql = insert(c).prefix_with("OR REPLACE").values(values)
    async with db.write() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(sql)
        await session.rollback()
    (kept,) = await b.changes(db, api.slug)
    assert kept.actor == event.actor != "someone else"


async def test_the_database_refuses_to_truncate_events(db: Database, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("SQLite has no TRUNCATE (DELETE is refused above)")
    async with db.write() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("TRUNCATE change_records"))
        await session.rollback()


async def test_a_write_that_changes_nothing_writes_nothing(api: Api, db: Database) -> None:
    """Every update, given only its id or the values already there: no event, no version."""
    client = await b.client(api, "Nell", "Nochange", dateOfBirth="2016-02-03")
    provider = await b.provider(api, "Nia", "Same", credentials=["BCBA", "RBT"])
    payor = await b.payor(api, "Still Health")
    coverage = await b.coverage(api, client, payor, "2025-01-01")
    enrollment = await b.enrollment(api, provider, payor)
    visit = await b.appointment(
        api, client, provider, "2026-03-10T09:00:00-05:00", "2026-03-10T10:00:00-05:00"
    )
    assignment = await b.case_manager(api, client, provider, "2026-01-01")
    before = len(await b.changes(db, api.slug))

    same = [
        (b.UPDATE_CLIENT, {"id": client}, "updateClient"),
        (
            b.UPDATE_CLIENT,
            {"id": client, "firstName": "Nell", "dateOfBirth": "2016-02-03"},
            "updateClient",
        ),
        (
            b.UPDATE_PROVIDER,
            {"id": provider, "credentials": [{"type": "RBT"}, {"type": "BCBA"}]},
            "updateProvider",
        ),
        (b.UPDATE_PROVIDER, {"id": provider, "lastName": "Same"}, "updateProvider"),
        (b.UPDATE_COVERAGE, {"id": coverage, "effectiveFrom": "2025-01-01"}, "updateCoverage"),
        (b.UPDATE_ENROLLMENT, {"id": enrollment, "status": "ENROLLED"}, "updateEnrollment"),
        (
            b.UPDATE_APPOINTMENT,
            {"id": visit["appointment"]["id"], "status": "SCHEDULED"},
            "updateAppointment",
        ),
    ]
    for mutation, given, name in same:
        await b.ok(api, mutation, {"input": given}, name)
    update_cm = """mutation($input: UpdateCaseManagerInput!) { updateCaseManager(input: $input) {
      caseManager { version startDate } userErrors { code } } }"""
    unchanged = await b.ok(
        api,
        update_cm,
        {"input": {"id": assignment, "version": 1, "startDate": "2026-01-01"}},
        "updateCaseManager",
    )
    assert unchanged["caseManager"]["version"] == 1
    assert len(await b.changes(db, api.slug)) == before

    changed = await b.ok(
        api,
        update_cm,
        {"input": {"id": assignment, "version": 1, "note": "now"}},
        "updateCaseManager",
    )
    assert changed["caseManager"]["version"] == 2
    await b.ok(api, b.UPDATE_CLIENT, {"input": {"id": client, "firstName": "Nora"}}, "updateClient")
    assert len(await b.changes(db, api.slug)) == before + 2
