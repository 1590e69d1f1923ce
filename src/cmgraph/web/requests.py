"""One structured log line per request, and the request id that ties it to audit events.

The line holds: request id, the caller's request id, method, path, status, duration,
organization, principal (actor), role, operation name, outcome and the ids of the internal
errors it met (`error_ids`, each also on its error's own line). Every other line logged
while the request is served carries its request id too (cmgraph.logs.RequestTag). Never the query's
variables nor its text, never a body: those carry names and birth dates.

The request id is always made here, so it is unique and can be trusted to find one request's
events. A caller's `X-Request-ID` (to trace a call across systems) is kept beside it, cut to
64 characters and with anything but letters, digits and `._:-` replaced by `_`: a caller
could otherwise give two requests one id, or write what it likes into the log."""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cmgraph.logs import RequestTag, bind_request, unbind_request
from cmgraph.observability import metrics, tracing
from cmgraph.services.access import Principal

log = logging.getLogger("cmgraph.request")

ENTRY = "cmgraph.request_log"
HEADER = "x-request-id"
MAX_CALLER_ID = 64  # the audit table's column
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._:-]")


def caller_request_id(given: str) -> str | None:
    """A caller's X-Request-ID as kept: at most 64 plain characters, or None when empty."""
    return _NOT_PLAIN.sub("_", given.strip()[:MAX_CALLER_ID]) or None


@dataclass
class RequestLog:
    request_id: str
    caller_request_id: str | None = None
    principal: Principal | None = None
    operation: str | None = None
    outcome: str | None = None
    # the operation as metrics label it (observability.metrics.operation_label)
    metric_operation: str = metrics.NO_OPERATION


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
        entry = RequestLog(uuid.uuid4().hex, caller_request_id(given))
        scope[ENTRY] = entry
        if tracing.on():
            await self._traced(scope, receive, send, entry)
            return
        await self._serve(scope, receive, send, entry)

    async def _traced(self, scope: Scope, receive: Receive, send: Send, entry: RequestLog) -> None:
        """The request in a span: method, route (a known path or `other`, never the path a
        caller made up), status and request id; continuing the caller's trace
        (`traceparent`) when it sends one."""
        from opentelemetry.propagate import extract

        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = scope.get("method", "")
        route = scope.get("path", "") if scope.get("path") in metrics.PATHS else "other"
        attributes = {
            "http.request.method": method,
            "http.route": route,
            "cmgraph.request_id": entry.request_id,
        }
        with tracing.span(f"{method} {route}", attributes, extract(headers)) as current:
            status = await self._serve(scope, receive, send, entry)
            if current is not None:
                current.set_attribute("http.response.status_code", status)
                current.set_attribute("graphql.operation.name", entry.metric_operation)
                current.set_attribute("cmgraph.outcome", str(entry.outcome or ""))

    async def _serve(self, scope: Scope, receive: Receive, send: Send, entry: RequestLog) -> int:
        tag = RequestTag(entry.request_id, entry.caller_request_id)
        bound = bind_request(tag)
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
            seconds = time.perf_counter() - started
            self._log(scope, entry, tag, status, seconds)
            unbind_request(bound)
            outcome = entry.outcome or ("ok" if status < 400 else "error")
            metrics.request(scope.get("path", ""), entry.metric_operation, outcome, status, seconds)
        return status

    @staticmethod
    def _log(scope: Scope, entry: RequestLog, tag: RequestTag, status: int, seconds: float) -> None:
        principal = entry.principal
        fields: dict[str, Any] = {
            "request_id": entry.request_id,
            "caller_request_id": entry.caller_request_id,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "organization": str(principal.organization_id) if principal else None,
            "principal": principal.actor if principal else None,
            "role": principal.role if principal else None,
            "operation": entry.operation,
            "outcome": entry.outcome or ("ok" if status < 400 else "error"),
            "error_ids": tag.error_ids or None,
        }
        log.info("request", extra=fields)
