"""`python -m bench.pages_cpu URL`: the caseload page and one client, in process, cmgraph
against the graphql-core peer (bench/peers/graphql_core_app.py), CPU per request.

The peer comparison (bench/peers/compare.py) serves each stack in a process of its own
under wrk; on two shared cores its ratios move by several points between runs. This asks
the same bodies of both apps themselves, one ASGI call at a time (no network, no server:
the scope, the body and the answer's messages are made here), and reports the median
thread CPU of each request (time.thread_time: the event loop's thread, which is where
Python's per-request work runs; SQLite's own work in aiosqlite's thread is not in it) and
of the process (time.process_time: that thread included), for each stack and page.
Stacks alternate request by request so that both see the same machine. Every answer's
`data` is checked equal to cmgraph's before anything is timed.

URL is a copy of the cached practice (bench/.cache, cmgraph_bench_<n>) at the schema of the
code under test: it writes an API token into it. Never point it at the cache itself.
`--profile FILE` writes cProfile's statistics of cmgraph's requests instead of timing.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import inprocess, scenarios
from bench.peers import graphql_core_app
from bench.peers.common import data_of
from cmgraph import logs

App = Callable[[dict[str, Any], Any, Any], Any]


async def call(app: App, token: str, body: bytes) -> bytes:
    """One POST /graphql through the app, as uvicorn would hand it over."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # the client stays until answered: a disconnect would stop the query
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    chunks: list[bytes] = []
    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    answer = b"".join(chunks)
    if status != 200:
        raise SystemExit(f"{status}: {answer[:500]!r}")
    return answer


async def measure(url: str, requests: int, profile: str | None, only: str | None) -> dict[str, Any]:
    db, data, token = await inprocess.practice_at(url, "pages_cpu")
    # the server's request log line, written where it costs what it costs a worker
    logs.configure()
    sink = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)
    ours = inprocess.served(url, db)
    peer = graphql_core_app.create_app(db.engine)
    pages = {"caseload": scenarios.caseload(), "client": scenarios.one_client(data)}
    if only is not None:
        pages = {only: pages[only]}
    stacks: dict[str, App] = {"cmgraph": ours, "graphql-core": peer}
    for page, bodies in pages.items():  # equal answers; warms both
        for body in bodies[:20]:
            mine = data_of(await call(ours, token, body))
            theirs = data_of(await call(peer, token, body))
            if mine != theirs:
                raise SystemExit(f"{page}: the peer's answer differs from cmgraph's")
    inprocess.settle()
    if profile is not None:
        profiler = cProfile.Profile()
        for bodies in pages.values():
            for n in range(requests):
                profiler.enable()
                await call(ours, token, bodies[n % len(bodies)])
                profiler.disable()
        profiler.dump_stats(profile)
        await db.dispose()
        return {}
    times: dict[tuple[str, str], tuple[list[float], list[float]]] = {
        (stack, page): ([], []) for stack in stacks for page in pages
    }
    for page, bodies in pages.items():
        for n in range(requests):
            body = bodies[n % len(bodies)]
            for stack, app in stacks.items():
                thread, process = time.thread_time(), time.process_time()
                await call(app, token, body)
                spent = times[(stack, page)]
                spent[0].append(time.thread_time() - thread)
                spent[1].append(time.process_time() - process)
    await db.dispose()
    out: dict[str, Any] = {}
    for (stack, page), (thread_s, process_s) in times.items():
        out[f"{page} {stack}"] = (
            round(statistics.median(thread_s) * 1000, 2),
            round(statistics.median(process_s) * 1000, 2),
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="a copy of the cached practice (it gets a token)")
    parser.add_argument("--requests", type=int, default=300, help="per page and stack")
    parser.add_argument("--profile", help="write cProfile's statistics of cmgraph here")
    parser.add_argument("--page", choices=("caseload", "client"), help="this page only")
    args = parser.parse_args()
    out = asyncio.run(measure(args.url, args.requests, args.profile, args.page))
    for name, (thread_ms, process_ms) in out.items():
        print(f"{name:24} thread CPU {thread_ms:6.2f} ms  process CPU {process_ms:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
