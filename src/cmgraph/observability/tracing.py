"""OpenTelemetry traces, off unless the standard OTEL_* variables ask for them.

On when OTEL_TRACES_EXPORTER names an exporter (`otlp`, `console`) or an OTLP endpoint is
set (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and
OTEL_SDK_DISABLED is not true. Everything else (service name, resource attributes, sampler,
the exporter's endpoint, headers, timeout) the SDK and the exporter read from their own
OTEL_* variables. The OTLP exporter is imported only when it is the one configured.

Spans: the HTTP request (web.requests), the GraphQL operation with its name, never its text
(api.operation_span), each use case (services.transaction, services.reader), each SQL
statement with its text and never its parameters (below), each plugin hook (plugins.py).
No span carries a variable's value, a name, a date of birth or a token; an error is
recorded as its type only (an exception's message may quote data).

While tracing is off, `on()` is the one check each of those places makes."""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer
    from sqlalchemy.ext.asyncio import AsyncEngine

TRACER_NAME = "cmgraph"
DEFAULT_SERVICE_NAME = "cmgraph"
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_EXPORTERS = {"otlp", "console"}

_tracer: Tracer | None = None
_watched: weakref.WeakSet[Any] = weakref.WeakSet()  # engines whose statements get spans


class TracingConfigError(ValueError):
    """An OTEL_* variable asks for what cmgraph cannot do; the message is one line."""


def on() -> bool:
    return _tracer is not None


def wanted(env: Mapping[str, str]) -> bool:
    """Whether the environment asks for traces."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    if exporter:
        unknown = {e.strip() for e in exporter.split(",")} - _EXPORTERS
        if unknown:
            raise TracingConfigError(
                f"OTEL_TRACES_EXPORTER takes otlp, console or none, got {exporter!r}"
            )
        return True
    return any(env.get(name, "").strip() for name in _ENDPOINTS)


def configure(env: Mapping[str, str] | None = None) -> None:
    """Turn traces on in this process when the environment asks (once: again is nothing)."""
    env = os.environ if env is None else env
    if _tracer is not None or not wanted(env):
        return
    from opentelemetry.sdk.environment_variables import OTEL_SERVICE_NAME
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    # Resource.create reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; the fallback
    # service name is ours rather than the SDK's "unknown_service".
    fallback = {} if env.get(OTEL_SERVICE_NAME) else {"service.name": DEFAULT_SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(fallback))  # sampler: OTEL_TRACES_SAMPLER
    exporters = {e.strip() for e in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",")}
    if "otlp" in exporters:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if "console" in exporters:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    use(provider)


def use(provider: TracerProvider | None) -> None:
    """Trace into `provider` from now on (None: off). The tests give one that keeps spans
    in memory."""
    global _tracer
    _tracer = provider.get_tracer(TRACER_NAME) if provider is not None else None


def tracer() -> Tracer:
    assert _tracer is not None, "tracing is off"
    return _tracer


@contextlib.contextmanager
def span(
    name: str, attributes: Mapping[str, Any] | None = None, parent: Any = None
) -> Iterator[Span | None]:
    """A span around the block while tracing is on; nothing otherwise. An exception leaving
    the block marks the span as failed with the exception's type, never its message.
    `parent`: an OpenTelemetry context (a caller's traceparent) instead of the current one."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(
        name,
        context=parent,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as exc:
            failed(current, exc)
            raise


def failed(current: Span, exc: BaseException) -> None:
    from opentelemetry.trace import Status, StatusCode

    current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    current.set_attribute("error.type", type(exc).__name__)


def use_case_name(function: Any) -> str:
    """`module.function` of the service function a use case closure was made in."""
    module = getattr(function, "__module__", "") or ""
    qualname = getattr(function, "__qualname__", type(function).__name__)
    return f"{module.rsplit('.', 1)[-1]}.{qualname.split('.<locals>', 1)[0]}"


def watch_statements(engine: AsyncEngine) -> None:
    """A span per SQL statement: its text (parameters are bound, so the text holds no
    value) and the database kind; never the parameters. Hand-written rather than
    opentelemetry-instrumentation-sqlalchemy, which puts the driver's error message on a
    failed statement's span (asyncpg's DataError quotes the offending argument's value), and
    adds three dependencies for these thirty lines."""
    if _tracer is None or engine.sync_engine in _watched:
        return
    from opentelemetry import trace
    from sqlalchemy import event

    system = engine.dialect.name
    sync_engine = engine.sync_engine
    _watched.add(sync_engine)

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _start(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if _tracer is None:  # turned off since (the tests turn it on and off)
            return
        words = statement.split(None, 1)
        started = _tracer.start_span(
            words[0].upper() if words else "SQL",
            kind=trace.SpanKind.CLIENT,
            attributes={"db.system.name": system, "db.query.text": statement},
        )
        context._cmgraph_span = started

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _end(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        started = getattr(context, "_cmgraph_span", None)
        if started is not None:
            started.end()

    @event.listens_for(sync_engine, "handle_error")
    def _error(exception_context: Any) -> None:
        context = exception_context.execution_context
        started = getattr(context, "_cmgraph_span", None) if context is not None else None
        if started is not None:
            failed(started, exception_context.original_exception)
            started.end()
