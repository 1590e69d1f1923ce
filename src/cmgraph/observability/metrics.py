"""Prometheus metrics, on when CMGRAPH_METRICS=true.

`cmgraph serve --workers N` runs N processes: prometheus-client's multiprocess mode has each
write its samples to files in PROMETHEUS_MULTIPROC_DIR (serving.py makes that folder and
removes it), and a scrape answered by any worker, or by the separate metrics port, sums
them all. Without that variable (one process, the tests) the samples live in memory.

Labels take only bounded values: the operation is the name of a *valid* document's
operation (the guard saw it validate), at most MAX_OPERATION_NAMES distinct per process,
`anonymous` for an unnamed one and `none` for a request that ran no operation (refused,
unauthenticated, not GraphQL); never text a caller chose that the schema did not accept.

The recording functions below are what the rest of the code calls; while metrics are off
each is one check of a module global."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
    from sqlalchemy.ext.asyncio import AsyncEngine

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 200  # distinct operation names one process labels; then `other`
NO_OPERATION, ANONYMOUS, OTHER = "none", "anonymous", "other"
PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Metrics:
    """The process's metrics, made once (prometheus-client refuses a name twice)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        # In multiprocess mode the values go to files and a scrape reads the files; the
        # registry only names the metrics. Otherwise this registry is what is scraped.
        self.registry: CollectorRegistry = CollectorRegistry()
        r = self.registry
        self.requests: Counter = Counter(
            "cmgraph_requests",
            "HTTP requests by path, GraphQL operation name, outcome and status",
            ["path", "operation", "outcome", "status"],
            registry=r,
        )
        self.latency: Histogram = Histogram(
            "cmgraph_request_duration_seconds",
            "time to answer an HTTP request, by path and GraphQL operation name",
            ["path", "operation"],
            registry=r,
        )
        self.pool_in_use: Gauge = Gauge(
            "cmgraph_db_connections_in_use",
            "database connections checked out of the pool (all workers)",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pool_open: Gauge = Gauge(
            "cmgraph_db_connections_open",
            "database connections the pool holds open, in use or idle (all workers)",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.plugin_failures: Counter = Counter(
            "cmgraph_plugin_failures",
            "a payor plugin raised or answered the wrong type: the write failed closed",
            ["plugin", "hook"],
            registry=r,
        )
        self.refusals: Counter = Counter(
            "cmgraph_refusals",
            "writes refused with userErrors, by code (rule codes such as LEAD_TIME, "
            "and input codes)",
            ["code"],
            registry=r,
        )
        # Webhook deliveries: the dispatcher (services/dispatch.py) counts each attempt.
        self.webhook_deliveries: Counter = Counter(
            "cmgraph_webhook_deliveries",
            "webhook delivery attempts by outcome (delivered, failed, gave_up)",
            ["outcome"],
            registry=r,
        )


_on: _Metrics | None = None
_operation_names: set[str] = set()  # the names labelled so far in this process


def enable() -> None:
    """Turn metrics on in this process (again: nothing more to do)."""
    global _on
    if _on is None:
        _on = _Metrics()


def enabled() -> bool:
    return _on is not None


def operation_label(name: str | None, validated: bool) -> str:
    """The operation as metrics and the request's span name it (bounded, see above)."""
    if not validated:
        return NO_OPERATION
    if name is None:
        return ANONYMOUS
    names = _operation_names
    if name in names:
        return name
    if len(names) >= MAX_OPERATION_NAMES:
        return OTHER
    names.add(name)
    return name


def request(path: str, operation: str, outcome: str, status: int, seconds: float) -> None:
    if _on is None:
        return
    where = path if path in PATHS else "other"
    _on.requests.labels(where, operation, outcome, str(status)).inc()
    _on.latency.labels(where, operation).observe(seconds)


def refused(codes: Iterable[str]) -> None:
    if _on is None:
        return
    for code in codes:
        _on.refusals.labels(code).inc()


def plugin_failed(plugin: str, hook: str) -> None:
    if _on is not None:
        _on.plugin_failures.labels(plugin, hook).inc()


def webhook_delivery(outcome: str) -> None:
    """A dispatcher's attempt: `delivered`, `failed` (retried later) or `gave_up` (the
    delivery's last attempt failed)."""
    if _on is not None:
        _on.webhook_deliveries.labels(outcome).inc()


_LENT = "cmgraph.metrics.lent"  # in a connection record's info while the pool lends it


def watch_pool(engine: AsyncEngine) -> None:
    """Keep the pool gauges current from the pool's own events (each worker its own pool;
    the gauges sum the live workers). Counted event by event rather than read from
    pool.checkedout(): the pool fires `checkin` (and `close`) before it takes the
    connection back, so a count read then held one connection in use per idle worker."""
    if _on is None:
        return
    from sqlalchemy import event

    metrics, pool = _on, engine.sync_engine.pool
    if not hasattr(pool, "checkedout"):  # a pool that keeps no count (NullPool)
        return
    in_use = pool.checkedout()
    counts = {"in_use": in_use, "open": in_use + pool.checkedin()}  # type: ignore[attr-defined]
    gauges = {"in_use": metrics.pool_in_use, "open": metrics.pool_open}

    def moves(name: str, by: int) -> Any:
        def listener(*_: Any) -> None:
            counts[name] += by
            gauges[name].set(counts[name])

        return listener

    lent, returned = moves("in_use", 1), moves("in_use", -1)

    def checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        record.info[_LENT] = True
        lent()

    def checkin(_dbapi: Any, record: Any) -> None:
        # The pool also fires checkin for a connection it never lent (a reconnect or a
        # pre-ping that failed during checkout): counted, the gauge would sink for good.
        if record is not None and record.info.pop(_LENT, False):
            returned()

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    for pool_event, name, by in (
        ("connect", "open", 1),
        ("close", "open", -1),
        ("close_detached", "open", -1),
    ):
        event.listen(pool, pool_event, moves(name, by))
    for name, value in counts.items():
        gauges[name].set(value)


def exposition() -> bytes:
    """Every metric of every worker, in the Prometheus text format."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        return generate_latest(registry)
    assert _on is not None, "metrics are off"
    return generate_latest(_on.registry)


def serve_port(host: str, port: int) -> None:
    """Answer scrapes on a port of their own (a daemon thread of this process), with the
    samples of every worker."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
    start_http_server(port, addr=host, registry=registry)


def worker_exited(pid: int) -> None:
    """A worker stops: its live gauges (pool use) stop counting; its counters stay."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]  # untyped upstream
