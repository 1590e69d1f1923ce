"""`cmgraph serve`: the app under uvicorn, in one process or in several worker processes.

Stopping (SIGTERM, or Ctrl-C) is graceful: the server stops listening at once, so a new
connection is refused (a load balancer tries another instance), requests in flight finish
within `graceful_seconds`, and the command then exits with status 0. Requests still running
after that are cancelled; their transactions roll back.

Each worker builds its own app from the environment (`worker_app`): workers share nothing
but the database, so any worker serves any request.

With metrics on (CMGRAPH_METRICS), the workers write their samples to a folder of files
(prometheus-client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR) that this process makes
before they start and removes when they have stopped, so that a scrape sums every worker;
with CMGRAPH_METRICS_PORT this process answers the scrapes itself, on that port.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from types import FrameType

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from cmgraph import logs
from cmgraph.app import create_app
from cmgraph.config import MetricsSettings
from cmgraph.observability import metrics

WORKER_APP = "cmgraph.serving:worker_app"


def worker_app() -> Starlette:
    """The app of one worker process, configured from the environment like the command."""
    logs.configure()
    return create_app()


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


def _serve(host: str, port: int, workers: int, graceful_seconds: int) -> None:
    config = uvicorn.Config(
        WORKER_APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_graceful_shutdown=graceful_seconds,
        log_level="info",
        log_config=None,
        access_log=False,  # it would print query strings; cmgraph logs each request itself
    )
    if workers > 1:
        _Supervisor(config, sockets=[config.bind_socket()]).run()
        return
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _stopped_as_asked)
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        sys.exit(1)
