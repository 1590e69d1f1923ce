"""The Idempotency-Key header: a mutation sent again under the same key answers the first
answer without running again; another request under it is refused; a duplicate still in
flight is told to wait; keys expire after 24 hours; only final answers are kept."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import builders as b
import httpx
import pytest
from httpx import AsyncClient
from idempotency_support import (
    WHO,
    Clock,
    count,
    error_code,
    keyed_request,
    new_client,
    send,
    stored_keys,
)
from pytest import MonkeyPatch

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.facts import Clock as OrganizationClock
from cmgraph.plugins import RuleBook
from cmgraph.services import clients, compliance, tenants
from cmgraph.services.idempotency import (
    IN_FLIGHT,
    Claim,
    IdempotencyStore,
    mark_written,
    request_hash,
)
from cmgraph.services.tokens import organization_of
from tests.support import Api

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(db: Database, clock: Clock) -> AsyncIterator[IdempotencyStore]:
    store = IdempotencyStore(db, now=clock)
    yield store
    await store.settled()  # no purge of this test's clock runs in the next test


@contextlib.asynccontextmanager
async def client_of(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        yield client


@pytest.fixture
async def http_with_store(
    db: Database, book: Any, settings: Any, store: IdempotencyStore
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(create_app(settings, db=db, book=book, idempotency=store)) as client:
        yield client


async def test_a_repeated_mutation_answers_the_first_answer_and_writes_once(
    api: Api, http: AsyncClient
) -> None:
    first = await send(http, api.token, "create-ida-1", variables=new_client("Once"))
    again = await send(http, api.token, "create-ida-1", variables=new_client("Once"))
    assert first.status_code == again.status_code == 200
    assert first.json()["data"]["createClient"]["client"]["id"]
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count(api, "Once") == 1


async def test_the_replay_answers_in_the_media_type_asked_now(api: Api, http: AsyncClient) -> None:
    await send(http, api.token, "media", variables=new_client("Media"))
    again = await send(
        http, api.token, "media", variables=new_client("Media"), accept=GRAPHQL_RESPONSE
    )
    assert again.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert again.json()["data"]["createClient"]["client"]["lastName"] == "Media"


async def test_the_same_key_for_another_request_is_refused_and_writes_nothing(
    api: Api, http: AsyncClient
) -> None:
    await send(http, api.token, "k-reused", variables=new_client("First"))
    other = await send(http, api.token, "k-reused", variables=new_client("Second"))
    assert other.status_code == 422
    assert error_code(other) == "IDEMPOTENCY_KEY_REUSED"
    assert await count(api, "Second") == 0
    renamed = b.CREATE_CLIENT.replace("mutation(", "mutation Create(")
    other_text = await send(http, api.token, "k-reused", renamed, new_client("First"))
    assert error_code(other_text) == "IDEMPOTENCY_KEY_REUSED"


async def test_the_order_of_variables_does_not_make_another_request(
    api: Api, http: AsyncClient
) -> None:
    one = {"input": {"firstName": "Ola", "lastName": "Order"}}
    other_order = {"input": {"lastName": "Order", "firstName": "Ola"}}
    first = await send(http, api.token, "order", variables=one)
    again = await send(http, api.token, "order", variables=other_order)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert request_hash("q", None, None) == request_hash("q", None, {})


async def test_a_key_is_its_callers_own(api: Api, http: AsyncClient, db: Database) -> None:
    """Another token of the same organization neither replays nor is refused: its key is
    another key (and it never sees the first caller's answer)."""
    second_token = await tenants.create_token(db, api.slug, "admin")
    await send(http, api.token, "shared", variables=new_client("Mine"))
    theirs = await send(http, second_token, "shared", variables=new_client("Theirs"))
    assert theirs.status_code == 200 and "idempotent-replayed" not in theirs.headers
    assert theirs.json()["data"]["createClient"]["client"]["lastName"] == "Theirs"
    assert await count(api, "Mine") == 1 and await count(api, "Theirs") == 1


async def test_an_answer_with_user_errors_is_final_and_replayed(
    api: Api, http: AsyncClient
) -> None:
    refused = new_client("Refused", first_name=" ")
    first = await send(http, api.token, "refused", variables=refused)
    assert first.json()["data"]["createClient"]["userErrors"]
    again = await send(http, api.token, "refused", variables=refused)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


async def test_a_request_error_is_not_kept_so_the_corrected_request_may_use_the_key(
    api: Api, http: AsyncClient
) -> None:
    wrong = await send(http, api.token, "fixed", variables={"input": {"firstName": "Ann"}})
    assert wrong.json()["data"] is None  # lastName missing: the request never ran
    right = await send(http, api.token, "fixed", variables=new_client("Fixed"))
    assert right.status_code == 200 and "idempotent-replayed" not in right.headers
    assert await count(api, "Fixed") == 1


async def test_queries_ignore_the_key(api: Api, http: AsyncClient, db: Database) -> None:
    for _ in range(2):
        response = await send(http, api.token, "a-query", WHO % "Nobody")
        assert response.status_code == 200 and "idempotent-replayed" not in response.headers
    assert await stored_keys(db, api.token) == []


async def test_a_new_token_takes_no_key_so_its_secret_is_never_stored(
    api: Api, http: AsyncClient, db: Database
) -> None:
    """createApiToken answers with the token's secret, shown once and stored nowhere: a
    stored answer to replay would keep a copy, so the key is refused and nothing runs."""
    create = """mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
      token userErrors { code } } }"""
    response = await send(
        http, api.token, "a-token", create, {"input": {"name": "sync", "role": "billing"}}
    )

    assert response.status_code == 400
    assert error_code(response) == "BAD_REQUEST"
    assert "createApiToken" in response.json()["errors"][0]["message"]
    assert await stored_keys(db, api.token) == []
    tokens = (await api("{ apiTokens { name } }"))["apiTokens"]
    assert "sync" not in [t["name"] for t in tokens]


@pytest.mark.parametrize(
    ("key", "why"),
    [("", "empty"), ("k" * 256, "too long"), ("tab\there", "not printable")],
)
async def test_a_malformed_key_is_a_bad_request(
    api: Api, http: AsyncClient, key: str, why: str
) -> None:
    response = await send(http, api.token, key, variables=new_client("Malformed"))
    assert response.status_code == 400, why
    assert error_code(response) == "BAD_REQUEST"
    assert "Idempotency-Key" in response.json()["errors"][0]["message"]
    assert await count(api, "Malformed") == 0


async def test_the_longest_key_is_accepted(api: Api, http: AsyncClient) -> None:
    response = await send(http, api.token, "k" * 255, variables=new_client("Longest"))
    assert response.status_code == 200
    assert await count(api, "Longest") == 1


async def test_a_key_expires_24_hours_after_its_first_use(
    api: Api, http_with_store: httpx.AsyncClient, clock: Clock
) -> None:
    await send(http_with_store, api.token, "daily", variables=new_client("Daily"))
    clock.advance(hours=23, minutes=59)
    replay = await send(http_with_store, api.token, "daily", variables=new_client("Daily"))
    assert replay.headers["idempotent-replayed"] == "true"
    clock.advance(minutes=1)
    renewed = await send(http_with_store, api.token, "daily", variables=new_client("Anew"))
    assert renewed.status_code == 200 and "idempotent-replayed" not in renewed.headers
    assert await count(api, "Daily") == 1 and await count(api, "Anew") == 1


async def test_expired_keys_are_purged(
    api: Api,
    http_with_store: httpx.AsyncClient,
    store: IdempotencyStore,
    clock: Clock,
    db: Database,
) -> None:
    # each request may start a purge in the background: let it end before the clock moves,
    # or it runs at the later time and purges "old" before the test does
    await send(http_with_store, api.token, "old", variables=new_client("Old"))
    await store.settled()
    clock.advance(hours=12)
    await send(http_with_store, api.token, "young", variables=new_client("Young"))
    await store.settled()
    clock.advance(hours=12)
    assert await store.purge() >= 1
    assert [row.key for row in await stored_keys(db, api.token)] == ["young"]


async def test_unavailable_is_not_kept_and_the_retry_runs(
    api: Api, db: Database, settings: Settings, book: RuleBook
) -> None:
    failing = CommitFailsForClients(db.engine)
    async with client_of(create_app(settings, db=failing, book=book)) as client:
        cut = await send(client, api.token, "cut", variables=new_client("Cut"))
    assert cut.status_code == 503
    async with client_of(create_app(settings, db=db, book=book)) as client:
        retry = await send(client, api.token, "cut", variables=new_client("Cut"))
    assert retry.status_code == 200 and "idempotent-replayed" not in retry.headers
    assert await count(api, "Cut") == 1


async def test_an_internal_error_is_not_kept_and_the_retry_runs(
    api: Api, http: AsyncClient, monkeypatch: MonkeyPatch
) -> None:
    real = clients.create_client

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(clients, "create_client", broken)
    failed = await send(http, api.token, "bug", variables=new_client("Bug"))
    assert failed.json()["errors"][0]["extensions"]["code"] == "INTERNAL_ERROR"
    monkeypatch.setattr(clients, "create_client", real)
    retry = await send(http, api.token, "bug", variables=new_client("Bug"))
    assert "idempotent-replayed" not in retry.headers
    assert await count(api, "Bug") == 1


async def test_an_answer_with_data_and_an_internal_error_is_not_kept(
    api: Api, http: AsyncClient, monkeypatch: MonkeyPatch
) -> None:
    """The write committed but a field of its payload failed: the answer has data, yet it
    is no final answer to replay. The write recorded its outcome in its own transaction, so
    the retry answers from that record (the client as it is now) instead of writing again."""
    real = compliance.client_findings

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(compliance, "client_findings", broken)
    query = """mutation($input: CreateClientInput!) {
      createClient(input: $input) { client { id lastName findings { code } } userErrors { code } }
    }"""
    first = await send(http, api.token, "half", query, new_client("Half"))
    body = first.json()
    assert first.status_code == 200 and body["data"]["createClient"]["client"] is None
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_ERROR"
    monkeypatch.setattr(compliance, "client_findings", real)
    retry = await send(http, api.token, "half", query, new_client("Half"))
    assert retry.status_code == 200 and "idempotent-replayed" not in retry.headers
    answered = retry.json()["data"]["createClient"]
    assert answered["client"]["lastName"] == "Half" and answered["userErrors"] == []
    assert await count(api, "Half") == 1
    again = await send(http, api.token, "half", query, new_client("Half"))
    assert again.headers["idempotent-replayed"] == "true" and again.json() == retry.json()


async def test_a_duplicate_in_flight_is_told_to_retry(
    api: Api, http_with_store: httpx.AsyncClient, store: IdempotencyStore, db: Database
) -> None:
    """The first request's worker still runs it (here: it reserved the key and stopped)."""
    keyed = await keyed_request(db, api.token, "busy", new_client("Busy"))
    await store.reserve(keyed)
    busy = await send(http_with_store, api.token, "busy", variables=new_client("Busy"))
    assert busy.status_code == 409
    assert error_code(busy) == "IDEMPOTENCY_KEY_IN_USE"
    assert busy.headers["retry-after"]
    assert await count(api, "Busy") == 0


async def test_a_key_held_by_a_stopped_worker_is_taken_over_after_its_lease(
    api: Api,
    http_with_store: httpx.AsyncClient,
    store: IdempotencyStore,
    clock: Clock,
    db: Database,
) -> None:
    """A worker that died before writing left the key in flight; nothing was written under
    it, so once the lease runs out a retry runs."""
    await store.reserve(await keyed_request(db, api.token, "orphan", new_client("Orphan")))
    clock.advance(seconds=store.lease.total_seconds() + 1)
    taken = await send(http_with_store, api.token, "orphan", variables=new_client("Orphan"))
    assert taken.status_code == 200 and "idempotent-replayed" not in taken.headers
    assert await count(api, "Orphan") == 1


async def written(store: IdempotencyStore, db: Database, token: str, key: str) -> Claim:
    """A key whose mutation committed (marking it written in that transaction) and whose
    answer was not stored yet."""
    claim = await store.reserve(await keyed_request(db, token, key, new_client("Lost")))
    assert isinstance(claim, Claim)
    async with db.write() as session:
        assert await mark_written(session, claim)
        await session.commit()
    return claim


async def test_a_write_whose_worker_died_before_storing_its_answer_is_not_repeated(
    api: Api,
    http_with_store: httpx.AsyncClient,
    store: IdempotencyStore,
    clock: Clock,
    db: Database,
) -> None:
    await written(store, db, api.token, "died")
    storing = await send(http_with_store, api.token, "died", variables=new_client("Lost"))
    assert error_code(storing) == "IDEMPOTENCY_KEY_IN_USE"  # its answer may still come
    clock.advance(seconds=store.lease.total_seconds() + 1)
    lost = await send(http_with_store, api.token, "died", variables=new_client("Lost"))
    assert lost.status_code == 409
    assert error_code(lost) == "IDEMPOTENCY_RESPONSE_LOST"
    assert await count(api, "Lost") == 0


async def test_a_write_whose_answer_was_not_final_is_not_repeated(
    api: Api, http_with_store: httpx.AsyncClient, store: IdempotencyStore, db: Database
) -> None:
    """Written, then the database went away while the payload was read (503): the key is
    released as lost, and a retry is refused at once rather than writing twice."""
    claim = await written(store, db, api.token, "unfinished")
    await store.release(claim)
    lost = await send(http_with_store, api.token, "unfinished", variables=new_client("Lost"))
    assert error_code(lost) == "IDEMPOTENCY_RESPONSE_LOST"
    assert await count(api, "Lost") == 0


async def test_an_execution_that_lost_its_key_cannot_commit(
    api: Api, store: IdempotencyStore, clock: Clock, db: Database, book: RuleBook
) -> None:
    """It ran past its lease and a retry took the key over: its write is rolled back."""
    from cmgraph.services.scope import TenantScope

    claim = await store.reserve(await keyed_request(db, api.token, "slow", new_client("Slow")))
    clock.advance(seconds=store.lease.total_seconds() + 1)
    await store.reserve(await keyed_request(db, api.token, "slow", new_client("Slow")))
    scope = TenantScope(
        db=db,
        book=book,
        organization_id=organization_of(api.token),  # type: ignore[arg-type]
        clock=OrganizationClock("America/New_York"),
        actor="token:test",
        idempotency=claim,  # type: ignore[arg-type]
    )
    outcome = await clients.create_client(scope, "Sid", "Slow", None, None)
    assert [e.code for e in outcome.errors] == ["IDEMPOTENCY_KEY_IN_USE"]
    assert await count(api, "Slow") == 0
    rows = await stored_keys(db, api.token)
    assert [r.state for r in rows] == [IN_FLIGHT]


@pytest.mark.parametrize("parallel", [10])
async def test_concurrent_duplicates_write_once(api: Api, http: AsyncClient, parallel: int) -> None:
    """Fired at once: one runs; every other answer is its stored answer or IN_USE."""
    responses = await asyncio.gather(
        *(send(http, api.token, "burst", variables=new_client("Burst")) for _ in range(parallel))
    )
    ran = [r for r in responses if r.status_code == 200 and "idempotent-replayed" not in r.headers]
    replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
    in_use = [r for r in responses if r.status_code == 409]
    assert len(ran) == 1, [r.text for r in responses]
    assert len(ran) + len(replayed) + len(in_use) == parallel
    assert all(r.json() == ran[0].json() for r in replayed)
    assert all(error_code(r) == "IDEMPOTENCY_KEY_IN_USE" for r in in_use)
    assert await count(api, "Burst") == 1
    # Once it is done, every retry gets the answer.
    settled = await send(http, api.token, "burst", variables=new_client("Burst"))
    assert settled.json() == ran[0].json()


class CommitFailsForClients(Database):
    """The connection drops as a new client is about to be committed (the key's own
    transactions go through)."""

    def write(self) -> Any:
        session = super().write()
        commit = session.commit

        async def failing_commit() -> None:
            await session.flush()
            if any(isinstance(row, models.Client) for row in session.identity_map.values()):
                raise ConnectionResetError("connection lost while committing")
            await commit()

        session.commit = failing_commit  # type: ignore[method-assign]
        return session
