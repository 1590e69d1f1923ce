"""A database that stalls (connections open, nothing answered: a hung server, a black-holed
route) answers 503 within the documented 5 seconds, never holds a request until the stall
ends, and the service answers again by itself once it does. PostgreSQL only: the stall is a
TCP proxy the test pauses (tests/api/proxy.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import builders as b
import helpers as h
import httpx
import pytest
from faults_support import CLIENTS, assert_unavailable, client_of, graphql
from idempotency_support import count, new_client, send
from proxy import Proxy, proxy_to

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from tests.support import Api

pytestmark = pytest.mark.postgres_only

PROMISED = 5.0  # README: "not answering within 5 seconds" is answered 503
# One request at a time, in process: the slack is for a busy 2-core machine, and smaller than
# any step that waits on the database (SQLAlchemy's graceful close of a dropped connection
# waits 2 s; connecting, pinging, a statement wait up to 5 s each), so that a step waited on
# top of the promised time fails the test. The stall itself lasts much longer than both.
SLACK = 1.5
STALL = 30.0


@pytest.fixture
def postgres_url(database_url: str, is_postgres: bool) -> str:
    if not is_postgres:
        pytest.skip("a stalled network connection needs PostgreSQL")
    return database_url


@contextlib.asynccontextmanager
async def served_through_a_proxy(
    postgres_url: str, settings: Settings, book: RuleBook, **pool: Any
) -> AsyncIterator[tuple[Proxy, httpx.AsyncClient]]:
    """The app, its database reached through a proxy the test can pause."""
    async with proxy_to(postgres_url) as proxy:
        through = Database.from_url(proxy.url(postgres_url), **pool)
        try:
            async with client_of(create_app(settings, db=through, book=book)) as client:
                yield proxy, client
        finally:
            await through.dispose()


async def timed(answer: Awaitable[httpx.Response]) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = await asyncio.wait_for(answer, STALL)
    return time.monotonic() - started, response


async def test_a_stalled_database_is_answered_503_within_the_promised_time(
    api: Api, settings: Settings, book: RuleBook, postgres_url: str
) -> None:
    """The request's pooled connection is stalled (pre-ping and statements both wait on it)."""
    async with served_through_a_proxy(postgres_url, settings, book) as (proxy, client):
        assert (await graphql(client, api.token, CLIENTS)).status_code == 200
        proxy.pause()
        for query in (CLIENTS, b.CREATE_CLIENT):
            took, response = await timed(
                client.post(
                    "/graphql",
                    json={
                        "query": query,
                        "variables": {"input": {"firstName": "S", "lastName": "Stalled"}},
                    },
                    headers={"Authorization": f"Bearer {api.token}"},
                )
            )
            assert_unavailable(response)
            assert took < PROMISED + SLACK, f"{took:.1f} s for {query[:30]}"
        proxy.resume()
        assert (await graphql(client, api.token, CLIENTS)).status_code == 200


async def test_a_write_whose_statement_stalls_is_answered_503_within_the_promised_time(
    api: Api, settings: Settings, book: RuleBook, postgres_url: str
) -> None:
    """The stall begins in the middle of a write, after its statements went out: the answer
    still comes in time, and the change is not there."""
    case = await h.credentialed_case(api)
    async with served_through_a_proxy(postgres_url, settings, book) as (proxy, client):
        assert (await graphql(client, api.token, CLIENTS)).status_code == 200
        sent = proxy.bytes_up
        add = {"query": h.ADD, "variables": {"input": h.cm_input(case, "2026-03-01")}}
        answer = asyncio.ensure_future(
            client.post("/graphql", json=add, headers={"Authorization": f"Bearer {api.token}"})
        )
        while proxy.bytes_up == sent:  # noqa: ASYNC110 (the write has begun talking)
            await asyncio.sleep(0.001)
        proxy.pause()
        took, response = await timed(answer)
        assert response.status_code == 503, response.text
        assert took < PROMISED + SLACK, f"{took:.1f} s"
        proxy.resume()
        assert (await graphql(client, api.token, CLIENTS)).status_code == 200


async def test_a_request_that_waited_for_a_connection_is_answered_within_the_promised_time(
    api: Api, settings: Settings, book: RuleBook, postgres_url: str
) -> None:
    """Every connection is held by a request that waits on the stalled database, so the next
    request waits for one to free up, then for it to connect or answer its ping. That is one
    wait on the database: the promised time counts from its start, not once per step."""
    async with served_through_a_proxy(
        postgres_url, settings, book, pool_size=1, max_overflow=0
    ) as (proxy, client):
        assert (await graphql(client, api.token, CLIENTS)).status_code == 200
        proxy.pause()
        first = asyncio.ensure_future(timed(graphql(client, api.token, CLIENTS)))
        await asyncio.sleep(0.5)  # the first holds the only connection
        second = await timed(graphql(client, api.token, CLIENTS))
        for took, response in (await first, second):
            assert_unavailable(response)
            assert took < PROMISED + SLACK, f"{took:.1f} s"
        proxy.resume()
        assert (await graphql(client, api.token, CLIENTS)).status_code == 200


@pytest.mark.parametrize("answered", [False, True], ids=["commit-unanswered", "commit-answered"])
@pytest.mark.parametrize("key", [None, "stalled-at-commit"], ids=["unkeyed", "keyed"])
async def test_a_write_whose_commit_meets_the_stall_is_answered_within_the_promised_time(
    api: Api, settings: Settings, book: RuleBook, postgres_url: str, key: str | None, answered: bool
) -> None:
    """The stall begins as the write's COMMIT reaches PostgreSQL, or the moment its answer is
    back: the COMMIT, or what the request does after it (storing its key's answer, closing
    its sessions), meets the stall, step after step. The promise is for the request, not
    for each of its steps: answered within it, and the client is never told "unavailable"
    (nothing written) about a write that was committed."""
    async with served_through_a_proxy(postgres_url, settings, book) as (proxy, client):
        assert (await graphql(client, api.token, CLIENTS)).status_code == 200
        proxy.pause_at_commit(b"INSERT INTO clients", answered=answered)
        took, response = await timed(send(client, api.token, key, variables=new_client("Stalled")))
        assert took < PROMISED + SLACK, f"{took:.1f} s: {response.text}"
        if response.status_code == 200:  # made from what the write had in hand
            assert answered, response.text
            created = response.json()["data"]["createClient"]["client"]
            assert created["lastName"] == "Stalled", response.text
        else:
            assert response.status_code == 503, response.text
            assert [e["extensions"]["code"] for e in response.json()["errors"]] == [
                "OUTCOME_UNKNOWN"
            ]
        proxy.resume()
        assert (await graphql(client, api.token, CLIENTS)).status_code == 200
    assert await count(api, "Stalled") == 1
