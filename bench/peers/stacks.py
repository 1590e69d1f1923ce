"""The stacks the peer comparison serves, in the order the report lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from bench import floor
from bench.peers import floor_strict, graphql_core_app, strawberry_app

PAGES = ("caseload", "client")  # bench/scenarios.py names: CASELOAD and CLIENT


@dataclass(frozen=True)
class Stack:
    name: str
    label: str
    module: str  # served as `python -m <module> --url --port [--org]`
    create: Callable[[AsyncEngine, UUID | None], ASGIApp]
    graphql: bool  # POSTs to /graphql; the floors have a path per page
    peer: bool  # one that cmgraph must be ahead of (the floors are ceilings)
    fixed_org: bool = False  # serves one organization, given when it starts

    def path(self, page: str) -> str:
        return "/graphql" if self.graphql else f"/{page}"


STRICT = Stack(
    "floor_strict",
    "strict floor (no auth, 3 stmts, orjson)",
    "bench.peers.floor_strict",
    floor_strict.create_app,
    graphql=False,
    peer=False,
    fixed_org=True,
)
PEERS = (
    STRICT,
    Stack(
        "floor_token",
        "floor with token check (4 stmts)",
        "bench.floor",
        lambda engine, _org: floor.create_floor(engine),
        graphql=False,
        peer=False,
    ),
    Stack(
        "graphql_core",
        "graphql-core with prefetch",
        "bench.peers.graphql_core_app",
        graphql_core_app.create_app,
        graphql=True,
        peer=True,
    ),
    Stack(
        "strawberry",
        "Strawberry + DataLoader (defaults)",
        "bench.peers.strawberry_app",
        strawberry_app.create_app,
        graphql=True,
        peer=True,
    ),
)
