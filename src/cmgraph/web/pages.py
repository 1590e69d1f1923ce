"""The browser pages: the reference UI at /app and GraphiQL on GET /graphql (development).

Both are static files shipped in the package (no build step, as Datasette ships its
static files), so nothing loads from a CDN and they work without the internet. Every answer
carries a Content-Security-Policy without 'unsafe-inline': scripts and styles come from
files of this origin only, and pages talk to /graphql only."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from functools import cache
from pathlib import Path
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

WEB = Path(__file__).parent
UI_DIR = WEB / "ui"
GRAPHIQL_DIR = WEB / "graphiql"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",  # GraphiQL's stylesheet inlines its fonts
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
# The pages hold no data (that comes from /graphql with the token), but they change with
# each release: revalidate rather than serve a stale script next to a new schema.
PAGE_HEADERS = {**SECURITY_HEADERS, "cache-control": "no-cache"}


class _Secured:
    """Adds the security headers to every answer of the wrapped app (static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_secured(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_secured)


def _static(directory: Path) -> ASGIApp:
    return _Secured(StaticFiles(directory=directory))


async def _ui_index(_: Request) -> Response:
    return HTMLResponse((UI_DIR / "index.html").read_text(), headers=PAGE_HEADERS)


def ui_routes() -> list[BaseRoute]:
    """/app: the page; /app/static/...: its scripts, styles and GraphQL documents."""
    return [
        Route("/app", _ui_index, methods=["GET", "HEAD"]),
        Route("/app/", _ui_index, methods=["GET", "HEAD"]),
        Mount("/app/static", app=_static(UI_DIR)),
    ]


def graphiql_routes() -> list[BaseRoute]:
    """GraphiQL's vendored assets and start-up script (development mode only)."""
    return [Mount("/graphiql", app=_static(GRAPHIQL_DIR))]


@cache
def _examples() -> list[dict[str, str]]:
    """The README's operations, one tab each: examples/NN-name.graphql (+ .json variables)."""
    tabs = []
    for document in sorted((GRAPHIQL_DIR / "examples").glob("*.graphql")):
        variables = document.with_suffix(".json")
        tabs.append(
            {
                "query": document.read_text(),
                "variables": variables.read_text() if variables.exists() else "",
            }
        )
    return tabs


@cache
def _graphiql_html() -> str:
    # A JSON data block is not executed, so the CSP allows it; "</" is escaped so that no
    # example can close the element.
    examples = json.dumps(_examples()).replace("</", "<\\/")
    return (GRAPHIQL_DIR / "page.html").read_text().replace("__EXAMPLES__", examples)


def graphiql_response() -> Response:
    """The GraphiQL page, from the package's assets only."""
    return HTMLResponse(_graphiql_html(), headers=PAGE_HEADERS)
