"""cmgraph served with a probe of its event loop: `python -m bench.lagprobe --port N`.

The server is the one `cmgraph serve --no-dispatch` runs (one worker, serving.serve, the
same uvicorn settings); beside the app, a task sleeps PERIOD_S again and again and records
by how much each sleep overshot: the time the loop went without running a timer that was
due, that is, how long the steps it ran meanwhile held it. The machine's other processes
can hold it too (the OS preempts the server), so each stall also records how much CPU the
loop's thread spent in it: a stall that is mostly CPU is the server's own work.

Each step the loop runs (asyncio's Handle._run: a task's step from one await to the next, or
a callback) is timed too, wall and the loop thread's CPU, and the longest steps are kept
with what they ran, also net of the collector's pauses inside them: the stall says what
other requests waited, the steps say who held the loop.

Only the benchmark serves this. `GET /_bench/lag` answers the stalls since the last
`POST /_bench/lag` (which starts afresh); every other path goes to cmgraph.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from cmgraph import serving
from cmgraph.cli import DISPATCH_ENV

PERIOD_S = 0.005
PATH = "/_bench/lag"


LONGEST_KEPT = 5


class Stalls:
    """Overshoots of the probe's sleeps, and the longest steps, since the last reset."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.steps: list[tuple[float, float, str]] = []  # (CPU, wall, what), longest first
        self.own: list[tuple[float, str]] = []  # (CPU but the collector's, what), longest first
        self.gc: list[float] = []  # the collector's CPU per collection (inside steps)
        self.gc_cpu = 0.0

    def step(self, wall: float, cpu: float, collector: float, what: object) -> None:
        if len(self.steps) < LONGEST_KEPT or cpu > self.steps[-1][0]:
            self.steps.append((cpu, wall, _name(what)))
            self.steps.sort(reverse=True)
            del self.steps[LONGEST_KEPT:]
        own = cpu - collector
        if len(self.own) < LONGEST_KEPT or own > self.own[-1][0]:
            self.own.append((own, _name(what)))
            self.own.sort(reverse=True)
            del self.own[LONGEST_KEPT:]

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    def summary(self) -> dict[str, Any]:
        if not self.wall:
            return {"samples": 0}
        ordered = sorted(self.wall)
        worst = max(range(len(self.wall)), key=self.wall.__getitem__)
        return {
            "samples": len(ordered),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2),
            "max_cpu_ms": round(self.cpu[worst] * 1000, 2),  # the loop's CPU in that stall
            "longest_cpu_ms": round(max(self.cpu) * 1000, 2),  # the stall most its own work
            "over_50ms": sum(1 for w in ordered if w > 0.05),
            "gc_max_ms": round(max(self.gc, default=0.0) * 1000, 2),
            "gc_total_ms": round(sum(self.gc) * 1000, 2),
            "gc_collections": len(self.gc),
            "objects": len(gc.get_objects()),
            "longest_steps": [
                {"cpu_ms": round(c * 1000, 2), "wall_ms": round(w * 1000, 2), "what": what}
                for c, w, what in self.steps
            ],
            "longest_own_steps": [
                {"cpu_ms": round(c * 1000, 2), "what": what} for c, what in self.own
            ],
        }


def _name(callback: object) -> str:
    """The coroutine a task's step ran, else the callback."""
    task = getattr(callback, "__self__", None)
    if isinstance(task, asyncio.Task):
        coro = task.get_coro()
        return str(getattr(coro, "__qualname__", coro))
    return str(getattr(callback, "__qualname__", callback))


def time_collections(stalls: Stalls) -> None:
    started: list[float] = []

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[:] = [time.thread_time()]
        elif started:
            stalls.gc.append(time.thread_time() - started[0])
            stalls.gc_cpu += stalls.gc[-1]

    gc.callbacks.append(callback)


def time_steps(stalls: Stalls) -> None:
    """Time every step of the loop (two clock reads each)."""
    run = asyncio.events.Handle._run

    def timed(handle: asyncio.events.Handle) -> None:
        wall, cpu, collector = time.perf_counter(), time.thread_time(), stalls.gc_cpu
        run(handle)
        spent = time.thread_time() - cpu
        if spent > 0.001:
            stalls.step(
                time.perf_counter() - wall,
                spent,
                stalls.gc_cpu - collector,
                handle._callback,  # type: ignore[attr-defined]
            )

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]


async def probe(stalls: Stalls) -> None:
    while True:
        wall, cpu = time.perf_counter(), time.thread_time()
        await asyncio.sleep(PERIOD_S)
        stalls.add(
            max(0.0, time.perf_counter() - wall - PERIOD_S),
            time.thread_time() - cpu,
        )


class Probed:
    """The app, with the probe started on its first request and read at PATH."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.stalls = Stalls()
        self.task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.task is None:
            time_steps(self.stalls)
            time_collections(self.stalls)
            self.task = asyncio.create_task(probe(self.stalls))
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST":
            self.stalls.reset()
        body = orjson.dumps(self.stalls.summary())
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def probed_app() -> ASGIApp:
    return Probed(serving.worker_app())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    os.environ[DISPATCH_ENV] = "false"  # as --no-dispatch
    serving.WORKER_APP = "bench.lagprobe:probed_app"
    serving.serve(args.host, args.port, 1, 30)


if __name__ == "__main__":
    main()
