"""`cmgraph serve --workers N` on a busy machine: a worker that needs longer than uvicorn's
default 5 s health check to start is waited for, not killed and replaced over and over.

A busy machine is simulated deterministically: a `sitecustomize` on the workers' path
sleeps in every spawned worker (`--multiprocessing-fork` in its argv) before it can answer
the supervisor's health check, longer than uvicorn's default timeout.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from served import serving

from cmgraph.db.engine import Database

SLOW_START_SECONDS = 7  # more than uvicorn's default health check (5 s)

SITECUSTOMIZE = f"""
import sys, time
if "--multiprocessing-fork" in sys.argv:
    time.sleep({SLOW_START_SECONDS})
"""


def test_slow_starting_workers_are_waited_for(
    database_url: str, tmp_path: Path, db: Database
) -> None:
    slow = tmp_path / "slow-start"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.pathsep.join(p for p in (str(slow), os.environ.get("PYTHONPATH", "")) if p)

    with serving(database_url, tmp_path, workers=2, env={"PYTHONPATH": path}) as server:
        assert httpx.get(f"{server.url}/healthz", timeout=5).is_success
        log = server.log_text()

    assert log.count("Application startup complete") == 2, log
    assert "died" not in log, log
