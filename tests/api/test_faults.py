"""The database unreachable: every request is a clear 503 with a GraphQL error (code
UNAVAILABLE) within seconds, never a hang nor a 500 with a trace; /readyz fails; a write
cut off by the failure leaves nothing behind; and the service answers again by itself when
the database returns. No test stops the shared server: they point an app at a dead address,
at a proxy they stop and start, or at a Database whose engine they swap."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import builders as b
import helpers as h
import pytest
from faults_support import (
    CLIENTS,
    DOES_NOT_HANG,
    _waiting_for_a_lock_on,
    assert_unavailable,
    client_of,
    graphql,
)
from proxy import Proxy
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db.engine import Database, create_engine
from cmgraph.plugins import RuleBook
from cmgraph.services.access import ADMIN, Principal
from cmgraph.services.tokens import organization_of
from tests.support import Api


def dead_url(database_url: str, tmp_path: Any) -> str:
    """A database that cannot be reached: nothing listens on port 1; the SQLite file's folder
    does not exist."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return make_url(database_url).set(port=1).render_as_string(hide_password=False)
    return f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'cmgraph.db'}"


class Switchable(Database):
    """A Database whose engine a test swaps, as an outage and its end look to the app."""

    def point_at(self, engine: AsyncEngine) -> None:
        Database.__init__(self, engine)


class FixedVerifier:
    """Signs anyone in as one admin without the database, so the operation itself is what
    meets the outage."""

    def __init__(self, principal: Principal) -> None:
        self._principal = principal

    async def principal(self, db: Database, token: str) -> Principal:
        return self._principal


async def test_with_the_database_unreachable_authentication_answers_503_not_401(
    api: Api, settings: Settings, book: RuleBook, database_url: str, tmp_path: Path
) -> None:
    dead = Database.from_url(dead_url(database_url, tmp_path))
    try:
        async with client_of(create_app(settings, db=dead, book=book)) as client:
            for accept in ("application/json", "application/graphql-response+json"):
                response = await graphql(client, api.token, CLIENTS, accept)
                assert_unavailable(response)
                assert response.headers["content-type"].startswith(accept)
            started = time.monotonic()
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert time.monotonic() - started < DOES_NOT_HANG
            assert (await client.get("/healthz")).status_code == 200  # the process is up
    finally:
        await dead.dispose()


async def test_an_operation_that_meets_the_outage_answers_503(
    api: Api, settings: Settings, book: RuleBook, database_url: str, tmp_path: Path
) -> None:
    organization_id = organization_of(api.token)
    assert organization_id is not None
    admin = Principal(organization_id, "America/New_York", ADMIN, "user:test")
    dead = Database.from_url(dead_url(database_url, tmp_path))
    try:
        app = create_app(settings, db=dead, book=book, verifier=FixedVerifier(admin))  # type: ignore[arg-type]
        async with client_of(app) as client:
            assert_unavailable(await graphql(client, "a.b.c", CLIENTS))
            mutation = await graphql(
                client,
                "a.b.c",
                b.CREATE_CLIENT,
                input={"firstName": "Never", "lastName": "Written"},
            )
            assert_unavailable(mutation)
    finally:
        await dead.dispose()


class CommitFails(Database):
    """The connection drops when the transaction is about to commit: its rows were sent
    (flushed) but COMMIT never reached the database."""

    def write(self) -> Any:
        session = super().write()

        async def commit() -> None:
            await session.flush()
            raise ConnectionResetError("connection lost while committing")

        session.commit = commit  # type: ignore[method-assign]
        return session


async def test_a_write_cut_off_by_the_failure_leaves_no_row(
    api: Api, db: Database, settings: Settings, book: RuleBook, is_postgres: bool
) -> None:
    """Its COMMIT never reached the database. On PostgreSQL the service cannot tell that
    from a COMMIT whose answer was lost, so it says OUTCOME_UNKNOWN (test_write_outcomes);
    SQLite's COMMIT runs in the process, so its failure means nothing was written."""
    await api(CLIENTS)  # the token's last use is recorded now, not during the failing request
    failing = CommitFails(db.engine)
    async with client_of(create_app(settings, db=failing, book=book)) as client:
        response = await graphql(
            client,
            api.token,
            b.CREATE_CLIENT,
            input={"firstName": "Half", "lastName": "Written"},
        )
    if is_postgres:
        assert response.status_code == 503 and response.headers["retry-after"]
        assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["OUTCOME_UNKNOWN"]
    else:
        assert_unavailable(response)
    found = await api('{ clients(search: "Written", first: 5) { totalCount } }')
    assert found["clients"]["totalCount"] == 0


