"""GraphQL over HTTP: media types and status codes as the spec and graphql-http's audits
expect (scripts/graphql-http-audit runs the audits themselves against a real server)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from httpx import AsyncClient

from tests.support import Api

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(
    api: Api,
    http: AsyncClient,
    body: dict[str, Any],
    accept: str | None = None,
    content_type: str = "application/json",
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": content_type}
    if accept:
        headers["Accept"] = accept
    import json

    return await http.post("/graphql", content=json.dumps(body), headers=headers)


async def test_graphql_response_json_is_answered_in_kind(api: Api, http: AsyncClient) -> None:
    response = await post(api, http, {"query": "{ __typename }"}, GRAPHQL_RESPONSE)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("query", ["{ __typename", "{ noSuchField }"], ids=["parse", "validate"])
async def test_request_errors_are_400_without_data_in_graphql_response_json(
    api: Api, http: AsyncClient, query: str
) -> None:
    response = await post(api, http, {"query": query}, GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert "data" not in response.json() and response.json()["errors"]


@pytest.mark.parametrize("query", ["{ __typename", "{ noSuchField }"], ids=["parse", "validate"])
async def test_request_errors_are_200_with_null_data_in_application_json(
    api: Api, http: AsyncClient, query: str
) -> None:
    response = await post(api, http, {"query": query}, "application/json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["data"] is None and response.json()["errors"]


async def test_variables_that_do_not_coerce_are_a_request_error(
    api: Api, http: AsyncClient
) -> None:
    body = {
        "query": "query($n: Int) { clients(first: $n) { totalCount } }",
        "variables": {"n": "x"},
    }
    assert (await post(api, http, body, GRAPHQL_RESPONSE)).status_code == 400
    assert (await post(api, http, body, "application/json")).status_code == 200


async def test_an_execution_error_keeps_200_and_data(api: Api, http: AsyncClient) -> None:
    body = {
        "query": '{ client(id: "x") { id } '
        'complianceFindings(from: "2026-02-01", to: "2026-01-01") { totalCount } }'
    }
    response = await post(api, http, body, GRAPHQL_RESPONSE)
    assert response.status_code == 200
    assert "data" in response.json()


async def test_unacceptable_accept_and_content_type_are_refused(
    api: Api, http: AsyncClient
) -> None:
    assert (await post(api, http, {"query": "{ __typename }"}, "text/html")).status_code == 406
    response = await post(api, http, {"query": "{ __typename }"}, content_type="text/plain")
    assert response.status_code == 415
    response = await post(api, http, {"query": "{ __typename }"}, content_type="")
    assert response.status_code == 415


async def test_a_subscription_is_a_request_error(api: Api, http: AsyncClient) -> None:
    response = await post(api, http, {"query": "subscription { x }"}, GRAPHQL_RESPONSE)
    assert 400 <= response.status_code < 500


async def test_a_body_nested_too_deep_to_read_is_a_bad_request(api: Api, http: AsyncClient) -> None:
    nested = (
        '{"query": "{ __typename }", "variables": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    )
    response = await http.post(
        "/graphql",
        content=nested,
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
