"""The benchmark's peers (bench/peers/: the strict floor, the floor with its token check,
graphql-core with prefetch, Strawberry with DataLoaders) answer the caseload page and the
one-client page with exactly cmgraph's `data`, on a small practice of the benchmark's own
generator: a peer that answered less (a coverage, a credential, an ended assignment) or in
another order would be measured doing less work. How fast they are is the benchmark's to
measure (`./scripts/bench`), not the suite's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import orjson
import pytest

from bench import practice, scenarios
from bench.peers.common import data_of
from bench.peers.stacks import PEERS, Stack
from bench.practice import Params
from cmgraph.db.engine import Database
from cmgraph.services import tenants

# seed 2: among its 30 clients one without a case manager (the generator gives few)
PARAMS = Params(clients=30, providers=60, weeks=4, seed=2)


@pytest.fixture(scope="module")
async def bench_practice(db: Database) -> tuple[UUID, str, scenarios.Data]:
    """The practice, once for the module: its organization, an admin token, its data."""
    built = practice.build(PARAMS)
    await practice.insert(db.engine, built)
    org = built.organization["id"]
    token = await tenants.create_token(db, PARAMS.slug, "admin", "peers test")
    return org, token, await scenarios.read_data(db.engine, org, PARAMS.weeks)


@pytest.fixture(params=PEERS, ids=lambda stack: stack.name)
async def peer(
    request: pytest.FixtureRequest, db: Database, bench_practice: Any
) -> AsyncIterator[tuple[Stack, httpx.AsyncClient]]:
    stack: Stack = request.param
    app = stack.create(db.engine, bench_practice[0])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://peer") as client:
        yield stack, client


async def answers(
    client: httpx.AsyncClient, path: str, token: str, bodies: list[bytes]
) -> list[bytes]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    out = []
    for content in bodies:
        response = await client.post(path, content=content, headers=headers)
        assert response.status_code == 200, (path, response.text[:300])
        out.append(data_of(response.content))
    return out


def pages(data: scenarios.Data) -> dict[str, list[bytes]]:
    return {
        # all 30 clients, and a first page of 10 (the total still counts all)
        "caseload": scenarios.caseload(50) + scenarios.caseload(10),
        "client": scenarios.one_client(data, len(data.clients)),
    }


@pytest.mark.parametrize("page", ["caseload", "client"])
async def test_a_peer_answers_the_page_with_exactly_cmgraphs_data(
    http: httpx.AsyncClient, peer: tuple[Stack, httpx.AsyncClient], bench_practice: Any, page: str
) -> None:
    stack, client = peer
    _, token, data = bench_practice
    bodies = pages(data)[page]
    ours = await answers(http, "/graphql", token, bodies)
    theirs = await answers(client, stack.path(page), token, bodies)

    assert theirs == ours, f"{stack.label} answers the {page} page differently from cmgraph"


async def test_the_pages_hold_what_a_peer_could_get_wrong(
    http: httpx.AsyncClient, bench_practice: Any
) -> None:
    """Ended assignments, second coverages, credentials and a client without a case
    manager: the shapes a peer could drop or misorder, so that the equality above means
    something."""
    _, token, _ = bench_practice
    (page,) = await answers(http, "/graphql", token, scenarios.caseload(50))
    nodes = [edge["node"] for edge in orjson.loads(page)["clients"]["edges"]]
    managers = [m for node in nodes for m in node["caseManagers"]]

    assert len(nodes) == PARAMS.clients
    assert any(len(node["coverages"]) > 1 for node in nodes)
    assert any(not node["caseManagers"] for node in nodes)
    assert any(m["endDate"] is not None for m in managers)
    assert all(m["provider"]["credentials"] for m in managers)


async def test_a_peer_that_checks_tokens_refuses_an_unknown_one(
    peer: tuple[Stack, httpx.AsyncClient], bench_practice: Any
) -> None:
    """The token lookup is part of the work measured beside cmgraph's: skipped, a peer would
    be measured doing less. (The strict floor has none, by definition.)"""
    stack, client = peer
    if stack.fixed_org:
        pytest.skip("the strict floor checks no token")
    _, token, _ = bench_practice
    forged = token[: token.rindex("_") + 1] + "x" * 43
    headers = {"Authorization": f"Bearer {forged}", "Content-Type": "application/json"}
    response = await client.post(
        stack.path("caseload"), content=scenarios.caseload(10)[0], headers=headers
    )

    assert response.status_code == 401, response.text[:300]
