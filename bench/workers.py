"""Workers: the main scenarios against `cmgraph serve --workers N` for each N of `--workers`
(a step of ./scripts/bench), on PostgreSQL only: several workers need it (README, "Running
at scale"), and SQLite's one writer would measure its lock rather than the workers.

Pinning. wrk runs pinned to the last core, as everywhere in the benchmark (bench/wrk.py).
The workers are pinned to the servers' cores (all but the last) when there are at least as
many of those as workers: one worker is then placed as in the main table, and its figures
compare with that table's. Where there are fewer (two workers on two cores), several
workers cannot share one core and still be several: they run on every core, and so share
the generator's core with it (PostgreSQL, never pinned, shares every core anyway); the
report says so beside them. Each run records the CPU the server used and the CPU of the
PostgreSQL backends serving it (from /proc), the machine's busy share and the load average
before it, so that a reader sees how much of the machine each configuration got, and req/s
per core the server got; after the runs, each worker's resident memory.

Writes (addCaseManager) come from bench/load.py, unpinned, as in the main table.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import run, scenarios, wrk
from bench.practice import Params

# the reads a practice lives on, and the write case managers make all day
SCENARIOS = ("caseload", "clinical", "rendering500", "addCaseManager")
ADDITIONS_PER_RUN = 50_000  # bodies offered to one addCaseManager run; each is sent once


def worker_counts(text_value: str) -> list[int]:
    """`--workers 1,2` -> [1, 2]; each at least 1, none twice, in the given order."""
    counts: list[int] = []
    for part in (p.strip() for p in text_value.split(",")):
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(f"worker counts are whole numbers >= 1: {part!r}")
        if int(part) in counts:
            raise argparse.ArgumentTypeError(f"{part} workers named twice")
        counts.append(int(part))
    if not counts:
        raise argparse.ArgumentTypeError("name at least one worker count, e.g. 1,2")
    return counts


def server(url: str, workers: int) -> run.Server:
    """cmgraph as the main table serves it, with `workers` worker processes, pinned to the
    servers' cores when they are enough for them (module docstring)."""
    served = run.cmgraph_server(url, f"postgres-{workers}w")
    served.argv += ["--workers", str(workers)]
    if _pinnable(workers):
        served.argv = wrk.pinned(served.argv, 0)
    return served


def _pinnable(workers: int) -> bool:
    split = wrk.cores()
    return split is not None and len(split[0]) >= workers


def placement(workers: int) -> str:
    """Where the server's processes run, for the report."""
    split = wrk.cores()
    if split is None:
        return "one core for everything"
    if _pinnable(workers):
        servers = ",".join(map(str, sorted(split[0])))
        return f"pinned to core{'s' if len(split[0]) > 1 else ''} {servers}"
    return "on every core (wrk's too)"


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def worker_pids(pid: int) -> list[int]:
    """The processes that serve requests: the server itself when it has no worker children
    (one worker), else its children started by multiprocessing's spawn (uvicorn's workers;
    not its resource tracker)."""
    children = [
        int(c)
        for path in Path(f"/proc/{pid}/task").glob("*/children")
        for c in path.read_text().split()
    ]
    spawned = [c for c in children if b"spawn_main" in _cmdline(c)]
    return spawned or [pid]


