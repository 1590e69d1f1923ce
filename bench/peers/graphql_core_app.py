"""A graphql-core peer with prefetch: the schema's few types in SDL, the root field's
resolver loading the whole answer in three statements (bench/floor.py's) and graphql-core's
default resolvers walking the dicts. Documents are parsed and validated once each (an LRU
cache), the token is checked in the request's connection, the answer is orjson.

    python -m bench.peers.graphql_core_app --url URL --port PORT
"""

from __future__ import annotations

import functools
from datetime import date
from inspect import isawaitable
from typing import Any
from uuid import UUID

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLScalarType,
    build_schema,
    execute,
    parse,
    validate,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.floor import bearer, caseload, healthz, one_client, token_valid, unauthorized
from bench.peers.common import serve
from cmgraph.services.tokens import organization_of

SDL = """
scalar Date
type Query {
  clients(first: Int = 20): ClientConnection!
  client(id: ID!): Client
}
type ClientConnection { totalCount: Int! edges: [ClientEdge!]! }
type ClientEdge { node: Client! }
type Client {
  id: ID! displayName: String! externalId: String
  coverages: [Coverage!]! caseManagers: [CaseManagerAssignment!]!
}
type Coverage { priority: Int! memberId: String payor: Payor! }
type Payor { id: ID! name: String! }
type CaseManagerAssignment {
  id: ID! serviceLine: ServiceLine! startDate: Date! endDate: Date provider: Provider!
}
type ServiceLine { code: String! }
type Provider { id: ID! displayName: String! npi: String! credentials: [Credential!]! }
type Credential { type: String! }
"""


async def resolve_clients(_: None, info: GraphQLResolveInfo[Any], first: int) -> Any:
    context = info.context
    return (await caseload(context["connection"], context["organization"], first))["clients"]


async def resolve_client(_: None, info: GraphQLResolveInfo[Any], id: str) -> Any:
    context = info.context
    return (await one_client(context["connection"], context["organization"], id))["client"]


def _schema() -> Any:
    schema = build_schema(SDL)
    date_type = schema.type_map["Date"]
    assert isinstance(date_type, GraphQLScalarType)
    date_type.serialize = date.isoformat  # type: ignore[method-assign, assignment]
    fields = schema.query_type.fields  # type: ignore[union-attr]
    fields["clients"].resolve = resolve_clients
    fields["client"].resolve = resolve_client
    return schema


SCHEMA = _schema()


@functools.lru_cache(maxsize=64)
def document(query: str) -> DocumentNode | list[GraphQLError]:
    """The parsed document, or its errors; once per distinct query text."""
    try:
        parsed = parse(query)
    except GraphQLError as error:
        return [error]
    errors = validate(SCHEMA, parsed)
    return errors or parsed


def as_json(result: ExecutionResult, status: int = 200) -> Response:
    out: dict[str, Any] = {}
    if result.errors:
        out["errors"] = [error.formatted for error in result.errors]
    out["data"] = result.data
    return Response(orjson.dumps(out), status_code=status, media_type="application/json")


def create_app(engine: AsyncEngine, organization: UUID | None = None) -> Starlette:
    async def graphql(request: Request) -> Response:
        token = bearer(request.headers.get("authorization", ""))
        org = organization_of(token)
        body = orjson.loads(await request.body())
        parsed = document(body["query"])
        if isinstance(parsed, list):
            return as_json(ExecutionResult(None, parsed), 400)
        async with engine.connect() as connection:
            if org is None or not await token_valid(connection, org, token):
                return unauthorized()
            context = {"connection": connection, "organization": org}
            result = execute(
                SCHEMA, parsed, context_value=context, variable_values=body.get("variables")
            )
            if isawaitable(result):
                result = await result
        assert isinstance(result, ExecutionResult)
        return as_json(result)

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)]
    )


if __name__ == "__main__":
    serve("serve the graphql-core peer", create_app)
