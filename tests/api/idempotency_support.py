"""Helpers shared by tests (moved from test_idempotency.py, so that tests never import tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import builders as b
import httpx
from sqlalchemy import select

from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import tokens
from cmgraph.services.idempotency import (
    KeyedRequest,
    request_hash,
)
from cmgraph.services.tokens import organization_of

WHO = '{ clients(search: "%s", first: 5) { totalCount } }'


async def send(
    client: httpx.AsyncClient,
    token: str,
    key: str | None,
    query: str = b.CREATE_CLIENT,
    variables: dict[str, Any] | None = None,
    accept: str = "application/json",
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


def new_client(last_name: str, first_name: str = "Ida") -> dict[str, Any]:
    return {"input": {"firstName": first_name, "lastName": last_name}}


async def count(api: Any, last_name: str) -> int:
    return cast("int", (await api(WHO % last_name))["clients"]["totalCount"])


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert "data" not in body, body
    [error] = body["errors"]
    return cast("str", error["extensions"]["code"])


async def stored_keys(db: Database, token: str) -> list[models.IdempotencyKey]:
    async with db.read() as session:
        rows = await session.scalars(
            select(models.IdempotencyKey).where(
                models.IdempotencyKey.organization_id == organization_of(token)
            )
        )
        return list(rows)


async def keyed_request(
    db: Database, token: str, key: str, variables: dict[str, Any]
) -> KeyedRequest:
    """What the endpoint reserves for send(token, key, CREATE_CLIENT, variables)."""
    principal = await tokens.authenticate(db, token)
    assert principal is not None
    return KeyedRequest(
        principal.organization_id,
        principal.actor,
        key,
        request_hash(b.CREATE_CLIENT, None, variables),
    )


class Clock:
    """The store's clock, moved by the test instead of slept through. It starts at the real
    time: every store of the process (the apps' own, on the real clock, included) purges
    every organization's keys older than a day in the background, and the suite shares one
    event loop, so a purge started by an earlier test can run during this one: a key made
    on a clock months behind was deleted under a test that had just taken it over."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
