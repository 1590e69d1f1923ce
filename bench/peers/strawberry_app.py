"""A default Strawberry peer: typed classes, a DataLoader per relation, made per request,
each batch in a connection of its own, Strawberry's ASGI app with its defaults (GraphiQL
off), the token checked in front of it (common.TokenCheck).

    python -m bench.peers.strawberry_app --url URL --port PORT
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import strawberry
from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from bench.floor import healthz
from bench.peers.common import TokenCheck, serve
from cmgraph.api.ids import decode_as, encode
from cmgraph.db import models

C = models.Client.__table__
CV = models.Coverage.__table__
PY = models.Payor.__table__
A = models.Assignment.__table__
P = models.Provider.__table__
CR = models.Credential.__table__


@dataclass
class Context:
    engine: AsyncEngine
    organization: UUID
    coverages: DataLoader[UUID, list[Coverage]]
    assignments: DataLoader[UUID, list[CaseManagerAssignment]]
    payors: DataLoader[UUID, Payor]
    providers: DataLoader[UUID, Provider]
    credentials: DataLoader[UUID, list[Credential]]


@strawberry.type
class Payor:
    id: strawberry.ID
    name: str


@strawberry.type
class Coverage:
    priority: int
    member_id: str | None
    payor_pk: strawberry.Private[UUID]

    @strawberry.field
    async def payor(self, info: Info[Context, None]) -> Payor:
        return await info.context.payors.load(self.payor_pk)


@strawberry.type
class ServiceLine:
    code: str


@strawberry.type
class Credential:
    type: str


@strawberry.type
class Provider:
    id: strawberry.ID
    display_name: str
    npi: str
    pk: strawberry.Private[UUID]

    @strawberry.field
    async def credentials(self, info: Info[Context, None]) -> list[Credential]:
        return await info.context.credentials.load(self.pk)


@strawberry.type
class CaseManagerAssignment:
    id: strawberry.ID
    service_line: ServiceLine
    start_date: date
    end_date: date | None
    provider_pk: strawberry.Private[UUID]

    @strawberry.field
    async def provider(self, info: Info[Context, None]) -> Provider:
        return await info.context.providers.load(self.provider_pk)


@strawberry.type
class Client:
    id: strawberry.ID
    display_name: str
    external_id: str | None
    pk: strawberry.Private[UUID]

    @strawberry.field
    async def coverages(self, info: Info[Context, None]) -> list[Coverage]:
        return await info.context.coverages.load(self.pk)

    @strawberry.field
    async def case_managers(self, info: Info[Context, None]) -> list[CaseManagerAssignment]:
        return await info.context.assignments.load(self.pk)


@strawberry.type
class ClientEdge:
    node: Client


@strawberry.type
class ClientConnection:
    total_count: int
    edges: list[ClientEdge]


def _client(row: Any) -> Client:
    return Client(
        id=strawberry.ID(encode("Client", row.id)),
        display_name=f"{row.first_name} {row.last_name}",
        external_id=row.external_id,
        pk=row.id,
    )


@strawberry.type
class Query:
    @strawberry.field
    async def clients(self, info: Info[Context, None], first: int = 20) -> ClientConnection:
        org = info.context.organization
        async with info.context.engine.connect() as connection:
            total = await connection.scalar(
                select(func.count()).select_from(C).where(C.c.organization_id == org)
            )
            rows = await connection.execute(
                select(C.c.id, C.c.first_name, C.c.last_name, C.c.external_id)
                .where(C.c.organization_id == org)
                .order_by(C.c.last_name, C.c.first_name, C.c.id)
                .limit(first)
            )
            edges = [ClientEdge(node=_client(row)) for row in rows]
        return ClientConnection(total_count=total or 0, edges=edges)

    @strawberry.field
    async def client(self, info: Info[Context, None], id: strawberry.ID) -> Client | None:
        pk = decode_as(id, "Client")
        if pk is None:
            return None
        org = info.context.organization
        async with info.context.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(C.c.id, C.c.first_name, C.c.last_name, C.c.external_id).where(
                        C.c.organization_id == org, C.c.id == pk
                    )
                )
            ).first()
        return None if row is None else _client(row)


SCHEMA = strawberry.Schema(query=Query)


def loaders(engine: AsyncEngine, org: UUID) -> Context:
    async def rows(statement: Select[Any]) -> Sequence[Row[Any]]:
        async with engine.connect() as connection:
            found: Sequence[Row[Any]] = (await connection.execute(statement)).all()
            return found

    async def coverages(keys: list[UUID]) -> list[list[Coverage]]:
        found: defaultdict[UUID, list[Coverage]] = defaultdict(list)
        for row in await rows(
            select(CV.c.client_id, CV.c.priority, CV.c.member_id, CV.c.payor_id)
            .where(CV.c.organization_id == org, CV.c.client_id.in_(keys))
            .order_by(CV.c.priority, CV.c.effective_from)
        ):
            found[row.client_id].append(
                Coverage(priority=row.priority, member_id=row.member_id, payor_pk=row.payor_id)
            )
        return [found[key] for key in keys]

    async def assignments(keys: list[UUID]) -> list[list[CaseManagerAssignment]]:
        found: defaultdict[UUID, list[CaseManagerAssignment]] = defaultdict(list)
        for row in await rows(
            select(A)
            .where(A.c.organization_id == org, A.c.client_id.in_(keys))
            .order_by(A.c.service_line, A.c.start_date, A.c.id)
        ):
            found[row.client_id].append(
                CaseManagerAssignment(
                    id=strawberry.ID(encode("CaseManagerAssignment", row.id)),
                    service_line=ServiceLine(code=row.service_line),
                    start_date=row.start_date,
                    end_date=row.end_date,
                    provider_pk=row.provider_id,
                )
            )
        return [found[key] for key in keys]

    async def payors(keys: list[UUID]) -> list[Payor]:
        found = {
            row.id: Payor(id=strawberry.ID(encode("Payor", row.id)), name=row.name)
            for row in await rows(
                select(PY.c.id, PY.c.name).where(PY.c.organization_id == org, PY.c.id.in_(keys))
            )
        }
        return [found[key] for key in keys]

    async def providers(keys: list[UUID]) -> list[Provider]:
        found = {
            row.id: Provider(
                id=strawberry.ID(encode("Provider", row.id)),
                display_name=f"{row.first_name} {row.last_name}",
                npi=row.npi,
                pk=row.id,
            )
            for row in await rows(
                select(P.c.id, P.c.first_name, P.c.last_name, P.c.npi).where(
                    P.c.organization_id == org, P.c.id.in_(keys)
                )
            )
        }
        return [found[key] for key in keys]

    async def credentials(keys: list[UUID]) -> list[list[Credential]]:
        found: defaultdict[UUID, list[Credential]] = defaultdict(list)
        for row in await rows(
            select(CR.c.provider_id, CR.c.type)
            .where(CR.c.organization_id == org, CR.c.provider_id.in_(keys))
            .order_by(CR.c.type)
        ):
            found[row.provider_id].append(Credential(type=row.type))
        return [found[key] for key in keys]

    return Context(
        engine,
        org,
        DataLoader(load_fn=coverages),
        DataLoader(load_fn=assignments),
        DataLoader(load_fn=payors),
        DataLoader(load_fn=providers),
        DataLoader(load_fn=credentials),
    )


class App(GraphQL[Context, None]):
    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(SCHEMA, graphql_ide=None)
        self.engine = engine

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return loaders(self.engine, request.state.organization)


def create_app(engine: AsyncEngine, organization: UUID | None = None) -> Starlette:
    graphql = TokenCheck(App(engine), engine)
    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)]
    )


if __name__ == "__main__":
    serve("serve the Strawberry peer", create_app)