async def test_the_service_answers_again_when_the_database_returns(
    api: Api, db: Database, settings: Settings, book: RuleBook, database_url: str, tmp_path: Path
) -> None:
    dead_engine = create_engine(dead_url(database_url, tmp_path))
    switchable = Switchable(db.engine)
    try:
        async with client_of(create_app(settings, db=switchable, book=book)) as client:
            assert (await graphql(client, api.token, CLIENTS)).status_code == 200
            switchable.point_at(dead_engine)
            assert_unavailable(await graphql(client, api.token, CLIENTS))
            assert (await client.get("/readyz")).status_code == 503
            switchable.point_at(db.engine)
            assert (await graphql(client, api.token, CLIENTS)).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await dead_engine.dispose()


async def test_a_server_that_never_answers_is_given_up_on_within_seconds(
    api: Api, settings: Settings, book: RuleBook, database_url: str, is_postgres: bool
) -> None:
    """A host that accepts connections and then says nothing (a hung server, a black hole)
    is not waited on for ever: connecting gives up after the connect timeout."""
    if not is_postgres:
        pytest.skip("SQLite has no network connection to time out")
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    hung = Database.from_url(
        make_url(database_url).set(host="127.0.0.1", port=port).render_as_string(False)
    )
    try:
        async with client_of(create_app(settings, db=hung, book=book)) as client:
            assert_unavailable(await graphql(client, api.token, CLIENTS))
    finally:
        await hung.dispose()
        for writer in held:
            writer.transport.abort()
        silent.close()
        await silent.wait_closed()


async def test_after_postgresql_goes_away_and_returns_the_pool_reconnects(
    api: Api, settings: Settings, book: RuleBook, database_url: str, is_postgres: bool
) -> None:
    """A real outage of the connection, not a swapped engine: pooled connections die, new
    ones are refused, then the same pool connects again without a restart."""
    if not is_postgres:
        pytest.skip("a TCP outage needs PostgreSQL; the engine-swap test covers SQLite")
    url = make_url(database_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = Database.from_url(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )
    try:
        async with client_of(create_app(settings, db=through, book=book)) as client:
            assert (await graphql(client, api.token, CLIENTS)).status_code == 200
            await proxy.stop()
            assert_unavailable(await graphql(client, api.token, CLIENTS))
            assert (await client.get("/readyz")).status_code == 503
            await proxy.start()
            assert (await graphql(client, api.token, CLIENTS)).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await through.dispose()
        with contextlib.suppress(AssertionError):
            await proxy.stop()


async def test_postgresql_going_away_in_the_middle_of_a_change_leaves_it_undone(
    api: Api, db: Database, settings: Settings, book: RuleBook, database_url: str, is_postgres: bool
) -> None:
    """A real outage in the middle of a write: the change has ended the current case manager
    and waits to write its audit events (the test holds that table) when the connection
    drops. The answer is 503, and once the database is back nothing of the change is there."""
    if not is_postgres:
        pytest.skip("a TCP outage needs PostgreSQL; the cut-off commit test covers SQLite")
    case = await h.credentialed_case(api)
    current = await h.assign(api, h.cm_input(case, "2026-03-01"))
    successor = await h.credentialed_bcba(api, case.payor, "Next", "Manager")
    url = make_url(database_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = Database.from_url(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )
    change = h.cm_input(case, "2026-04-01", successor, note="cut off")
    try:
        async with client_of(create_app(settings, db=through, book=book)) as client:
            async with db.engine.connect() as holder:
                await holder.execute(text("LOCK TABLE change_records IN SHARE MODE"))
                answer = asyncio.ensure_future(graphql(client, api.token, h.CHANGE, input=change))
                await _waiting_for_a_lock_on(db, "change_records")
                await proxy.stop()
                assert_unavailable(await answer)
                await holder.rollback()
            await proxy.start()
            assert (await graphql(client, api.token, CLIENTS)).status_code == 200
    finally:
        await through.dispose()
        with contextlib.suppress(AssertionError):
            await proxy.stop()
    assert await h.case_managers(api, case.client) == [current]  # not ended, no successor
    async with db.engine.connect() as connection:
        changes = await connection.scalar(
            text(
                "SELECT count(*) FROM change_records WHERE organization_id = :org "
                "AND operation = 'changeCaseManager'"
            ),
            {"org": organization_of(api.token)},
        )
    assert changes == 0
