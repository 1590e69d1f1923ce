"""`python -m bench.peers.cpu`: the one-client page's server CPU per answered request, for
cmgraph as served from one or more checkouts and for the graphql-core peer, under wrk.

Requests/s on two shared cores move by 10-15 % between runs; the CPU a server process
spent per answered request (utime + stime from /proc/<pid>/stat, all its threads: SQLite's
driver threads too) moves much less, and is what a change of the code changes. Each stack
is served in a process of its own, pinned as bench/peers/compare.py pins them; the runs
alternate stack by stack (the order reversed every other pair), and the report gives each
stack's median and, against the first stack, the median of the pairs' ratios. On
PostgreSQL it also counts the connections opened during each run (pg_stat_database's
`sessions`): a pool that closes and reopens connections costs the worker about 2 ms each.

    python -m bench.peers.cpu --db postgres --stack before=/path/to/old/checkout \\
        --stack after=. --stack graphql-core --pairs 5 --seconds 5

A stack is `graphql-core`, or NAME=CHECKOUT for cmgraph as `cmgraph serve` runs it from
that checkout's src/ (NAME@VAR=VALUE,...=CHECKOUT sets environment variables for it, e.g.
`pool15@CMGRAPH_DB_POOL_SIZE=15,CMGRAPH_DB_POOL_OVERFLOW=0=.`). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import run, scenarios, wrk
from bench.practice import Params
from cmgraph.db.engine import create_engine

TICKS = os.sysconf("SC_CLK_TCK")
PEER = "graphql-core"


def cpu_seconds(pid: int) -> float:
    """The process's CPU so far, all its threads (utime + stime)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Stack:
    name: str
    checkout: Path | None  # None: the graphql-core peer, from this checkout
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, given: str) -> Stack:
        if given == PEER:
            return cls(PEER, None)
        name, sep, checkout = given.rpartition("=")
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"{given!r}: NAME=CHECKOUT or {PEER}")
        name, _, settings = name.partition("@")
        env = dict(kv.split("=", 1) for kv in settings.split(",") if kv)
        return cls(name, Path(checkout).resolve(), env)

    def server(self, url: str) -> run.Server:
        env = run.server_env(url) | self.env
        root = self.checkout or run.ROOT
        env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(root)])
        if self.checkout is None:
            argv = [sys.executable, "-m", "bench.peers.graphql_core_app"]
            argv += ["--url", url, "--port", "{port}"]
            server = run.Server(f"cpu-{self.name}", argv, env, "/healthz")
        else:
            argv = [str(run.BIN / "cmgraph"), "serve", "--no-dispatch", "--host", "127.0.0.1"]
            server = run.Server(f"cpu-{self.name}", [*argv, "--port", "{port}"], env, "/readyz")
        server.argv = wrk.pinned(server.argv, 0)
        return server


async def connections_opened(url: str) -> int | None:
    """PostgreSQL's count of sessions opened in this database so far; None on SQLite."""
    if not url.startswith("postgresql"):
        return None
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            )
            return int(found.scalar_one())
    finally:
        await engine.dispose()


async def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    params = Params(clients=args.clients)
    url, org = await run.prepare(args.db, params, args.postgres_url, False)
    token = await run.new_token(url, params.slug)
    bodies = scenarios.one_client(await run.load_data(url, org, params))
    if not wrk.available():
        raise SystemExit(f"wrk is needed: {wrk.INSTALL}")
    spec = run.CACHE / "cpu-bodies.jsonl"
    servers = {stack.name: stack.server(url) for stack in args.stack}
    runs: list[dict[str, Any]] = []
    async with run.serving(*servers.values()):
        for server in servers.values():  # warm: plans, caches, pools
            wrk.run(server.port, "/graphql", token, bodies, max(args.concurrency), 2, spec)
        for pair in range(args.pairs):
            for connections in args.concurrency:
                order = list(servers.items())
                for name, server in order if pair % 2 == 0 else order[::-1]:
                    cpu, opened = cpu_seconds(server.pid), await connections_opened(url)
                    done = wrk.run(
                        server.port, "/graphql", token, bodies, connections, args.seconds, spec
                    )
                    await asyncio.sleep(0.3)  # the last answers' CPU
                    spent = cpu_seconds(server.pid) - cpu
                    after = await connections_opened(url)
                    one = {
                        "stack": name,
                        "pair": pair,
                        "connections": connections,
                        "requests": done["requests"],
                        "failures": done["failures"],
                        "rps": done["rps"],
                        "cpu_us": round(spent / max(done["requests"], 1) * 1e6, 1),
                        # less the session that asked before
                        "opened": None if opened is None or after is None else after - opened - 1,
                    }
                    run.log(str(one))
                    runs.append(one)
    return runs


def report(runs: list[dict[str, Any]], names: list[str]) -> list[str]:
    lines = []
    for connections in sorted({r["connections"] for r in runs}):
        lines.append(f"at {connections} connections: server CPU per request (median, µs)")
        mine = [r for r in runs if r["connections"] == connections]
        first = {r["pair"]: r["cpu_us"] for r in mine if r["stack"] == names[0]}
        for name in names:
            theirs = [r for r in mine if r["stack"] == name]
            ratios = [r["cpu_us"] / first[r["pair"]] for r in theirs if first.get(r["pair"])]
            opened = [r["opened"] for r in theirs if r["opened"] is not None]
            line = (
                f"  {name:16} {statistics.median(r['cpu_us'] for r in theirs):8.0f}"
                f"  req/s {statistics.median(r['rps'] for r in theirs):7.1f}"
                f"  x{statistics.median(ratios):.3f} of {names[0]}"
                f"  failures {sum(r['failures'] for r in theirs)}"
            )
            if opened:
                line += f"  connections opened {opened}"
            lines.append(line)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=run.DEFAULT_PG)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--stack", type=Stack.parse, action="append", required=True)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--concurrency", type=lambda v: [int(x) for x in v.split(",")], default=[8, 32]
    )
    args = parser.parse_args()
    runs = asyncio.run(measure(args))
    print("\n".join(report(runs, [stack.name for stack in args.stack])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
