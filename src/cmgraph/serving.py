"""`cmgraph serve`: the app under uvicorn, in one process or in several worker processes.

Stopping (SIGTERM, or Ctrl-C) is graceful: the server stops listening at once, so a new
connection is refused (a load balancer tries another instance), requests in flight finish
within `graceful_seconds` (their answers say `Connection: close`), and the command then
exits with status 0. No new request starts once a worker stops, on any connection: uvicorn
closes the idle connections it knows of, but one accepted a moment after the stop began
would be served keep-alive for the whole grace period, so the workers close connections for
as long as they drain, and a request arriving after the stop is answered 503 (JSON,
`Connection: close`) without running. Requests still running a second before the graceful
timeout ends are cancelled here rather than by uvicorn, so that they too answer the JSON
503 (not uvicorn's plain-text 500) and give their Idempotency-Key back; their transactions
roll back.

Each worker builds its own app from the environment (`worker_app`): workers share nothing
but the database, so any worker serves any request.

With metrics on (CMGRAPH_METRICS), the workers write their samples to a folder of files
(prometheus-client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR) that this process makes
before they start and removes when they have stopped, so that a scrape sums every worker;
with CMGRAPH_METRICS_PORT this process answers the scrapes itself, on that port.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from types import FrameType

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.supervisors import Multiprocess, multiprocess

from cmgraph import logs
from cmgraph.api.errors import UNAVAILABLE
from cmgraph.app import create_app
from cmgraph.config import MetricsSettings
from cmgraph.observability import metrics

WORKER_APP = "cmgraph.serving:worker_app"
YOUNG_GENERATION_THRESHOLD = 5_000
CUT_MARGIN_SECONDS = 1.0
"""Requests still running this long before the graceful timeout ends are cut by us, so that
they answer (and release their key) before uvicorn cancels them without a word."""
STOPPING_MESSAGE = "The service is restarting. Try again shortly."
RETRY_AFTER_SECONDS = "1"


class _Stop:
    """This process's stop: when it began, and the requests running, each under a deadline
    that the stop moves to just before the graceful timeout ends."""

    def __init__(self) -> None:
        self.begun = False
        self.cut_at: float | None = None  # loop time
        self.running: set[asyncio.Timeout] = set()

    def begin(self, graceful_seconds: float) -> None:
        self.begun = True
        margin = min(CUT_MARGIN_SECONDS, graceful_seconds / 2)
        self.cut_at = asyncio.get_running_loop().time() + graceful_seconds - margin
        for deadline in self.running:
            deadline.reschedule(self.cut_at)


stop = _Stop()


def _answer_503(message: str) -> list[Message]:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": UNAVAILABLE}}]})
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"retry-after", RETRY_AFTER_SECONDS.encode()),
        (b"connection", b"close"),
        (b"content-length", str(len(body)).encode()),
    ]
    return [
        {"type": "http.response.start", "status": 503, "headers": headers},
        {"type": "http.response.body", "body": body.encode()},
    ]


class StopGuard:
    """The app's side of a graceful stop (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if stop.begun:  # nothing of it runs: another instance (or this one, restarted) will
            for message in _answer_503(STOPPING_MESSAGE):
                await send(message)
            return
        answering = False

        async def send_closing(message: Message) -> None:
            nonlocal answering
            if message["type"] == "http.response.start":
                answering = True
                if stop.begun:
                    headers = [*message.get("headers", []), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        deadline = asyncio.timeout(stop.cut_at)
        stop.running.add(deadline)
        try:
            async with deadline:
                await self.app(scope, receive, send_closing)
        except TimeoutError:
            if not deadline.expired() or answering:
                raise
            for message in _answer_503(STOPPING_MESSAGE):
                await send(message)
        finally:
            stop.running.discard(deadline)


def worker_app() -> ASGIApp:
    """The app of one worker process, configured from the environment like the command."""
    logs.configure()
    app = StopGuard(create_app())
    # What start-up built (the modules, the schema, the plugins: some 160,000 objects) lives
    # as long as the process: frozen, the collector no longer walks it in every full
    # collection, which held the event loop up to 90 ms (bench/lagprobe.py) under whatever
    # request happened to trigger it.
    gc.collect()
    gc.freeze()
    # A young generation of 5,000 objects rather than 700: a request's garbage mostly dies
    # by reference counting, so collecting it that often finds little; in a mix of caseload
    # pages, claim lines and compliance (in one process, alternating) the collector's CPU
    # fell from about 9 % to 4 % of the requests', its longest pause no longer.
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
    return app


class _Server(uvicorn.Server):
    """uvicorn's server, telling the app that it stops, and closing every connection that
    turns up while it drains (uvicorn closes only those open when the stop began)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        stop.begin(self.config.timeout_graceful_shutdown or 0)
        closing = asyncio.ensure_future(self._close_connections())
        try:
            await super().shutdown(sockets)
        finally:
            closing.cancel()

    async def _close_connections(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            for connection in list(self.server_state.connections):
                connection.shutdown()  # idle: closed; answering: closed after its answer


class _Process(multiprocess.Process):
    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = _Server(config=self.config)
        return self._server


class _Supervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, except that it closes its own copy of the
    listening socket before stopping the workers: otherwise the socket stays open while they
    drain, and new connections wait in a backlog that no worker reads instead of being
    refused."""

    def terminate_all(self) -> None:
        for sock in self.sockets:
            sock.close()
        super().terminate_all()


def _stopped_as_asked(sig: int, frame: FrameType | None) -> None:
    # uvicorn re-raises the stop signal once it has shut down gracefully; a stop that was
    # asked for and went well is a success, not a death by signal.
    sys.exit(0)


@contextlib.contextmanager
def metrics_files(settings: MetricsSettings, host: str) -> Iterator[None]:
    """The multiprocess folder for the workers' samples, set in the environment they
    inherit (before any of them imports prometheus-client), and the metrics port."""
    if not settings.enabled:
        yield
        return
    given = os.environ.get(metrics.MULTIPROC_ENV)
    folder = given or tempfile.mkdtemp(prefix="cmgraph-metrics-")
    os.environ[metrics.MULTIPROC_ENV] = folder
    try:
        if settings.port is not None:
            metrics.serve_port(host, settings.port)
        yield
    finally:
        if not given:  # a folder the operator gave is theirs to keep
            shutil.rmtree(folder, ignore_errors=True)
            os.environ.pop(metrics.MULTIPROC_ENV, None)


def serve(
    host: str,
    port: int,
    workers: int,
    graceful_seconds: int,
    metrics_settings: MetricsSettings | None = None,
) -> None:
    logs.configure()
    with metrics_files(metrics_settings or MetricsSettings(), host):
        _serve(host, port, workers, graceful_seconds)


# How long the supervisor waits for a worker to answer its health check before killing it.
# uvicorn's 5 s is less than a new worker may need to start on a busy machine (a fresh
# interpreter importing the app, before it can answer at all): at a load of 4 to 5 on two
# cores, two starts of three had a worker killed and replaced. A worker that hangs is still
# replaced, later.
WORKER_HEALTHCHECK_SECONDS = 30


def _serve(host: str, port: int, workers: int, graceful_seconds: int) -> None:
    config = uvicorn.Config(
        WORKER_APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        timeout_graceful_shutdown=graceful_seconds,
        log_level="info",
        log_config=None,
        access_log=False,  # it would print query strings; cmgraph logs each request itself
    )
    if workers > 1:
        # uvicorn builds its workers from this module global, and offers no other hook.
        multiprocess.Process = _Process  # type: ignore[misc]
        _Supervisor(config, sockets=[config.bind_socket()]).run()
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stopped_as_asked)
    server = _Server(config)
    server.run()
    if not server.started:
        sys.exit(1)
