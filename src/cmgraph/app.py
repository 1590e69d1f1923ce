"""The ASGI application: /graphql behind bearer tokens, /healthz and /readyz."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from cross_web import HTTPException
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope
from strawberry.asgi import GraphQL

from cmgraph.api.context import Context
from cmgraph.api.reader import Reader
from cmgraph.api.schema import schema
from cmgraph.config import Settings
from cmgraph.db.engine import Database
from cmgraph.facts import Clock
from cmgraph.plugins import RuleBook, build_plugin_manager
from cmgraph.services.scope import Scope
from cmgraph.services.tenants import Principal, authenticate

log = logging.getLogger("cmgraph.app")
PRINCIPAL = "cmgraph.principal"
CONTEXT = "cmgraph.context"


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, db: Database, book: RuleBook, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.development else None,
            allow_queries_via_get=False,
        )
        self.db, self.book, self.settings = db, book, settings

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        """As strawberry's, but a refused request (no query, bad JSON, GET...) answers in
        GraphQL's shape, {"errors": [...]}, rather than in plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as exc:
            response = JSONResponse(
                {"errors": [{"message": exc.reason, "extensions": {"code": "BAD_REQUEST"}}]},
                status_code=exc.status_code,
            )
        await response(scope, receive, send)

    async def get_context(self, request: Any, response: Any) -> Context:
        principal: Principal = request.scope[PRINCIPAL]
        scope = Scope(
            db=self.db,
            book=self.book,
            organization_id=principal.organization_id,
            clock=Clock(principal.timezone),
            actor=principal.actor,
        )
        context = Context(scope=scope, settings=self.settings, reader=Reader(self.db))
        request.scope[CONTEXT] = context  # so that the request's session is closed at the end
        return context


class Authenticated:
    """Bearer token first: no or bad token is a 401 and nothing runs."""

    def __init__(self, app: GraphQLApp) -> None:
        self.app = app

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if self._wants_ide(request):
            # The IDE page holds no data; its queries come back with the token it is given.
            await HTMLResponse(self.app.graphql_ide_html)(scope, receive, send)
            return
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        principal = None
        if kind.lower() == "bearer" and token.strip():
            principal = await authenticate(self.app.db, token.strip())
        if principal is None:
            response: Response = JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Authentication required: Authorization: Bearer <token>.",
                            "extensions": {"code": "UNAUTHENTICATED"},
                        }
                    ]
                },
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="cmgraph"'},
            )
            await response(scope, receive, send)
            return
        scope[PRINCIPAL] = principal
        try:
            await self.app(scope, receive, send)
        finally:
            context = scope.get(CONTEXT)
            if context is not None:
                await context.reader.close()

    def _wants_ide(self, request: Request) -> bool:
        return (
            self.app.settings.development
            and request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
        )


def create_app(
    settings: Settings | None = None, db: Database | None = None, book: RuleBook | None = None
) -> Starlette:
    settings = settings or Settings.from_env()
    db = db or Database.from_url(settings.database_url)
    book = book or RuleBook(build_plugin_manager(settings.plugins_dir, settings.disabled_plugins))
    graphql = GraphQLApp(db, book, settings)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        try:
            async with asyncio.timeout(2), db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means: not ready
            log.warning("readiness check failed: %s", type(exc).__name__)
            return PlainTextResponse("database unavailable", status_code=503)
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await db.dispose()

    return Starlette(
        routes=[
            Route("/graphql", Authenticated(graphql), methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
