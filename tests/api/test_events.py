"""The outbox and the feed: every write appends its domain events in its own transaction,
with payloads that match the shipped JSON Schemas and carry no names, dates of birth or
notes; `events` hands them out in commit order, each exactly once, by keyset cursor."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, cast

import builders as b
import jsonschema
import pytest
import sqlalchemy as sa

from cmgraph.api import ids
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.facts import Clock
from cmgraph.services import changes, events
from cmgraph.services.scope import TenantScope
from tests.support import Api

FEED = """
query($after: String, $first: Int, $types: [String!]) {
  events(after: $after, first: $first, types: $types) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id type occurredAt cursor data } }
  }
}"""


async def feed(api: Api, **variables: Any) -> dict[str, Any]:
    return cast("dict[str, Any]", (await api(FEED, variables))["events"])


async def nodes(api: Api, **variables: Any) -> list[dict[str, Any]]:
    return [e["node"] for e in (await feed(api, **variables))["edges"]]


async def story(api: Api) -> tuple[str, str, str]:
    """Every write of the schema once (as test_audit's story), returning the ids of the
    client and of its two providers."""
    client = await b.client(api, "Eve", "Secretname", dateOfBirth="2015-04-01")
    await b.ok(api, b.UPDATE_CLIENT, {"input": {"id": client, "lastName": "Ever"}}, "updateClient")
    provider = await b.provider(api, "Pam", "Provider")
    await b.ok(
        api, b.UPDATE_PROVIDER, {"input": {"id": provider, "firstName": "Pat"}}, "updateProvider"
    )
    second = await b.provider(api, "Sam", "Second")
    payor = await b.payor(api, "Every Health")
    coverage = await b.coverage(api, client, payor, "2025-01-01")
    await b.ok(
        api,
        b.UPDATE_COVERAGE,
        {"input": {"id": coverage, "memberId": "MEMBER-77"}},
        "updateCoverage",
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
        {"input": {"id": assignment, "version": 1, "note": "secret note"}},
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
    return client, provider, second


async def test_every_write_appends_its_events_and_every_payload_matches_its_schema(
    api: Api,
) -> None:
    _, provider, second = await story(api)
    found = await nodes(api)
    # payor.updated has no mutation yet; the dispatcher makes the webhook types
    # (test_webhooks validates those); every other type is made by the story
    assert {n["type"] for n in found} == set(events.TYPES) - {"payor.updated"} - set(
        events.WEBHOOK_TYPES
    )
    for node in found:
        envelope = node["data"]
        jsonschema.validate(
            envelope,
            events.schema(node["type"]),
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        assert envelope["type"] == node["type"]
        assert ids.encode("Event", uuid.UUID(envelope["id"])) == node["id"]
    text = json.dumps(found)
    for private in (
        "Eve",
        "Secretname",
        "Ever",
        "Pam",
        "Pat",
        "2015-04-01",
        "secret note",
        "MEMBER-77",
    ):
        assert private not in text, private
    # the change of case manager: ended, then assigned, with each one's rendering NPI
    kinds = [n["type"] for n in found]
    at = kinds.index("case_manager.ended")
    assert kinds[at + 1] == "case_manager.assigned"
    ended, assigned = found[at]["data"]["data"], found[at + 1]["data"]["data"]
    assert ended["providerId"] == provider and ended["endDate"] == "2026-05-31"
    assert assigned["providerId"] == second and assigned["startDate"] == "2026-06-01"
    npis = {
        p["id"]: p["npi"]
        for p in (await api("{ providers { edges { node { id npi } } } }"))["providers"]["edges"]
        for p in [p["node"]]
    }
    assert ended["providerNpi"] == npis[provider]
    assert assigned["providerNpi"] == npis[second]


def test_the_payloads_name_rows_by_the_apis_global_ids() -> None:
    row = uuid.uuid4()
    assert events.global_id("CaseManagerAssignment", row) == ids.encode(
        "CaseManagerAssignment", row
    )


def test_every_event_type_ships_a_schema() -> None:
    for kind in events.TYPES:
        schema = events.schema(kind)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["properties"]["type"] == {"const": kind}


async def test_a_refused_write_appends_no_event(api: Api) -> None:
    client = await b.client(api)
    before = await nodes(api)
    response = await api(
        b.UPDATE_CLIENT, {"input": {"id": client, "firstName": ""}}
    )  # an empty name is refused
    assert response["updateClient"]["userErrors"]
    assert await nodes(api) == before


async def test_pages_follow_one_another_without_gaps_or_repeats_and_filter_by_type(
    api: Api,
) -> None:
    for n in range(5):
        await b.client(api, "C", f"Client{n}")
    await b.provider(api)
    first = await feed(api, first=2)
    assert first["totalCount"] == 6 and first["pageInfo"]["hasNextPage"]
    assert not first["pageInfo"]["hasPreviousPage"]
    rest = await feed(api, after=first["pageInfo"]["endCursor"])
    assert rest["pageInfo"]["hasPreviousPage"] and not rest["pageInfo"]["hasNextPage"]
    everything = await nodes(api)
    assert [e["node"] for e in first["edges"] + rest["edges"]] == everything
    assert len({n["id"] for n in everything}) == 6
    created = await nodes(api, types=["provider.created"])
    assert [n["type"] for n in created] == ["provider.created"]
    # a cursor at the end waits for what commits next
    await b.client(api, "C", "Later")
    later = await nodes(api, after=rest["pageInfo"]["endCursor"])
    assert [n["type"] for n in later] == ["client.created"]


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"types": ["client.deleted"]}, "Unknown event type"),
        ({"types": []}, "at least one event type"),
        ({"after": "bm9wZQ=="}, "Malformed cursor"),
        # an offset cursor of an earlier version
        ({"after": "Y3Vyc29yOjQ="}, "offset cursor"),
        ({"first": 101}, "`first`"),
    ],
)
async def test_bad_arguments_are_refused_with_a_clear_message(
    api: Api, variables: dict[str, Any], message: str
) -> None:
    body = await api.raw(FEED, variables)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT", body
    assert message in body["errors"][0]["message"]


async def test_a_cursor_of_another_connection_is_refused(api: Api) -> None:
    await b.client(api)
    audit = await api("{ auditEvents { pageInfo { endCursor } } }")
    body = await api.raw(FEED, {"after": audit["auditEvents"]["pageInfo"]["endCursor"]})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def _write_held_open(
    db: Database, org: uuid.UUID, release: asyncio.Event, holding: asyncio.Event
) -> None:
    """Transaction A: a client and its event, held open until `release`, then committed.
    It goes through the same staging as every use case (changes.record_by)."""
    # no book: record_by reads who and when from the scope, never its rules
    scope = TenantScope(db=db, book=None, organization_id=org, clock=Clock("UTC"), actor="test")  # type: ignore[arg-type]
    async with db.write() as session:
        row = models.Client(organization_id=org, first_name="A", last_name="Held")
        session.add(row)
        await session.flush()
        changes.record_by(session, scope, "createClient", row, None, changes.snapshot(row))
        holding.set()
        await release.wait()
        await session.commit()


async def _poll(db: Database, org: uuid.UUID, after: int) -> list[models.Event]:
    """What a poller reads after position `after`: the feed's own read (the API's resolver
    calls it). Read directly, since on SQLite a request's sign-in waits for the write lock."""
    async with db.read() as session:
        rows, _ = await events.after(session, org, after, 100)
    return rows


