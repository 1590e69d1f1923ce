"""`python -m bench.loop_share URL`: the event loop's share each read takes, in process.

The event-loop step of the benchmark (`--lag-only`) drives a server with wrk and compares the
caseload page's p99 alone and beside long reads; on a machine that other processes load, its
wall times swing by more than the ratio it measures. This asks the app itself (ASGI, in this
process, start-up objects frozen as a worker freezes them) and measures in the loop thread's
CPU time (time.thread_time), which the OS's other processes do not inflate:

- each read's steps, one request at a time: how many, and the CPU of the median, 90th
  percentile and longest step. A request that is ready takes one step per turn of the loop,
  so a read of long steps takes that much of every turn from the pages waiting beside it;
- the caseload page at 8 connections alone, then beside each long read (one connection): its
  latency counted in the loop's CPU from sending to the answer (the work the loop did for
  every request while the page waited), p50 and p99, and their ratio to alone per round.

URL is a copy of the cached practice (bench/.cache, cmgraph_bench_<n>) at the schema of the
code under test, its stored findings built by that code (`cmgraph findings rebuild`: else
compliance judges live): it writes an API token into it. Never point it at the cache itself.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Coroutine, Generator
from typing import Any

import httpx

from bench import inprocess, scenarios

PAGES = 8  # connections asking the caseload page, as the lag step does


class Steps:
    """The loop thread's CPU of every step of every task, while `on`."""

    def __init__(self) -> None:
        self.on = False
        self.cpu: list[float] = []

    def install(self) -> None:
        steps = self

        class Timed(Coroutine[Any, Any, Any]):
            def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
                self.coro = coro

            def send(self, value: Any) -> Any:
                return self._timed(self.coro.send, value)

            def throw(self, *args: Any) -> Any:
                return self._timed(self.coro.throw, *args)

            def close(self) -> None:
                self.coro.close()

            def __await__(self) -> Generator[Any, None, Any]:
                return self.coro.__await__()

            def _timed(self, step: Any, *args: Any) -> Any:
                started = time.thread_time()
                try:
                    return step(*args)
                finally:
                    if steps.on:
                        steps.cpu.append(time.thread_time() - started)

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
            return asyncio.Task(Timed(coro), loop=loop, **kwargs)

        asyncio.get_running_loop().set_task_factory(factory)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


async def measure(url: str, requests: int, seconds: float, rounds: int) -> dict[str, Any]:
    db, data, token = await inprocess.practice_at(url, "loop_share")
    app = inprocess.served(url, db)
    inprocess.settle()
    steps = Steps()
    steps.install()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    out: dict[str, Any] = {"steps": {}, "mix": {}}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def ask(body: bytes) -> None:
            response = await client.post("/graphql", content=body, headers=headers)
            if response.status_code != 200 or b'"errors"' in response.content:
                raise SystemExit(response.text[:500])

        for name in ("caseload", *scenarios.READS):
            body = scenarios.bodies(name, data)[0]
            await asyncio.create_task(ask(body))  # warm
            steps.cpu.clear()
            steps.on = True
            for _ in range(requests):
                await asyncio.create_task(ask(body))
            steps.on = False
            cpu = sorted(steps.cpu)
            out["steps"][name] = {
                "cpu_ms": _ms(sum(cpu) / requests),
                "steps": round(len(cpu) / requests, 1),
                "p50_ms": _ms(cpu[len(cpu) // 2]),
                "p90_ms": _ms(cpu[int(0.9 * (len(cpu) - 1))]),
                "max_ms": _ms(cpu[-1]),
            }

        async def run(beside: tuple[str, ...]) -> list[float]:
            waited: list[float] = []
            stop = time.thread_time() + seconds
            page = scenarios.bodies("caseload", data)[0]

            async def pages() -> None:
                while time.thread_time() < stop:
                    started = time.thread_time()
                    await ask(page)
                    waited.append(time.thread_time() - started)

            async def long_read(name: str) -> None:
                body = scenarios.bodies(name, data)[0]
                while time.thread_time() < stop:
                    await ask(body)

            await asyncio.gather(*(pages() for _ in range(PAGES)), *map(long_read, beside))
            return sorted(waited)

        mixes = {"alone": (), "rendering500": ("rendering500",), "claims": ("claims",)}
        mixes |= {"compliance": ("compliance",), "claims + compliance": ("claims", "compliance")}
        for _ in range(rounds):
            alone = None
            for label, beside in mixes.items():
                waited = await run(beside)
                p50, p99 = waited[len(waited) // 2], waited[int(0.99 * (len(waited) - 1))]
                alone = alone or (p50, p99)
                row = out["mix"].setdefault(label, {"p50_ms": [], "p99_ms": [], "p99_ratio": []})
                row["p50_ms"].append(_ms(p50))
                row["p99_ms"].append(_ms(p99))
                row["p99_ratio"].append(round(p99 / alone[1], 2))
    await db.dispose()
    for row in out["mix"].values():
        row["p99_ratio_median"] = statistics.median(row["p99_ratio"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="a copy of the cached practice (see the module's doc)")
    parser.add_argument("--requests", type=int, default=5, help="per read, for its steps")
    parser.add_argument("--seconds", type=float, default=5.0, help="loop CPU per mix run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = asyncio.run(measure(args.url, args.requests, args.seconds, args.rounds))
    for name, row in result["steps"].items():
        print(f"steps of {name}: {row}")
    for label, row in result["mix"].items():
        print(f"caseload page {label}: {row}")


if __name__ == "__main__":
    main()
