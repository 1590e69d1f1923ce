"""What the peers share: the token check in front of a GraphQL app, and serving one."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from uuid import UUID

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.floor import bearer, token_valid, unauthorized
from cmgraph.db.engine import create_engine
from cmgraph.services.tokens import organization_of


class TokenCheck:
    """Refuses a request whose bearer token is unknown, revoked or expired (one statement,
    as bench/floor.py); otherwise passes it on with its organization in
    ``scope["state"]["organization"]`` (Starlette's ``request.state.organization``)."""

    def __init__(self, app: ASGIApp, engine: AsyncEngine) -> None:
        self.app, self.engine = app, engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        token = bearer(header.decode("latin-1"))
        org = organization_of(token)
        if org is not None:
            async with self.engine.connect() as connection:
                if not await token_valid(connection, org, token):
                    org = None
        if org is None:
            await unauthorized()(scope, receive, send)
            return
        scope.setdefault("state", {})["organization"] = org
        await self.app(scope, receive, send)


def serve(description: str, create: Callable[[AsyncEngine, UUID | None], ASGIApp]) -> None:
    """`python -m bench.peers.<name> --url URL --port PORT [--org UUID]`: the app on
    loopback, one uvicorn worker, no access log (as bench/floor.py)."""
    import uvicorn

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--org", type=UUID, help="the organization (the strict floor's)")
    args = parser.parse_args()
    app = create(create_engine(args.url), args.org)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


def data_of(answer: bytes) -> bytes:
    """An answer's `data` re-encoded (orjson keeps key order): equal bytes mean the same
    values, keys in the same order, whatever each stack's whitespace and escapes. An answer
    with errors or without data has none."""
    parsed = orjson.loads(answer)
    if not isinstance(parsed, dict) or parsed.get("errors") or parsed.get("data") is None:
        raise ValueError(f"no data: {answer[:300]!r}")
    return orjson.dumps(parsed["data"])