async def test_a_transaction_that_commits_late_is_neither_skipped_nor_repeated(
    api: Api, db: Database, is_postgres: bool
) -> None:
    """A starts first and commits last. On PostgreSQL B commits while A is open: a poller
    sees B, then A once A commits, after B: commit order. On SQLite A holds the one write
    lock, so B waits and commits after A: the poller sees nothing, then A, then B."""
    org = await b.org_id(db, api.slug)
    release, holding = asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(_write_held_open(db, org, release, holding))
    await holding.wait()
    b_write = asyncio.create_task(b.client(api, "B", "Quick"))
    if is_postgres:
        await b_write
    else:
        await asyncio.sleep(0.3)
        assert not b_write.done()  # SQLite: one writer at a time
    seen = await _poll(db, org, 0)
    release.set()
    await a
    quick = await b_write
    more = await _poll(db, org, seen[-1].position if seen else 0)
    everything = seen + more
    assert len(everything) == len({e.id for e in everything}) == 2
    order = [e.data["clientId"] for e in everything]
    held = next(c for c in order if c != quick)
    if is_postgres:
        assert [e.data["clientId"] for e in seen] == [quick]
        assert order == [quick, held]  # the order they committed in
    else:
        assert seen == []
        assert order == [held, quick]
    # the audit trail has the same guarantee, and the API hands out the same order
    trail = await api("{ auditEvents { edges { node { entityType entityId } } } }")
    edges = trail["auditEvents"]["edges"]
    assert [e["node"]["entityId"] for e in edges if e["node"]["entityType"] == "Client"] == order
    assert [n["data"]["data"]["clientId"] for n in await nodes(api)] == order


async def test_events_and_change_records_have_time_ordered_ids_that_round_trip(
    api: Api, db: Database
) -> None:
    """Their ids are UUIDv7 (services.positions.new_id: appended rows go to the end of their
    index); the feeds still order by position, and a global id still decodes to the id."""
    await story(api)
    found = await nodes(api)
    for node in found:
        decoded = ids.decode_as(node["id"], "Event")
        assert decoded is not None and decoded.version == 7
        assert decoded == uuid.UUID(node["data"]["id"])
    audit = await api("{ auditEvents(first: 100) { edges { node { id } } } }")
    audit_ids = [e["node"]["id"] for e in audit["auditEvents"]["edges"]]
    assert audit_ids
    async with db.read() as session:
        stored = {r.id for r in await session.scalars(sa.select(models.ChangeRecord))}
    for global_id in audit_ids:
        decoded = ids.decode_as(global_id, "AuditEvent")
        assert decoded is not None and decoded.version == 7 and decoded in stored