def backend_ticks(database: str) -> dict[int, int]:
    """CPU clock ticks of each PostgreSQL backend serving `database`, by pid, from /proc:
    the database's share of the machine during a run (PostgreSQL is never pinned)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        command = _cmdline(int(entry.name))
        if command.startswith(b"postgres: ") and f" {database} ".encode() in command:
            out[int(entry.name)] = run.cpu_ticks(int(entry.name))
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    """Resident memory now (VmRSS), or its peak since the process started (VmHWM)."""
    kb = run.proc_status(pid, field)
    return None if kb is None else round(kb / 1024, 1)


def measured(
    served: run.Server,
    name: str,
    token: str,
    data: scenarios.Data,
    concurrency: int,
    args: argparse.Namespace,
    added: int,
    database: str,
) -> dict[str, Any]:
    """One run of one scenario, with the CPU the server and the machine spent on it."""
    load = os.getloadavg()[0]
    cpu_before, (busy_before, total_before) = run.cpu_ticks(served.pid), machine_ticks()
    database_before = backend_ticks(database)
    if name == "addCaseManager":
        bodies = scenarios.add_case_manager(data, added, ADDITIONS_PER_RUN)
        one = run.drive(
            served,
            "/graphql",
            token,
            bodies,
            concurrency,
            args.seconds,
            args.warmup,
            unique=True,
            ok='"userErrors":[]',
        )
    else:
        one = run.drive(
            served,
            "/graphql",
            token,
            scenarios.bodies(name, data),
            concurrency,
            args.seconds,
            args.warmup,
        )
    busy_after, total_after = machine_ticks()
    elapsed_ticks = (total_after - total_before) / (os.cpu_count() or 1)  # one core's
    server_ticks = run.cpu_ticks(served.pid) - cpu_before
    database_ticks = sum(t - database_before.get(p, 0) for p, t in backend_ticks(database).items())
    run.settle(served)
    return {
        "scenario": name,
        "concurrency": concurrency,
        "load_1min_before": round(load, 2),
        # cores' worth of CPU over the run (warm-up included): 1.0 is one core all the time
        "server_cores": round(server_ticks / elapsed_ticks, 2) if elapsed_ticks else None,
        "database_cores": round(database_ticks / elapsed_ticks, 2) if elapsed_ticks else None,
        "machine_busy": round((busy_after - busy_before) / (total_after - total_before), 3)
        if total_after > total_before
        else None,
        **one,
    }


async def bench_workers(kind: str, args: argparse.Namespace) -> dict[str, Any] | None:
    if kind != "postgres":
        run.log(f"[{kind}] workers: several workers need PostgreSQL; measured there only")
        return None
    params = Params(clients=args.clients)
    url, org = await run.prepare(kind, params, args.postgres_url, args.rebuild)
    token = await run.new_token(url, params.slug)
    data = await run.load_data(url, org, params)
    wanted = [s for s in SCENARIOS if s in args.scenarios]
    database = make_url(url).database or ""
    result: dict[str, Any] = {
        "db": kind,
        "clients": params.clients,
        "cores": len(os.sched_getaffinity(0)),
        "generator": "wrk" if wrk.available() else "bench.load",
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "load_before": os.getloadavg(),
        "by_workers": {},
    }
    for workers in args.workers:
        await run.remove_additions(url, org)
        served = server(url, workers)
        entry: dict[str, Any] = {"placement": placement(workers), "runs": []}
        async with run.serving(served):
            for name in (s for s in wanted if s != "addCaseManager"):  # every path once
                for _ in range(workers * 2):  # each worker, most likely
                    await run.timed(
                        served.port, "/graphql", token, scenarios.bodies(name, data)[0], 1
                    )
            added = 0
            for concurrency in args.concurrency:
                for name in wanted:
                    run.log(f"[{kind}] {workers} worker(s): {name} at {concurrency}...")
                    one = measured(served, name, token, data, concurrency, args, added, database)
                    added += ADDITIONS_PER_RUN if name == "addCaseManager" else 0
                    entry["runs"].append(one)
            pids = worker_pids(served.pid)
            entry["rss_mb"] = [rss_mb(pid) for pid in pids]
            entry["rss_peak_mb"] = [rss_mb(pid, "VmHWM") for pid in pids]
        result["by_workers"][str(workers)] = entry
    await run.remove_additions(url, org)
    result["load_after"] = os.getloadavg()
    return result


def report_workers(result: dict[str, Any]) -> Iterator[str]:
    """One line per scenario and concurrency: each worker count's req/s, p50 and p99, the
    server's cores busy, and req/s against the first worker count's."""
    by_workers = result["by_workers"]
    counts = list(by_workers)
    first = counts[0]
    yield ""
    yield (
        f"== workers on PostgreSQL: {result['clients']:,} clients, {result['cores']} cores, "
        f"{result['generator']} pinned to the last core, {result['seconds']:g} s per run; "
        f"load average before {result['load_before'][0]:.2f}, after "
        f"{result['load_after'][0]:.2f}"
    )
    for count in counts:
        entry = by_workers[count]
        memory = ", ".join(
            f"{now} MB (peak {peak} MB)"
            for now, peak in zip(entry["rss_mb"], entry["rss_peak_mb"], strict=True)
        )
        yield f"{count} worker(s): {entry['placement']}; resident memory after the runs: {memory}"
    cell = f"{'req/s':>8} {'p50':>7} {'p99':>7} {'cores':>5} {'/core':>6} {'db':>5} {'busy':>4}"
    header = f"{'scenario':34} {'conc':>4}" + "".join(
        f" | {count + ' worker(s)':^{len(cell)}}" for count in counts
    )
    header += "".join(f" | {count}w/{first}w" for count in counts[1:])
    yield header
    yield f"{'':34} {'':>4}" + "".join(f" | {cell}" for _ in counts)
    yield "-" * len(header)
    keys = [(r["scenario"], r["concurrency"]) for r in by_workers[first]["runs"]]
    for name, concurrency in keys:
        runs = {
            count: next(
                r
                for r in by_workers[count]["runs"]
                if (r["scenario"], r["concurrency"]) == (name, concurrency)
            )
            for count in counts
        }
        line = f"{scenarios.DESCRIPTIONS[name]:34} {concurrency:>4}"
        for count in counts:
            r = runs[count]
            line += (
                f" | {r['rps']:>8.1f} {run.ms_text(r['p50_ms']):>7} {run.ms_text(r['p99_ms']):>7} "
                f"{_share(r.get('server_cores')):>5} {_per_core(r):>6} "
                f"{_share(r.get('database_cores')):>5} "
                f"{_percent(r.get('machine_busy')):>4}"
            )
        base = runs[first]["rps"]
        for count in counts[1:]:
            ratio = f"{runs[count]['rps'] / base:.2f}x" if base else "-"
            line += f" | {ratio:>{len(count) + len(first) + 3}}"
        failures = sum(r["failures"] for r in runs.values())
        yield line + (f"  FAILURES {failures}" if failures else "")
    yield (
        "(p50/p99 in ms; cores: the server's CPU over the run, 1.00 = one core busy all the "
        "time; /core: req/s per such core; db: the same of PostgreSQL's backends serving "
        "it; busy: the whole machine's, other work on it included)"
    )


def _per_core(r: dict[str, Any]) -> str:
    """req/s per core the server used: what a worker delivers where it has a core to
    itself, the figure to size workers and cores by."""
    cores = r.get("server_cores")
    return f"{r['rps'] / cores:.1f}" if cores else "-"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
