"""`cmgraph serve` as operators run it: a real process (and its workers) on a free loopback
port, for the tests that need real sockets, several processes or signals."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
from cryptography.fernet import Fernet

STARTUP_SECONDS = 60.0  # generous: workers import the whole app on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return cast("int", probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float) -> int:
        """SIGTERM, as an orchestrator stops a service; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)


def _wait_until_ready(server: Server, workers: int) -> None:
    """Ready: /readyz answers 200 and every worker has started its application."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"cmgraph serve exited:\n{server.log_text()}")
        started = server.log_text().count("Application startup complete")
        with contextlib.suppress(httpx.HTTPError):
            if started >= workers and httpx.get(f"{server.url}/readyz", timeout=2).is_success:
                return
        time.sleep(0.2)
    raise AssertionError(f"cmgraph serve not ready in {STARTUP_SECONDS} s:\n{server.log_text()}")


@contextlib.contextmanager
def serving(
    database_url: str,
    tmp_path: Path,
    workers: int = 1,
    graceful_seconds: int = 30,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """A running `cmgraph serve` against database_url (with `env` added to the
    environment); killed afterwards if still running. It dispatches webhooks, as the
    command does by default (a key of its own, receivers on loopback allowed)."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    extra = env or {}
    env = {
        **os.environ,
        "CMGRAPH_DATABASE_URL": database_url,
        "CMGRAPH_PLUGINS_DIR": str(tmp_path / "no-plugins"),
        "CMGRAPH_SECRET_KEY": Fernet.generate_key().decode(),
        "CMGRAPH_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        **extra,
    }
    env.pop("CMGRAPH_DISABLE_PLUGINS", None)
    command = [sys.executable, "-m", "cmgraph.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    command += ["--graceful-timeout", str(graceful_seconds)]
    with log.open("wb") as output:
        # Its own process group, so that cleaning up reaches the workers too.
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, port, log)
    try:
        _wait_until_ready(server, workers)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group is gone: all stopped
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
