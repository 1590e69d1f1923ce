"""Bad input gets the same answer everywhere: a malformed id or an impossible date is
INVALID_INPUT with a clean message; a well-formed id of nothing is null (queries) or
NOT_FOUND (mutations)."""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest
from helpers import create_client

from cmgraph.api import ids
from tests.support import Api

NOBODY = ids.encode("Client", uuid.UUID(int=0))
ONE_ID = {
    "client": "query($id: ID!) { client(id: $id) { id } }",
    "provider": "query($id: ID!) { provider(id: $id) { id } }",
    "node": "query($id: ID!) { node(id: $id) { id } }",
}


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    [error] = body["errors"]
    return cast("dict[str, Any]", error)


@pytest.mark.parametrize("field", sorted(ONE_ID))
async def test_a_malformed_id_is_invalid_input_in_queries(api: Api, field: str) -> None:
    body = await api.raw(ONE_ID[field], {"id": "123"})

    error = only_error(body)
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["message"] == "Malformed id."
    assert body["data"] == {field: None}


@pytest.mark.parametrize("field", sorted(ONE_ID))
async def test_a_well_formed_id_of_nothing_is_null(api: Api, field: str) -> None:
    body = await api.raw(ONE_ID[field], {"id": NOBODY})

    assert "errors" not in body
    assert body["data"] == {field: None}


async def test_an_id_of_another_kind_is_null_not_an_error(api: Api) -> None:
    client = await create_client(api)

    body = await api.raw(ONE_ID["provider"], {"id": client})

    assert body == {"data": {"provider": None}}


@pytest.mark.parametrize(
    ("query", "path"),
    [
        (
            '{ renderingProvider(clientId: "123", serviceLine: "ABA", '
            'dateOfService: "2026-03-01") { provider { id } } }',
            ["clientId"],
        ),
        (
            '{ renderingProviders(requests: [{clientId: "123", serviceLine: "ABA", '
            'dateOfService: "2026-03-01"}]) { provider { id } } }',
            ["requests", "0", "clientId"],
        ),
        (
            '{ claimLines(from: "2026-03-01", to: "2026-03-31", clientId: "123") { totalCount } }',
            ["clientId"],
        ),
    ],
    ids=["renderingProvider", "renderingProviders", "claimLines"],
)
async def test_a_malformed_id_in_a_report_is_invalid_input_on_its_field(
    api: Api, query: str, path: list[str]
) -> None:
    error = only_error(await api.raw(query))

    assert error["extensions"] == {"code": "INVALID_INPUT", "field": path}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($d: Date!) { claimLines(from: $d, to: $d) { totalCount } }", {"d": "2026-02-30"}),
        ('{ claimLines(from: "2026-02-30", to: "2026-03-01") { totalCount } }', {}),
        (
            "query($t: DateTime) { auditEvents(from: $t) { totalCount } }",
            {"t": "2026-02-30T09:00:00-05:00"},
        ),
    ],
    ids=["variable", "literal", "date-time"],
)
async def test_an_impossible_date_is_invalid_input_with_a_clean_message(
    api: Api, query: str, variables: dict[str, Any]
) -> None:
    error = only_error(await api.raw(query, variables))

    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert "2026-02-30" in error["message"]
    assert "''" not in error["message"]  # the value quoted once, not twice
