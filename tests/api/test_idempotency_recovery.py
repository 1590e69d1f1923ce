"""An Idempotency-Key is never held for a holder that is gone: after a database outage, or
a worker killed in the middle of a request, the retry under the same key runs at once
instead of being told IDEMPOTENCY_KEY_IN_USE for the minute of the lease. Expired keys (and
the answers they hold) are purged without anyone running the command; and a failure of the
key store is the masked JSON error like any other."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import builders as b
import httpx
import pytest
from faults_support import _waiting_for_a_lock_on, client_of
from httpx import AsyncClient
from idempotency_support import (
    Clock,
    count,
    error_code,
    keyed_request,
    new_client,
    send,
    stored_keys,
)
from proxy import proxy_to
from pytest import MonkeyPatch
from served import serving
from sqlalchemy import text, update

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from cmgraph.services import holders, idempotency
from cmgraph.services.idempotency import IN_FLIGHT, Claim, IdempotencyStore
from cmgraph.services.tokens import organization_of
from tests.support import Api

AT_ONCE = 5.0  # seconds: far below the 60 s lease, generous for a busy 2-core machine


class GoesDown(Database):
    """The database goes away as the first client is about to be committed, and stays away
    (every commit fails, the key's release too) until the test brings it back."""

    down, armed = False, True

    def write(self) -> Any:
        session = super().write()
        commit = session.commit

        async def committing() -> None:
            await session.flush()
            if self.armed and any(
                isinstance(row, models.Client) for row in session.identity_map.values()
            ):
                self.down, self.armed = True, False
            if self.down:
                raise ConnectionResetError("the database went away")
            await commit()

        session.commit = committing  # type: ignore[method-assign]
        return session


async def test_after_an_outage_the_key_is_released_as_soon_as_the_database_is_back(
    api: Api, db: Database, settings: Settings, book: RuleBook
) -> None:
    failing = GoesDown(db.engine)
    store = IdempotencyStore(failing)
    async with client_of(create_app(settings, db=failing, book=book, idempotency=store)) as c:
        cut = await send(c, api.token, "outage", variables=new_client("Outage"))
        assert cut.status_code == 503
        await asyncio.sleep(2 * idempotency.RELEASE_RETRY_SECONDS)
        assert [k.state for k in await stored_keys(db, api.token)] == [IN_FLIGHT]  # still down
        failing.down = False
        await asyncio.wait_for(store.settled(), AT_ONCE)
        assert await stored_keys(db, api.token) == []  # released in the background: any
        retry = await send(c, api.token, "outage", variables=new_client("Outage"))  # worker
    assert retry.status_code == 200 and "idempotent-replayed" not in retry.headers
    assert await count(api, "Outage") == 1


async def test_a_key_left_by_a_request_this_process_ended_is_taken_over_at_once(
    api: Api, http: AsyncClient, db: Database
) -> None:
    """Its release failed and has not run yet: the key names this process as its holder,
    but no request of this process runs that attempt any more."""
    store = IdempotencyStore(db)
    claim = await store.reserve(await keyed_request(db, api.token, "ended", new_client("Ended")))
    assert isinstance(claim, Claim)
    busy = await send(http, api.token, "ended", variables=new_client("Ended"))
    assert error_code(busy) == "IDEMPOTENCY_KEY_IN_USE"  # its request still runs
    idempotency._RUNNING.discard(claim.attempt)  # it ended; the key was not given back
    retry = await send(http, api.token, "ended", variables=new_client("Ended"))
    assert retry.status_code == 200, retry.text
    assert await count(api, "Ended") == 1


async def test_a_duplicate_reading_the_key_as_its_reservation_commits_finds_it_in_use(
    api: Api, db: Database, monkeypatch: MonkeyPatch
) -> None:
    """The first reservation has committed but has not returned yet: its holder (this
    process) must already count as running, or the duplicate takes the key over and both
    run (what ten concurrent duplicates once did on PostgreSQL)."""
    store = IdempotencyStore(db)
    request = await keyed_request(db, api.token, "commits", new_client("Commits"))
    reserve = IdempotencyStore._reserve
    duplicates: list[object] = []

    async def duplicate_arrives_after_the_commit(self: IdempotencyStore, *args: Any) -> Any:
        reserved = await reserve(self, *args)
        monkeypatch.setattr(IdempotencyStore, "_reserve", reserve)  # one duplicate
        duplicates.append(await store.reserve(request))
        return reserved

    monkeypatch.setattr(IdempotencyStore, "_reserve", duplicate_arrives_after_the_commit)
    first = await store.reserve(request)
    assert isinstance(first, Claim)
    assert duplicates == [idempotency.Conflict(idempotency.KEY_IN_USE)]


async def _held_by(db: Database, token: str, key: str, holder: str) -> None:
    async with db.write() as session:
        await session.execute(
            update(models.IdempotencyKey)
            .where(
                models.IdempotencyKey.organization_id == organization_of(token),
                models.IdempotencyKey.key == key,
            )
            .values(holder=holder)
        )
        await session.commit()


async def test_a_key_held_by_a_process_that_is_gone_is_taken_over_at_once(
    api: Api, http: AsyncClient, db: Database
) -> None:
    store = IdempotencyStore(db)
    await store.reserve(await keyed_request(db, api.token, "gone", new_client("Gone")))
    other = await asyncio.create_subprocess_exec("sleep", "30")
    try:
        alive = holders._this(other.pid)
        await _held_by(db, api.token, "gone", alive)
        busy = await send(http, api.token, "gone", variables=new_client("Gone"))
        assert error_code(busy) == "IDEMPOTENCY_KEY_IN_USE"  # another live process runs it
    finally:
        other.kill()
        await other.wait()
    assert holders.is_gone(alive)
    taken = await send(http, api.token, "gone", variables=new_client("Gone"))
    assert taken.status_code == 200, taken.text
    assert await count(api, "Gone") == 1


async def test_a_holder_that_cannot_be_judged_keeps_its_key_for_the_lease(
    api: Api, http: AsyncClient, db: Database
) -> None:
    """Another machine's process (or one without /proc): presumed alive."""
    store = IdempotencyStore(db)
    await store.reserve(await keyed_request(db, api.token, "far", new_client("Far")))
    await _held_by(db, api.token, "far", "another-machine:pid:[1]/12/345")
    busy = await send(http, api.token, "far", variables=new_client("Far"))
    assert error_code(busy) == "IDEMPOTENCY_KEY_IN_USE"
    assert await count(api, "Far") == 0


@pytest.fixture
def postgres_url(database_url: str, is_postgres: bool) -> str:
    if not is_postgres:
        pytest.skip("a network outage and several worker processes need PostgreSQL")
    return database_url


async def test_after_a_postgresql_outage_the_retry_runs_at_once(
    api: Api, db: Database, settings: Settings, book: RuleBook, postgres_url: str
) -> None:
    """A real outage in the middle of a keyed write (it waits on a lock the test holds when
    the proxy stops): 503, and the retry once the database is back runs, not 409."""
    async with proxy_to(postgres_url) as proxy:
        through = Database.from_url(proxy.url(postgres_url))
        try:
            async with client_of(create_app(settings, db=through, book=book)) as client:
                async with db.engine.connect() as holder:
                    await holder.execute(text("LOCK TABLE change_records IN SHARE MODE"))
                    answer = asyncio.ensure_future(
                        send(client, api.token, "pg-outage", variables=new_client("Outage"))
                    )
                    await _waiting_for_a_lock_on(db, "change_records")
                    await proxy.stop()
                    cut = await answer
                    assert cut.status_code == 503, cut.text
                    await holder.rollback()
                await proxy.start()
                started = time.monotonic()
                retry = await send(client, api.token, "pg-outage", variables=new_client("Outage"))
                assert retry.status_code == 200, retry.text
                assert time.monotonic() - started < AT_ONCE
        finally:
            await through.dispose()
    assert await count(api, "Outage") == 1


async def test_a_worker_killed_in_the_middle_of_a_keyed_write_does_not_hold_the_key(
    api: Api, db: Database, postgres_url: str, tmp_path: Path
) -> None:
    """`cmgraph serve --workers 2`: the worker running the request is killed (SIGKILL)
    while its write waits on a lock; the retry runs at once, on a live worker, and the
    client is created once."""
    headers = {"Authorization": f"Bearer {api.token}", "Idempotency-Key": "killed"}
    request = {"query": b.CREATE_CLIENT, "variables": new_client("Killed")}
    with serving(postgres_url, tmp_path, workers=2) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as c:
            async with db.engine.connect() as holder:
                await holder.execute(text("LOCK TABLE change_records IN SHARE MODE"))
                answer = asyncio.ensure_future(c.post("/graphql", json=request))
                await _waiting_for_a_lock_on(db, "change_records")
                [key] = await stored_keys(db, api.token)
                assert key.holder is not None
                pid = int(key.holder.split("/")[1])
                os.kill(pid, signal.SIGKILL)
                with pytest.raises(httpx.HTTPError):
                    await answer
                await holder.rollback()
            started = time.monotonic()
            retry = await c.post("/graphql", json=request)
            took = time.monotonic() - started
        assert retry.status_code == 200, retry.text
        assert "idempotent-replayed" not in retry.headers
        assert took < AT_ONCE, f"{took:.1f} s"
    assert await count(api, "Killed") == 1


async def test_expired_keys_and_their_answers_are_purged_without_the_command(
    api: Api, db: Database, settings: Settings, book: RuleBook
) -> None:
    clock = Clock()
    store = IdempotencyStore(db, now=clock)
    async with client_of(create_app(settings, db=db, book=book, idempotency=store)) as client:
        await send(client, api.token, "old", variables=new_client("Old"))
        clock.advance(hours=24)  # "old" has expired; a purge is due
        await send(client, api.token, "young", variables=new_client("Young"))
        await asyncio.wait_for(store.settled(), AT_ONCE)
    assert [row.key for row in await stored_keys(db, api.token)] == ["young"]


async def test_purges_run_at_most_once_a_minute_and_in_bounded_batches(
    api: Api, db: Database, settings: Settings, book: RuleBook
) -> None:
    clock = Clock()
    store = IdempotencyStore(db, now=clock)
    async with client_of(create_app(settings, db=db, book=book, idempotency=store)) as client:
        await send(client, api.token, "first", variables=new_client("First"))
        clock.advance(hours=24)
        await send(client, api.token, "a", variables=new_client("A"))
        await store.settled()
        clock.advance(hours=24, seconds=-30)  # "a" expired, but the last purge was 30 s ago
        await send(client, api.token, "b", variables=new_client("B"))
        await store.settled()
        assert sorted(row.key for row in await stored_keys(db, api.token)) == ["a", "b"]
    assert await store.purge(limit=0) == 0


async def test_a_failing_key_store_answers_the_masked_json_error(
    api: Api, db: Database, settings: Settings, book: RuleBook, monkeypatch: MonkeyPatch
) -> None:
    store = IdempotencyStore(db)

    async def broken(*args: Any) -> Any:
        raise RuntimeError("the store's bug, quoting Ada Lovelace")

    monkeypatch.setattr(store, "reserve", broken)
    transport = httpx.ASGITransport(
        app=create_app(settings, db=db, book=book, idempotency=store), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        response = await send(client, api.token, "broken", variables=new_client("Broken"))
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["message"] == "Internal error."
    assert error["extensions"]["code"] == "INTERNAL_ERROR" and error["extensions"]["errorId"]
    assert "Lovelace" not in response.text
    assert await count(api, "Broken") == 0
