"""One structured log line per request, and the request id that ties it to audit events.

The line holds: request id, method, path, status, duration, organization, principal (actor),
role, operation name and outcome. Never the query's variables nor its text, never a body:
those carry names and birth dates."""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cmgraph.services.access import Principal

log = logging.getLogger("cmgraph.request")

ENTRY = "cmgraph.request_log"
HEADER = "x-request-id"
# A caller may give its own request id (to trace a call across systems) if it is plain.
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass
class RequestLog:
    request_id: str
    principal: Principal | None = None
    operation: str | None = None
    outcome: str | None = None


def request_log(scope: Scope) -> RequestLog:
    entry = scope.get(ENTRY)
    if entry is None:  # called outside the middleware (not in the app as built)
        entry = scope[ENTRY] = RequestLog(uuid.uuid4().hex)
    return entry


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(HEADER.encode(), b"").decode("latin-1")
        entry = RequestLog(given if _GIVEN_ID.match(given) else uuid.uuid4().hex)
        scope[ENTRY] = entry
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((HEADER.encode(), entry.request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._log(scope, entry, status, time.perf_counter() - started)

    @staticmethod
    def _log(scope: Scope, entry: RequestLog, status: int, seconds: float) -> None:
        principal = entry.principal
        fields: dict[str, Any] = {
            "request_id": entry.request_id,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "organization": str(principal.organization_id) if principal else None,
            "principal": principal.actor if principal else None,
            "role": principal.role if principal else None,
            "operation": entry.operation,
            "outcome": entry.outcome or ("ok" if status < 400 else "error"),
        }
        log.info("request", extra=fields)
