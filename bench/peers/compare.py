"""The peer comparison: cmgraph beside the peers of bench/peers/stacks.py, in one run, on
the same tables, each served in a process of its own (pinned to the servers' cores), each
driven by wrk (bench/wrk.py, pinned to a core of its own) on the caseload page and the
one-client page at each concurrency.

Before any load every stack's answers are checked against cmgraph's (`data` equal byte for
byte once re-encoded: bench/peers/common.data_of); a stack that differs is reported as a
failure and not measured. Then `--rounds` rounds: in each, every (concurrency, page, stack)
runs once for `--seconds`, and each stack's req/s is divided by the strict floor's of the
same round; the report gives the median of those ratios, with req/s, p50 and p99 (medians
of the rounds), and flags where cmgraph misses its targets: the caseload page at >= 25 %
of the strict floor and the one-client page at >= 30 %, each ahead of the best peer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Iterator
from typing import Any

from bench import run, scenarios, wrk
from bench.peers.common import data_of
from bench.peers.stacks import PAGES, PEERS, STRICT, Stack
from bench.practice import Params

TARGETS = {"caseload": 0.25, "client": 0.30}  # cmgraph's share of the strict floor's req/s
CHECKED_CLIENTS = 10  # one-client answers compared before the load
CMGRAPH = "cmgraph"
LABELS = {stack.name: stack.label for stack in PEERS} | {CMGRAPH: "cmgraph"}
PAGE_NAMES = {"caseload": "caseload page (50 clients, coverages, CMs)", "client": "one client"}


def page_bodies(page: str, data: scenarios.Data) -> list[bytes]:
    return scenarios.caseload() if page == "caseload" else scenarios.one_client(data)


async def _answer(server: run.Server, path: str, token: str, body: bytes) -> bytes:
    _, answer = await run.timed(server.port, path, token, body, 1, warm=0)
    return data_of(answer)


async def check(
    servers: dict[str, run.Server], token: str, data: scenarios.Data
) -> dict[str, dict[str, str]]:
    """For each stack and page: "ok", or why its answers are not cmgraph's."""
    out: dict[str, dict[str, str]] = {}
    for page in PAGES:
        bodies = page_bodies(page, data)[:CHECKED_CLIENTS]
        ours = [await _answer(servers[CMGRAPH], "/graphql", token, b) for b in bodies]
        for stack in PEERS:
            verdict = "ok"
            for i, body in enumerate(bodies):
                try:
                    theirs = await _answer(servers[stack.name], stack.path(page), token, body)
                except (RuntimeError, ValueError) as error:
                    verdict = f"failed: {str(error)[:200]}"
                    break
                if theirs != ours[i]:
                    name = f"differs-{page}-{stack.name}"
                    (run.CACHE / f"{name}.json").write_bytes(theirs)
                    (run.CACHE / f"differs-{page}-cmgraph.json").write_bytes(ours[i])
                    verdict = f"differs from cmgraph (bench/.cache/{name}.json)"
                    break
            out.setdefault(stack.name, {})[page] = verdict
    return out


def measure(
    server: run.Server,
    path: str,
    token: str,
    bodies: list[bytes],
    connections: int,
    seconds: float,
) -> dict[str, Any]:
    if wrk.available():
        spec = run.CACHE / "wrk-bodies.jsonl"
        result = wrk.run(server.port, path, token, bodies, connections, seconds, spec)
    else:
        result = {"generator": "bench.load"}
        result |= run.drive(server, path, token, bodies, connections, seconds, 0.0)
    run.settle(server)
    return result


def peer_server(stack: Stack, url: str, kind: str, org: Any) -> run.Server:
    argv = [sys.executable, "-m", stack.module, "--url", url, "--port", "{port}"]
    if stack.fixed_org:
        argv += ["--org", str(org)]
    return run.Server(f"{stack.name}-{kind}", argv, run.server_env(url), "/healthz")


