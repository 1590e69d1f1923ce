"""Load from wrk (Debian's `wrk` package), a native generator, with bench/wrk.lua: POSTs
request bodies in turn with a bearer token, counts failures (not 2xx, or GraphQL errors in
the body) and reports req/s and latency percentiles from wrk's own histogram. On a machine
of two cores or more it runs pinned to the last core (`taskset`), the servers to the first
(`pin`), so that the generator never takes the server's CPU; bench/load.py, Python on the
same cores, capped the fastest servers and flattered the slow ones.

    apt-get install -y wrk      # if `wrk` is missing; the runner then falls back to bench/load.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
INSTALL = "apt-get install -y wrk"
TIMEOUT_S = 60  # a request slower than this counts as a timeout, not a latency


def available() -> bool:
    return shutil.which("wrk") is not None


def cores() -> tuple[set[int], set[int]] | None:
    """(the servers' cores, the generator's core), or None on a single core."""
    mine = sorted(os.sched_getaffinity(0))
    if len(mine) < 2 or shutil.which("taskset") is None:
        return None
    return set(mine[:-1]), {mine[-1]}


def pinned(argv: list[str], which: int) -> list[str]:
    """argv run on the servers' cores (which=0) or the generator's (which=1)."""
    split = cores()
    if split is None:
        return argv
    return ["taskset", "-c", ",".join(map(str, sorted(split[which]))), *argv]


def run(
    port: int,
    path: str,
    token: str,
    bodies: list[bytes],
    connections: int,
    seconds: float,
    bodies_file: Path,
) -> dict[str, Any]:
    """One wrk run: requests, rps, p50/p90/p99 in ms, failures (bad status or body, socket
    errors and timeouts) and a sample failure; the shape bench/load.py reports."""
    bodies_file.write_bytes(b"\n".join(b.replace(b"\n", b" ") for b in bodies) + b"\n")
    argv = pinned(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={TIMEOUT_S}s",
            "--latency",
            "-s",
            str(SCRIPT),
            f"http://127.0.0.1:{port}{path}",
            "--",
            str(bodies_file),
            token,
        ],
        1,
    )
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    lines = done.stdout.splitlines()
    found = [line.removeprefix("BENCH_WRK ") for line in lines if line.startswith("BENCH_WRK ")]
    if done.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    raw = json.loads(found[0])
    prefix = "BENCH_WRK_SAMPLE "
    sample = next((line.removeprefix(prefix) for line in lines if line.startswith(prefix)), None)
    measured = raw["duration_us"] / 1e6
    return {
        "generator": "wrk",
        "requests": raw["requests"],
        "seconds": round(measured, 3),
        "rps": round(raw["requests"] / measured, 2) if measured else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": round(raw["mean_us"] / 1000, 3),
        "failures": raw["failures"] + raw["socket_errors"] + raw["timeouts"],
        "timeouts": raw["timeouts"],
        "sample_failure": sample,
    }
