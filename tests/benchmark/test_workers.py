"""The benchmark's workers step (bench/workers.py, `./scripts/bench --workers 1,2`): what it
serves, how it is asked for, and the shape of what it reports. How fast the workers are is
the benchmark's to measure, not the suite's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench import run, workers, wrk
from cmgraph.db.engine import Database

URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/cmgraph_bench_2000"


def test_the_option_names_worker_counts_in_order() -> None:
    assert run.parser().parse_args(["--workers", "2, 1"]).workers == [2, 1]
    assert run.parser().parse_args([]).workers is None


@pytest.mark.parametrize("given", ["0", "1,1", "two", ",", "-1"])
def test_the_option_refuses_what_is_not_a_list_of_counts(
    given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run.parser().parse_args(["--workers", given])
    assert "--workers" in capsys.readouterr().err


def test_on_two_cores_one_worker_is_pinned_and_two_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One worker is measured as the main table measures the server; several cannot share
    one core and still be several, so they get every core (and the report says so)."""
    monkeypatch.setattr(wrk, "cores", lambda: ({0}, {1}))
    one, two = workers.server(URL, 1).argv, workers.server(URL, 2).argv

    assert one[:3] == ["taskset", "-c", "0"]
    assert one[one.index("--workers") + 1] == "1"
    assert "taskset" not in two
    assert two[two.index("--workers") + 1] == "2"
    assert "--no-dispatch" in two
    assert workers.placement(2) == "on every core (wrk's too)"


def test_several_workers_are_pinned_where_the_servers_have_a_core_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wrk, "cores", lambda: ({0, 1, 2}, {3}))

    assert workers.server(URL, 3).argv[:3] == ["taskset", "-c", "0,1,2"]
    assert workers.placement(3) == "pinned to cores 0,1,2"
    assert "taskset" not in workers.server(URL, 4).argv


def test_the_workers_of_a_server_are_its_spawned_children() -> None:
    """uvicorn starts its workers with multiprocessing's spawn; their memory is what the
    report gives per worker, and a server without such children is its own worker."""
    script = (
        "import multiprocessing as mp, time\n"
        "p = mp.get_context('spawn').Process(target=time.sleep, args=(30,))\n"
        "p.start(); print(p.pid, flush=True); p.join()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        _until_executed(parent.pid)
        assert workers.worker_pids(parent.pid) == [child]
        assert workers.worker_pids(child) == [child]
        now = workers.rss_mb(child) or 0  # the peak is read after: it is at least this
        assert 0 < now <= (workers.rss_mb(child, "VmHWM") or 0)
    finally:
        os.kill(child, signal.SIGKILL)
        parent.kill()
        parent.wait()


async def test_the_database_share_is_its_backends(database_url: str, db: Database) -> None:
    """The CPU a run's PostgreSQL backends spent is read from their processes: those serving
    the benchmark's database, and only those."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's backends")
    name = make_url(database_url).database or ""
    async with db.engine.connect() as connection:
        mine = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()

        assert mine in workers.backend_ticks(name)
        assert mine not in workers.backend_ticks(name + "_not_this_one")


def _until_executed(pid: int) -> None:
    """Until each child of pid runs its own program: one that is still inside exec() has no
    command line yet (a server's workers have long had theirs when the report reads them)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = [
            c for p in Path(f"/proc/{pid}/task").glob("*/children") for c in p.read_text().split()
        ]
        if children and all(Path(f"/proc/{c}/cmdline").read_bytes() for c in children):
            return
        time.sleep(0.01)
    raise AssertionError(f"the children of {pid} did not start")


def _run(name: str, concurrency: int, rps: float, failures: int = 0) -> dict[str, Any]:
    return {
        "scenario": name,
        "concurrency": concurrency,
        "rps": rps,
        "p50_ms": 10.0,
        "p99_ms": 40.0,
        "server_cores": 0.97,
        "database_cores": 0.45,
        "machine_busy": 0.991,
        "failures": failures,
    }


def test_the_report_gives_each_count_side_by_side_with_its_gain() -> None:
    result = {
        "clients": 2000,
        "cores": 2,
        "generator": "wrk",
        "seconds": 10.0,
        "load_before": (1.5, 1.0, 0.5),
        "load_after": (2.5, 1.0, 0.5),
        "by_workers": {
            "1": {
                "placement": "pinned to core 0",
                "rss_mb": [150.0],
                "rss_peak_mb": [190.0],
                "runs": [_run("caseload", 8, 40.0), _run("clinical", 32, 200.0)],
            },
            "2": {
                "placement": "on every core (wrk's too)",
                "rss_mb": [140.0, 141.5],
                "rss_peak_mb": [160.0, 171.5],
                "runs": [_run("caseload", 8, 70.0), _run("clinical", 32, 300.0, failures=3)],
            },
        },
    }
    lines = list(workers.report_workers(result))
    text = "\n".join(lines)
    caseload = next(line for line in lines if line.startswith("caseload page"))
    clinical = next(line for line in lines if line.startswith("Clinical tab"))

    assert "load average before 1.50, after 2.50" in text
    assert "2 worker(s): on every core (wrk's too); resident memory after the runs: " in text
    assert "140.0 MB (peak 160.0 MB), 141.5 MB (peak 171.5 MB)" in text
    assert "1 worker(s)" in lines[4] and "2w/1w" in lines[4]
    # scenario and connections | 1 worker | 2 workers | 2 workers' req/s against 1's
    assert [cell.split() for cell in caseload.split("|")] == [
        ["caseload", "page", "(50", "clients)", "8"],
        ["40.0", "10.0", "40.0", "0.97", "41.2", "0.45", "99%"],
        ["70.0", "10.0", "40.0", "0.97", "72.2", "0.45", "99%"],
        ["1.75x"],
    ]
    assert clinical.split("|")[0].split()[-1] == "32"
    assert clinical.split("|")[3].split() == ["1.50x", "FAILURES", "3"]


def test_the_growth_report_gives_the_workers_memory_by_size() -> None:
    row = {name: 1.0 for name in ("caseload", "clinical", "rendering500", "claims")}
    row |= {"compliance": 1.0, "compliance_window": 1.0, "appointments": 10}
    table = {
        "500": row | {"rss_mb": 120.5, "rss_peak_mb": 130.0},
        "8000": row | {"rss_mb": 180.0, "rss_peak_mb": 250.5},
    }
    lines = list(run.report_growth("postgres", table))

    assert lines[-2].startswith("worker resident memory after, MB")
    assert lines[-2].split()[-2:] == ["120.5", "180.0"]
    assert lines[-1].startswith("worker resident memory peak, MB")
    assert lines[-1].split()[-2:] == ["130.0", "250.5"]
