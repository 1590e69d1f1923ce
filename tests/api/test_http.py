"""The HTTP surface: bearer tokens before anything runs, what GET and malformed requests get,
and the health and readiness probes."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, NoReturn

import builders as b
import httpx
import pytest
from httpx import AsyncClient
from pytest import MonkeyPatch
from sqlalchemy import update

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from cmgraph.services import tokens
from tests.support import Api

CREATE = """
mutation { createClient(input: {firstName: "Eve", lastName: "Intruder"}) {
  client { id } userErrors { code } } }"""


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "cmg_not_even_a_scheme"},
        {"Authorization": "Bearer cmg_unknown-token"},
        {"Authorization": "Bearer not-a-cmgraph-token"},
    ],
    ids=["none", "empty", "scheme-only", "blank", "basic", "no-scheme", "unknown", "foreign"],
)
async def test_no_valid_token_is_a_401_and_nothing_runs(
    api: Api, db: Database, headers: dict[str, str]
) -> None:
    response = await api.post(CREATE, headers=headers)

    assert_unauthenticated(response)
    assert await b.count(db, models.Client, api.slug) == 0
    assert await b.changes(db, api.slug) == []


async def test_a_token_with_a_changed_character_is_refused(api: Api, db: Database) -> None:
    forged = api.token[:-1] + ("A" if api.token[-1] != "A" else "B")
    response = await api.post(CREATE, headers={"Authorization": f"Bearer {forged}"})
    assert_unauthenticated(response)
    assert await b.count(db, models.Client, api.slug) == 0


async def test_the_bearer_scheme_is_case_insensitive_and_the_token_works(
    api: Api, db: Database
) -> None:
    response = await api.post(CREATE, headers={"Authorization": f"bearer {api.token}"})
    assert response.status_code == 200
    assert response.json()["data"]["createClient"]["userErrors"] == []
    assert await b.count(db, models.Client, api.slug) == 1


async def test_a_token_revoked_elsewhere_is_refused_once_the_verified_bound_passed(
    api: Api, db: Database, monkeypatch: MonkeyPatch
) -> None:
    """Revoked by another process (a worker, the command line): this one looks the token up
    again after tokens.VERIFIED_FOR. Revoked through this process: test_tokens."""
    assert (await api.post("{ payors { id } }")).status_code == 200
    org = await b.org_id(db, api.slug)
    async with db.write() as session:
        await session.execute(
            update(models.ApiToken)
            .where(models.ApiToken.organization_id == org)
            .values(revoked_at=models.utcnow())
        )
        await session.commit()
    later = time.monotonic() + tokens.VERIFIED_FOR
    monkeypatch.setattr(tokens.verified, "clock", lambda: later)

    assert_unauthenticated(await api.post(CREATE))
    assert await b.count(db, models.Client, api.slug) == 0


async def test_get_with_a_query_is_refused(api: Api, http: AsyncClient) -> None:
    response = await http.get(
        "/graphql",
        params={"query": "{ payors { id } }"},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert 400 <= response.status_code < 500
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_get_without_a_token_is_a_401(http: AsyncClient) -> None:
    response = await http.get("/graphql", params={"query": "{ payors { id } }"})
    assert_unauthenticated(response)


@pytest.mark.parametrize(
    "query",
    ["{ payors { id }", "query {", "{ noSuchField }", "mutation { createClient }", "{ payors }"],
)
async def test_malformed_graphql_answers_with_errors_not_a_500(api: Api, query: str) -> None:
    response = await api.post(query)
    assert response.status_code in {200, 400}, response.text
    body = response.json()
    assert body["errors"]
    assert body.get("data") is None


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"query": 42}', b'{"variables": {}}', b'{"query": ""}'],
)
async def test_a_malformed_request_body_is_a_400_with_errors(
    api: Api, http: AsyncClient, content: bytes
) -> None:
    response = await http.post(
        "/graphql",
        content=content,
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert body["errors"][0]["message"]


DATED = """
query($clientId: ID!, $day: Date!) {
  renderingProvider(clientId: $clientId, serviceLine: "ABA", dateOfService: $day) {
    provider { id }
  }
}"""


@pytest.mark.parametrize(
    "day", ["2026-02-30", "2026-13-01", "tomorrow", "2026-3-1", 20260301, None]
)
async def test_bad_variables_are_explained_not_a_500(api: Api, day: int | str | None) -> None:
    client_id = await b.client(api)
    response = await api.post(DATED, {"clientId": client_id, "day": day})
    assert response.status_code in {200, 400}, response.text
    body = response.json()
    assert body.get("data") is None
    (error,) = body["errors"]
    assert "$day" in error["message"]  # says which variable, not "Internal error."
    if day is not None:
        assert str(day) in error["message"]


@pytest.mark.parametrize(
    "starts_at", ["2026-03-04T25:00:00-05:00", "yesterday", "2026-03-04T09:00:00+99:00"]
)
async def test_a_bad_date_time_variable_is_an_error_and_writes_nothing(
    api: Api, db: Database, starts_at: str
) -> None:
    client_id = await b.client(api)
    provider_id = await b.provider(api)
    variables = {
        "input": {
            "clientId": client_id,
            "serviceLine": "ABA",
            "providerId": provider_id,
            "startsAt": starts_at,
            "endsAt": "2026-03-04T10:00:00-05:00",
        }
    }
    response = await api.post(b.SCHEDULE, variables)
    assert response.status_code in {200, 400}, response.text
    assert response.json()["errors"]
    assert await b.count(db, models.Appointment, api.slug) == 0


async def test_an_unexpected_error_is_masked(api: Api, monkeypatch: MonkeyPatch) -> None:
    from cmgraph.services import compliance

    async def broken(*args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError("secret database detail")

    monkeypatch.setattr(compliance, "findings_page", broken)
    response = await api.post(
        '{ complianceFindings(from: "2026-01-01", to: "2026-01-31") { totalCount } }'
    )

    assert response.status_code == 200
    body = response.json()
    assert body["errors"][0]["message"] == "Internal error."
    assert "secret" not in response.text


async def test_healthz_and_readyz_answer_ok(http: AsyncClient) -> None:
    health = await http.get("/healthz")
    assert (health.status_code, health.text) == (200, "ok")
    ready = await http.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ok")


def _dead_urls(tmp_path: Path) -> list[str]:
    return [
        "postgresql+asyncpg://postgres@127.0.0.1:1/x",
        f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/cmgraph.db",
    ]


@pytest.mark.parametrize("which", [0, 1], ids=["postgres-closed-port", "sqlite-missing-dir"])
async def test_readyz_is_503_when_the_database_is_unreachable(
    settings: Settings, book: RuleBook, tmp_path: Path, which: int
) -> None:
    url = _dead_urls(tmp_path)[which]
    app = create_app(
        dataclasses.replace(settings, database_url=url), db=Database.from_url(url), book=book
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        ready = await client.get("/readyz")
        health = await client.get("/healthz")
        unauthenticated = await client.post("/graphql", json={"query": "{ payors { id } }"})

    assert ready.status_code == 503
    assert health.status_code == 200  # alive, only not ready
    assert unauthenticated.status_code == 401
