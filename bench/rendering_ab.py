"""`python -m bench.rendering_ab URL`: 500 rendering answers against one, in process.

The benchmark's sequential step (bench/run.py) times one rendering question and a batch of
500 over HTTP, against a server in another process; on a busy machine its wall times swing
by more than the changes to measure. This asks the same two bodies of the app itself (ASGI,
no network, the server's settings, start-up objects frozen as a worker freezes them), one
after the other, and reports the CPU time of this process per request (process_time: the
aiosqlite thread included, PostgreSQL's own work not) and wall time, as minimum and median
over the rounds, and their ratios. Compare versions by running it on each, alternately.

URL is a copy of the cached practice (bench/.cache, cmgraph_bench_<n>) at the schema of the
code under test: it writes an API token into it. Never point it at the cache itself.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx

from bench import inprocess, scenarios


async def measure(url: str, rounds: int) -> dict[str, float]:
    db, data, token = await inprocess.practice_at(url, "rendering_ab")
    app = inprocess.served(url, db)
    inprocess.settle()
    one, many = scenarios.rendering(data, 1, 1)[0], scenarios.rendering(data)[0]
    times: dict[str, list[float]] = {"one": [], "many": [], "one_wall": [], "many_wall": []}
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def ask(body: bytes, name: str | None) -> None:
            cpu, wall = time.process_time(), time.perf_counter()
            response = await client.post("/graphql", content=body, headers=headers)
            if name is not None:
                times[name].append(time.process_time() - cpu)
                times[f"{name}_wall"].append(time.perf_counter() - wall)
            if response.status_code != 200 or b'"errors"' in response.content:
                raise SystemExit(response.text[:500])

        for body in (one, many, one, many):  # warm: compiled statements, plans
            await ask(body, None)
        for _ in range(rounds):
            for _ in range(3):
                await ask(one, "one")
            await ask(many, "many")
    await db.dispose()
    out: dict[str, float] = {}
    for name, values in times.items():
        out[f"{name}_min_ms"] = round(min(values) * 1000, 2)
        out[f"{name}_median_ms"] = round(statistics.median(values) * 1000, 2)
    for kind in ("", "_wall"):
        for stat in ("min", "median"):
            many_ms, one_ms = out[f"many{kind}_{stat}_ms"], out[f"one{kind}_{stat}_ms"]
            out[f"ratio{kind}_{stat}"] = round(many_ms / one_ms, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="a copy of the cached practice (see the module's doc)")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    result: dict[str, Any] = asyncio.run(measure(args.url, args.rounds))
    print(result)


if __name__ == "__main__":
    main()
