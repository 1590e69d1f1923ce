"""Abuse limits, on by default: depth, aliases, tokens, cost, page size, body size, no
batches, POST only, no field suggestions outside development, introspection and the IDE
only where they belong, CORS for configured origins, internal errors masked with an id."""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import builders as b
import httpx
import pytest
from httpx import AsyncClient
from pytest import LogCaptureFixture, MonkeyPatch

from cmgraph.api import ids
from cmgraph.app import create_app
from cmgraph.config import Limits, Settings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from tests.support import Api

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]


def codes(body: dict[str, Any]) -> list[str | None]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


@pytest.fixture
async def app_with(db: Database, book: RuleBook, settings: Settings) -> AsyncIterator[MakeClient]:
    """An HTTP client for the app built with other settings."""
    clients = []

    async def make(**changes: Any) -> httpx.AsyncClient:
        app = create_app(dataclasses.replace(settings, **changes), db=db, book=book)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


# A well-formed id of no client: the query runs and answers null.
NOBODY = ids.encode("Client", uuid.UUID(int=0))


def deep(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"caseManagers {{ client {{ {inner} }} }}"
    return f'{{ client(id: "{NOBODY}") {{ {inner} }} }}'


async def test_a_query_deeper_than_the_limit_is_refused_before_it_runs(api: Api) -> None:
    assert "errors" not in await api.raw(deep(5))
    body = await api.raw(deep(7))  # 15 levels
    assert body["data"] is None
    assert "maximum operation depth" in body["errors"][0]["message"]


async def test_too_many_aliases_are_refused(api: Api) -> None:
    query = "{ " + " ".join(f"a{i}: serviceLines {{ code }}" for i in range(31)) + " }"
    body = await api.raw(query)
    assert body["data"] is None and "aliases" in body["errors"][0]["message"]


async def test_too_many_tokens_are_refused(api: Api) -> None:
    query = "{ " + " ".join("serviceLines { code name }" for _ in range(500)) + " }"
    body = await api.raw(query)
    assert body["data"] is None and "tokens" in body["errors"][0]["message"]


async def test_the_cost_multiplies_page_sizes_and_refuses_above_the_limit(
    api: Api, db: Database
) -> None:
    await b.client(api)
    heavy = """query($n: Int) { clients(first: $n) { edges { node {
      serviceLines { history { changes { actor } } findings { code } }
      caseManagers { provider { caseload { client { appointments { id } } } } } } } } }"""
    assert "errors" not in await api.raw(heavy, {"n": 5})
    body = await api.raw(heavy, {"n": 100})
    assert codes(body) == ["QUERY_TOO_COMPLEX"] and body["data"] is None
    assert body["errors"][0]["extensions"]["cost"] > Limits().max_cost


async def test_limits_are_configurable(api: Api, app_with: MakeClient) -> None:
    client = await app_with(limits=Limits(max_depth=2))
    response = await client.post(
        "/graphql",
        json={"query": "{ clients { edges { node { id } } } }"},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert "maximum operation depth" in response.json()["errors"][0]["message"]


async def test_a_body_above_the_size_limit_is_413_and_nothing_runs(
    api: Api, db: Database, app_with: MakeClient
) -> None:
    client = await app_with(limits=Limits(max_body_bytes=200))
    query = b.CREATE_CLIENT
    variables = {"input": {"firstName": "A" * 300, "lastName": "B"}}
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 413
    assert codes(response.json()) == ["BAD_REQUEST"]
    assert await b.count(db, models.Client, api.slug) == 0


async def test_batched_operations_are_refused(api: Api, http: AsyncClient, db: Database) -> None:
    batch = [
        {"query": b.CREATE_CLIENT, "variables": {"input": {"firstName": "A", "lastName": "B"}}}
    ]
    response = await http.post(
        "/graphql",
        content=json.dumps(batch),
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "Batched" in response.json()["errors"][0]["message"]
    assert await b.count(db, models.Client, api.slug) == 0


async def test_a_mutation_over_get_is_refused_and_writes_nothing(
    api: Api, http: AsyncClient, db: Database
) -> None:
    response = await http.get(
        "/graphql",
        params={
            "query": 'mutation { createClient(input: {firstName: "G", lastName: "Et"}) '
            "{ client { id } } }"
        },
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 405
    assert await b.count(db, models.Client, api.slug) == 0


async def test_field_suggestions_only_in_development(api: Api, app_with: MakeClient) -> None:
    typo = {"query": "{ clientz { totalCount } }"}
    headers = {"Authorization": f"Bearer {api.token}"}
    production = (await (await app_with()).post("/graphql", json=typo, headers=headers)).json()
    development = (
        await (await app_with(development=True)).post("/graphql", json=typo, headers=headers)
    ).json()
    assert "Did you mean" not in production["errors"][0]["message"]
    assert "Did you mean" in development["errors"][0]["message"]


async def test_introspection_only_for_authenticated_callers(api: Api, http: AsyncClient) -> None:
    query = {"query": "{ __schema { queryType { name } } }"}
    assert (await http.post("/graphql", json=query)).status_code == 401
    data = await api(query["query"])
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_graphiql_only_in_development(app_with: MakeClient) -> None:
    html = {"Accept": "text/html"}
    production = await (await app_with()).get("/graphql", headers=html)
    assert production.status_code == 401 and "graphiql" not in production.text.lower()
    development = await (await app_with(development=True)).get("/graphql", headers=html)
    assert development.status_code == 200 and "graphiql" in development.text.lower()


async def test_cors_only_for_configured_origins(api: Api, app_with: MakeClient) -> None:
    client = await app_with(cors_origins=("https://app.example.org",))
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    allowed = await client.options(
        "/graphql", headers={"Origin": "https://app.example.org", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"
    refused = await client.options(
        "/graphql", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in refused.headers
    default = await (await app_with()).post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Origin": "https://app.example.org", "Authorization": f"Bearer {api.token}"},
    )
    assert "access-control-allow-origin" not in default.headers


async def test_an_internal_error_is_masked_with_an_id_that_is_in_the_log(
    api: Api, monkeypatch: MonkeyPatch, caplog: LogCaptureFixture
) -> None:
    from cmgraph.services import compliance

    detail = "secret detail about Ada Lovelace"  # a variable: tracebacks quote source lines

    async def broken(*args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError(detail)

    monkeypatch.setattr(compliance, "findings_page", broken)
    with caplog.at_level(logging.ERROR, logger="cmgraph.api"):
        body = await api.raw(
            '{ complianceFindings(from: "2026-01-01", to: "2026-01-31") { totalCount } }'
        )

    (error,) = body["errors"]
    assert error["message"] == "Internal error."
    assert error["extensions"]["code"] == "INTERNAL_ERROR"
    error_id = error["extensions"]["errorId"]
    logged = [r for r in caplog.records if getattr(r, "error_id", None) == error_id]
    assert len(logged) == 1
    # error_type and traceback are the log call's extra=: attributes LogRecord does not declare
    assert logged[0].error_type == "RuntimeError"  # type: ignore[attr-defined]
    assert "secret" not in logged[0].getMessage() + logged[0].traceback  # type: ignore[attr-defined]


def _doubling_fragments(levels: int) -> str:
    """A short document whose expansion doubles at each level: 2**levels selections."""
    parts = ["query { ...F0 }"]
    parts += [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    parts.append(f"fragment F{levels} on Query {{ serviceLines {{ code }} }}")
    return "\n".join(parts)


async def test_fragments_that_expand_exponentially_are_refused_right_after_parsing(
    api: Api,
) -> None:
    body = await api.raw(_doubling_fragments(40))  # 2**40 selections in ~350 tokens

    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "fragments are expanded" in error["message"]
    assert body.get("data") is None


async def test_fragments_that_expand_within_the_limit_run(api: Api) -> None:
    data = await api(_doubling_fragments(3))

    assert data["serviceLines"]


async def test_a_fragment_that_spreads_itself_is_refused(api: Api) -> None:
    body = await api.raw("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }")

    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_too_many_directives_on_one_field_are_refused_before_validation(
    api: Api, app_with: MakeClient
) -> None:
    two = "{ serviceLines { code @include(if: true) @skip(if: false) } }"
    assert "errors" not in await api.raw(two)
    # a thousand directives would be validated pairwise: refused before that, by count
    many = "{ serviceLines { code " + "@include(if: true) " * 6 + "} }"
    body = await api.raw(many)
    assert body["data"] is None and codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "6 directives; at most 5" in body["errors"][0]["message"]

    stricter = await app_with(limits=Limits(max_field_directives=1))
    response = await stricter.post(
        "/graphql", json={"query": two}, headers={"Authorization": f"Bearer {api.token}"}
    )
    assert codes(response.json()) == ["QUERY_TOO_COMPLEX"]


async def test_one_field_selected_too_many_times_is_refused_through_fragments_too(api: Api) -> None:
    twenty = "{ serviceLines { " + "code " * 20 + "} }"
    assert "errors" not in await api.raw(twenty)

    for document in (
        "{ serviceLines { " + "code " * 21 + "} }",
        "{ serviceLines { ...A ...B code } } fragment A on ServiceLine { "
        + "code " * 10
        + "} fragment B on ServiceLine { "
        + "code " * 10
        + "}",
        "{ " + "serviceLines { name } " * 21 + "}",
    ):
        body = await api.raw(document)
        assert body["data"] is None and codes(body) == ["QUERY_TOO_COMPLEX"], document
        assert "21 times" in body["errors"][0]["message"]


FINDINGS = """{ a0: complianceFindings(from: "1900-01-01", to: "2100-12-31", first: 0) {
  totalCount } }"""


async def test_a_report_spans_at_most_the_longest_window(api: Api, app_with: MakeClient) -> None:
    # several year-long reports in a row: more than a caller's cost in 10 s (test_budget.py)
    roomy = dataclasses.replace(Limits(), cost_per_minute=6 * 500_000)
    api = type(api)(await app_with(limits=roomy), api.token, api.slug)
    body = await api.raw(FINDINGS)
    assert codes(body) == ["INVALID_INPUT"]
    assert "at most 366 days" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["field"] == ["to"]
    year = '{ claimLines(from: "2026-01-01", to: "2026-12-31") { totalCount } }'
    assert "errors" not in await api.raw(year)
    leap = '{ claimLines(from: "2024-01-01", to: "2025-01-01") { totalCount } }'  # 367 days
    assert codes(await api.raw(leap)) == ["INVALID_INPUT"]

    wider = await app_with(limits=dataclasses.replace(roomy, max_report_days=400))
    response = await wider.post(
        "/graphql", json={"query": leap}, headers={"Authorization": f"Bearer {api.token}"}
    )
    assert "errors" not in response.json()


async def test_one_request_holds_about_one_reports_work(api: Api, app_with: MakeClient) -> None:
    """The pen test's 30 aliases of a centuries-long findings report cost 60; now each alias
    costs its window's days, so a second year-long report is over the limit."""
    roomy = dataclasses.replace(Limits(), cost_per_minute=6 * 500_000)  # as above
    api = type(api)(await app_with(limits=roomy), api.token, api.slug)
    thirty = (
        "{ "
        + " ".join(
            f'a{i}: complianceFindings(from: "2026-01-01", to: "2026-12-31", first: 0) '
            "{ totalCount }"
            for i in range(30)
        )
        + " }"
    )
    body = await api.raw(thirty)
    assert body["data"] is None and codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["extensions"]["cost"] > 30 * 365 * 60

    one_year = thirty.split(" a1:")[0] + " }"
    assert "errors" not in await api.raw(one_year)
    two_years = thirty.split(" a2:")[0] + " }"
    assert codes(await api.raw(two_years)) == ["QUERY_TOO_COMPLEX"]
    monthly = (
        "{ "
        + " ".join(
            f'm{i}: claimLines(from: "2026-{i:02d}-01", to: "2026-{i:02d}-28") {{ totalCount }}'
            for i in range(1, 13)
        )
        + " }"
    )
    assert "errors" not in await api.raw(monthly)  # a year in twelve months: one year's work

    batch = [{"clientId": "x", "serviceLine": "ABA", "dateOfService": "2026-01-01"}] * 1000
    rendering = """query($r: [RenderingProviderRequest!]!) { %s }"""
    aliases = " ".join(f"r{i}: renderingProviders(requests: $r) {{ clientId }}" for i in range(3))
    body = await api.raw(rendering % aliases, {"r": batch})
    assert codes(body) == ["QUERY_TOO_COMPLEX"]  # 24 of them took 6 s in the pen test
    full = """clientId serviceLine dateOfService provider { displayName npi }
      assignment { startDate } findings { code }"""
    one = await api.raw(rendering % f"renderingProviders(requests: $r) {{ {full} }}", {"r": batch})
    assert "QUERY_TOO_COMPLEX" not in codes(one)
