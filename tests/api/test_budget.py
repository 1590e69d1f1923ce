"""Each caller's budget of requests and cost per minute (web.budget), with the RateLimit
headers and a 429 with Retry-After beyond it, and a query's time budget (TIMEOUT, 503)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import builders as b
import httpx
import principals as p
import pytest
from pytest import MonkeyPatch

from cmgraph.app import create_app
from cmgraph.config import Limits, Settings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from cmgraph.services import compliance
from tests.support import Api

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]

YEAR = '{ complianceFindings(from: "2026-01-01", to: "2026-12-31", first: 0) { totalCount } }'


@pytest.fixture
async def app_with(db: Database, book: RuleBook, settings: Settings) -> AsyncIterator[MakeClient]:
    clients = []

    async def make(**limits: Any) -> httpx.AsyncClient:
        changed = dataclasses.replace(settings, limits=Limits(**limits))
        app = create_app(changed, db=db, book=book)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def post(
    client: httpx.AsyncClient, token: str, query: str, **kw: Any
) -> Coroutine[Any, Any, httpx.Response]:
    return client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}, **kw
    )


async def test_a_caller_over_its_requests_per_minute_gets_429_and_nothing_runs(
    api: Api, db: Database, app_with: MakeClient
) -> None:
    client = await app_with(requests_per_minute=3)
    other = await p.token(db, api.slug, "admin")

    for left in (2, 1, 0):
        response = await post(client, api.token, "{ serviceLines { code } }")
        assert response.status_code == 200
        assert response.headers["RateLimit-Policy"].startswith('"requests";q=3;w=60')
        assert response.headers["RateLimit"].startswith(f'"requests";r={left};t=')
    create = 'mutation { createClient(input: {firstName: "R", lastName: "L"}) { client { id } } }'
    refused = await post(client, api.token, create)
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "data" not in refused.json()
    assert await b.count(db, models.Client, api.slug) == 0

    # another caller of the same organization has a budget of its own
    assert (await post(client, other, "{ serviceLines { code } }")).status_code == 200


async def test_a_caller_over_its_cost_per_minute_gets_429(api: Api, app_with: MakeClient) -> None:
    client = await app_with(cost_per_minute=6 * 30_000)  # 30,000 in any 10 s
    first = await post(client, api.token, YEAR)
    assert first.status_code == 200 and "errors" not in first.json()
    assert '"cost";q=30000;w=10' in first.headers["RateLimit-Policy"]
    cost_left = int(first.headers["RateLimit"].split('"cost";r=')[1].split(";")[0])
    assert cost_left == 30_000 - (2 + 365 * 60)

    second = await post(client, api.token, YEAR)
    assert second.status_code == 429
    assert second.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "Retry-After" in second.headers
    cheap = await post(client, api.token, "{ serviceLines { code } }")
    assert cheap.status_code == 200  # what is left still buys small queries


async def test_a_query_past_its_time_budget_is_stopped_with_timeout(
    api: Api, app_with: MakeClient, monkeypatch: MonkeyPatch
) -> None:
    async def slow(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(30)

    monkeypatch.setattr(compliance, "findings_page", slow)
    client = await app_with(request_seconds=0.5)

    started = time.monotonic()
    response = await post(client, api.token, YEAR)
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["TIMEOUT"]
    assert "data" not in body

    assert (await post(client, api.token, "{ serviceLines { code } }")).status_code == 200


async def test_a_caller_runs_one_reports_worth_at_a_time_and_small_queries_beside_it(
    api: Api, app_with: MakeClient, monkeypatch: MonkeyPatch
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    real = compliance.findings_page

    async def held(*args: Any, **kwargs: Any) -> compliance.FindingsPage:
        started.set()
        await release.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(compliance, "findings_page", held)
    client = await app_with(cost_per_minute=6 * 100_000)  # cost is not what refuses here
    running = asyncio.create_task(post(client, api.token, YEAR))
    await asyncio.wait_for(started.wait(), 5)

    second = await post(client, api.token, YEAR)
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert "already running" in second.json()["errors"][0]["message"]
    small = await post(client, api.token, "{ serviceLines { code } }")
    assert small.status_code == 200  # a small query fits beside the running report

    release.set()
    assert (await running).status_code == 200
    assert (await post(client, api.token, YEAR)).status_code == 200  # its turn now


def test_zero_turns_the_budgets_off_and_a_negative_one_is_refused() -> None:
    from cmgraph.config import Settings, SettingsError

    off = Settings.from_env(
        {
            "CMGRAPH_REQUESTS_PER_MINUTE": "0",
            "CMGRAPH_COST_PER_MINUTE": "0",
            "CMGRAPH_REQUEST_TIMEOUT_SECONDS": "0",
        }
    ).limits
    assert (off.requests_per_minute, off.cost_per_minute, off.request_seconds) == (0, 0, 0)
    with pytest.raises(SettingsError, match="CMGRAPH_COST_PER_MINUTE"):
        Settings.from_env({"CMGRAPH_COST_PER_MINUTE": "-1"})
