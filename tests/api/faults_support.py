"""Helpers shared by tests (moved from test_faults.py, so that tests never import tests)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import text

from cmgraph.db.engine import Database

CLIENTS = "{ clients(first: 5) { totalCount edges { node { lastName } } } }"


DOES_NOT_HANG = 10.0  # seconds: generous; the point is "not a hang"


@contextlib.asynccontextmanager
async def client_of(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        yield client


async def graphql(
    client: httpx.AsyncClient, token: str, query: str, accept: str = "application/json", **v: Any
) -> httpx.Response:
    started = time.monotonic()
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": v},
        headers={"Authorization": f"Bearer {token}", "Accept": accept},
    )
    assert time.monotonic() - started < DOES_NOT_HANG
    return response


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAVAILABLE"]
    assert "unavailable" in body["errors"][0]["message"]
    assert "Traceback" not in response.text and "Error" not in body["errors"][0]["message"]


async def _waiting_for_a_lock_on(db: Database, table: str) -> None:
    """Until some transaction of this database waits for a lock on table."""
    query = text(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = :table AND NOT l.granted AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    deadline = time.monotonic() + DOES_NOT_HANG
    async with db.engine.connect() as connection:
        while not await connection.scalar(query, {"table": table}):
            assert time.monotonic() < deadline, f"nothing waits for {table}"
            await asyncio.sleep(0.05)