async def compare(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    params = Params(clients=args.clients)
    url, org = await run.prepare(kind, params, args.postgres_url, args.rebuild)
    if kind == "sqlite":
        await run.sqlite_statistics(url, args.analyze)
    token = await run.new_token(url, params.slug)
    data = await run.load_data(url, org, params)
    if not wrk.available():
        run.log(f"wrk not found: falling back to bench/load.py (install it: {wrk.INSTALL})")
    servers = {CMGRAPH: run.cmgraph_server(url, f"{kind}-peers")}
    servers |= {stack.name: peer_server(stack, url, kind, org) for stack in PEERS}
    for server in servers.values():
        server.argv = wrk.pinned(server.argv, 0)
    split = wrk.cores()
    result: dict[str, Any] = {
        "db": kind,
        "clients": params.clients,
        "generator": "wrk" if wrk.available() else "bench.load",
        "pinning": None
        if split is None
        else {"servers": sorted(split[0]), "wrk": sorted(split[1])},
        "rounds": args.rounds,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "load_before": os.getloadavg(),
    }
    async with run.serving(*servers.values()):
        checks = await check(servers, token, data)
        result["checks"] = checks
        measured = [CMGRAPH] + [
            s.name for s in PEERS if all(v == "ok" for v in checks[s.name].values())
        ]
        if STRICT.name not in measured:
            run.log(f"[{kind}] the strict floor's answers differ from cmgraph's: no peer table")
            return result

        def path(name: str, page: str) -> str:
            return (
                "/graphql"
                if name == CMGRAPH
                else next(s for s in PEERS if s.name == name).path(page)
            )

        bodies = {page: page_bodies(page, data) for page in PAGES}
        run.log(f"[{kind}] peers: warming up {', '.join(measured)}...")
        for name in measured:
            for page in PAGES:
                measure(
                    servers[name],
                    path(name, page),
                    token,
                    bodies[page],
                    max(args.concurrency),
                    args.warmup,
                )
        runs: list[dict[str, Any]] = []
        for round_ in range(args.rounds):
            for connections in args.concurrency:
                for page in PAGES:
                    run.log(f"[{kind}] peers: round {round_ + 1}, {page} at {connections}...")
                    # a different order each round, so that drift in the machine's load
                    # falls on different stacks
                    order = measured[round_ % len(measured) :] + measured[: round_ % len(measured)]
                    for name in order:
                        one = measure(
                            servers[name],
                            path(name, page),
                            token,
                            bodies[page],
                            connections,
                            args.seconds,
                        )
                        runs.append(
                            {
                                "round": round_,
                                "concurrency": connections,
                                "page": page,
                                "stack": name,
                                **one,
                            }
                        )
    result["load_after"] = os.getloadavg()
    result["runs"] = runs
    result["summary"] = summarize(runs, measured)
    return result


def summarize(runs: list[dict[str, Any]], measured: list[str]) -> dict[str, Any]:
    """Per page, concurrency and stack: the median over rounds of the ratio to the strict
    floor of the same round, and the medians of req/s, p50 and p99."""
    floor = {
        (r["round"], r["concurrency"], r["page"]): r["rps"]
        for r in runs
        if r["stack"] == STRICT.name
    }
    out: dict[str, Any] = {}
    for page in PAGES:
        for connections in sorted({r["concurrency"] for r in runs}):
            cell: dict[str, Any] = {}
            for name in measured:
                mine = [
                    r
                    for r in runs
                    if (r["page"], r["concurrency"], r["stack"]) == (page, connections, name)
                ]
                ratios = [
                    r["rps"] / floor[(r["round"], connections, page)]
                    for r in mine
                    if floor.get((r["round"], connections, page))
                ]
                cell[name] = {
                    "ratio": round(statistics.median(ratios), 4) if ratios else None,
                    "rps": round(statistics.median(r["rps"] for r in mine), 1),
                    "p50_ms": round(statistics.median(r["p50_ms"] for r in mine), 2),
                    "p99_ms": round(statistics.median(r["p99_ms"] for r in mine), 2),
                    "failures": sum(r["failures"] for r in mine),
                    "fewest_requests": min(r["requests"] for r in mine),
                    "sample_failure": next(
                        (r["sample_failure"] for r in mine if r["sample_failure"]), None
                    ),
                }
            out.setdefault(page, {})[str(connections)] = cell
    return out


def verdicts(summary: dict[str, Any]) -> Iterator[tuple[str, str, bool, str]]:
    """(page, concurrency, met, why) for cmgraph's target on each page and concurrency."""
    peers = [s.name for s in PEERS if s.peer]
    for page, by_concurrency in summary.items():
        target = TARGETS[page]
        for connections, cell in by_concurrency.items():
            ours = cell[CMGRAPH]["ratio"]
            best = max(
                (
                    (cell[p]["ratio"], p)
                    for p in peers
                    if p in cell and cell[p]["ratio"] is not None
                ),
                default=(None, ""),
            )
            if ours is None:
                yield page, connections, False, "cmgraph was not measured"
                continue
            ahead = best[0] is None or ours > best[0]
            met = ours >= target and ahead
            best_text = (
                "no peer measured"
                if best[0] is None
                else f"best peer {LABELS[best[1]]} {best[0]:.1%}"
            )
            yield (
                page,
                connections,
                met,
                f"{ours:.1%} (target >= {target:.0%}, ahead of the best peer; {best_text})",
            )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def report(result: dict[str, Any]) -> Iterator[str]:
    kind = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[result["db"]]
    yield ""
    pinning = result["pinning"]
    where = (
        f"servers pinned to cores {pinning['servers']}, the generator to {pinning['wrk']}"
        if pinning
        else "nothing pinned (one core)"
    )
    yield (
        f"== peers on {kind}: {result['clients']:,} clients; {result['generator']}, {where}; "
        f"{result['rounds']} rounds of {result['seconds']:g} s; load average before "
        f"{result['load_before'][0]:.2f}, after {result.get('load_after', [0.0])[0]:.2f}"
    )
    for name, pages in result.get("checks", {}).items():
        bad = {p: v for p, v in pages.items() if v != "ok"}
        if bad:
            yield f"NOT MEASURED: {LABELS[name]}: " + "; ".join(f"{p}: {v}" for p, v in bad.items())
    summary = result.get("summary")
    if not summary:
        return
    concurrencies = list(summary[PAGES[0]])
    yield (
        f"{PAGE_NAMES['caseload']} / {PAGE_NAMES['client']}: % of the strict floor's req/s "
        "(median of the rounds' ratios)"
    )
    header = f"{'stack':42}" + "".join(f" {'at ' + c:>20}" for c in concurrencies)
    yield header
    yield "-" * len(header)
    names = [
        n for n in [*(s.name for s in PEERS), CMGRAPH] if n in summary[PAGES[0]][concurrencies[0]]
    ]
    for name in names:
        cells = "".join(
            f" {' / '.join(_percent(summary[page][c][name]['ratio']) for page in PAGES):>20}"
            for c in concurrencies
        )
        label = LABELS[name] if name != CMGRAPH else "**cmgraph**"
        yield f"{label:42}{cells}"
    yield ""
    yield f"{'page':10} {'conc':>4} {'stack':42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    for page in PAGES:
        for c in concurrencies:
            for name in names:
                cell = summary[page][c][name]
                failures = (
                    f"  FAILURES {cell['failures']}: {cell['sample_failure']}"
                    if cell["failures"]
                    else ""
                )
                if cell["fewest_requests"] < 2 * int(c):
                    failures += (
                        f"  (a round completed only {cell['fewest_requests']} requests: "
                        "too short for this stack, give more --seconds)"
                    )
                yield (
                    f"{page:10} {c:>4} {LABELS[name]:42} {cell['rps']:>8.1f} "
                    f"{cell['p50_ms']:>8.1f} {cell['p99_ms']:>8.1f}{failures}"
                )
    yield ""
    for page, c, met, why in verdicts(summary):
        yield f"cmgraph, {PAGE_NAMES[page]}, at {c}: {'ok' if met else 'MISS'}: {why}"
