"""The ASGI application: /graphql behind bearer tokens or JWTs, /healthz and /readyz, with a
request id and one structured log line per request, and CORS for configured origins only;
GraphiQL in development mode and the reference UI at /app when CMGRAPH_UI is on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from uuid import UUID

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from cmgraph.api.context import Context
from cmgraph.api.schema import build_schema
from cmgraph.config import Settings
from cmgraph.db.engine import Database
from cmgraph.facts import Clock
from cmgraph.observability import metrics, tracing
from cmgraph.plugins import RuleBook, build_plugin_manager
from cmgraph.services import findings
from cmgraph.services.access import CLINICIAN, Principal
from cmgraph.services.dispatch import Dispatcher
from cmgraph.services.idempotency import Claim, IdempotencyStore
from cmgraph.services.reader import Reader
from cmgraph.services.scope import TenantScope
from cmgraph.services.sealing import Sealer
from cmgraph.services.signin import Verifier
from cmgraph.web.auth import Authenticator
from cmgraph.web.graphql_http import GraphQLEndpoint
from cmgraph.web.metrics import metrics_endpoint
from cmgraph.web.pages import graphiql_routes, ui_routes
from cmgraph.web.requests import RequestLogMiddleware, request_log

log = logging.getLogger("cmgraph.app")


NOBODY = UUID(int=0)  # no provider has this id


def _caseload_of(principal: Principal) -> UUID | None:
    """A clinician sees their provider's caseload; one bound to no provider sees nothing
    (fail closed), never everything."""
    if principal.role != CLINICIAN:
        return None
    return principal.provider_id or NOBODY


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    book: RuleBook | None = None,
    verifier: Verifier | None = None,
    idempotency: IdempotencyStore | None = None,
) -> Starlette:
    settings = settings or Settings.from_env()
    db = db or Database.from_settings(
        settings.database_url, settings.db_pool_size, settings.db_pool_overflow
    )
    book = book or RuleBook(build_plugin_manager(settings.plugins_dir, settings.disabled_plugins))
    rule_book = book
    if settings.metrics.enabled:
        metrics.enable()
        metrics.watch_pool(db.engine)
    tracing.configure()  # on only when the OTEL_* variables ask
    tracing.watch_statements(db.engine)

    async def make_context(request: Request, principal: Principal, claim: Claim | None) -> Context:
        entry = request_log(request.scope)
        scope = TenantScope(
            db=db,
            book=rule_book,
            organization_id=principal.organization_id,
            clock=Clock(principal.timezone),
            actor=principal.actor,
            role=principal.role,
            actor_name=principal.actor_name,
            request_id=entry.request_id,
            caller_request_id=entry.caller_request_id,
            caseload_of=_caseload_of(principal),
            idempotency=claim,
        )
        return Context(scope=scope, settings=settings, reader=Reader(db), principal=principal)

    graphql = GraphQLEndpoint(
        build_schema(settings),
        settings,
        Authenticator(db, settings.jwt, verifier),
        make_context,
        idempotency or IdempotencyStore(db),
    )

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        try:
            async with asyncio.timeout(2), db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means: not ready
            log.warning("readiness check failed", extra={"error_type": type(exc).__name__})
            return PlainTextResponse("database unavailable", status_code=503)
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Stored findings of other rules are judged again in the background; until then
        # answers are judged live (services.findings), so serving starts at once.
        rebuild = (
            asyncio.create_task(findings.rebuild_outdated(db, book))
            if settings.rebuild_findings_on_start
            else None
        )
        # `cmgraph serve` dispatches webhooks in every worker (services.dispatch); a stop
        # lets the attempts in flight finish and releases what this process holds.
        dispatcher = None
        if settings.webhooks.dispatch:
            dispatcher = Dispatcher(db, settings.webhooks, Sealer.from_settings(settings))
            dispatching = asyncio.ensure_future(dispatcher.run())
        yield
        if dispatcher is not None:
            dispatcher.stop()
            await dispatching
        if rebuild is not None:
            rebuild.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await rebuild
        await findings.stop_draining()  # the stale marks stay; the next start drains them
        await db.dispose()
        metrics.worker_exited(os.getpid())

    middleware = [Middleware(RequestLogMiddleware)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["POST"],
                allow_headers=["authorization", "content-type", "accept", "x-request-id"],
                expose_headers=["x-request-id"],
                max_age=600,
            )
        )
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    if settings.development:  # GraphiQL's page is served in development mode only
        routes += graphiql_routes()
    if settings.ui:
        routes += ui_routes()
    if settings.metrics.token:  # else off, or on a port of its own (serving.py)
        routes.append(Route("/metrics", metrics_endpoint(settings.metrics.token)))
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
    )
