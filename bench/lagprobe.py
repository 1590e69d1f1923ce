"""cmgraph served with a probe of its event loop: `python -m bench.lagprobe --port N`.

The server is the one `cmgraph serve --no-dispatch` runs (one worker, serving.serve, the
same uvicorn settings); beside the app, a task sleeps PERIOD_S again and again and records
by how much each sleep overshot: the time the loop went without running a timer that was
due, that is, how long the steps it ran meanwhile held it. The machine's other processes
can hold it too (the OS preempts the server), so each stall also records how much CPU the
loop's thread spent in it: a stall that is mostly CPU is the server's own work.

Each step of every task (from one await to the next; the tasks are made by the loop's task
factory, which uvloop honours too) is timed, wall and the loop thread's CPU, and the longest
steps are kept with what they ran, also net of the collector's pauses inside them: the stall
says what other requests waited, the steps say who held the loop. The collector's pauses are
timed by generation. With BENCH_LAG_STACKS set to a file, a thread samples the loop
thread's stack during long steps and writes them there (where the time goes).

Only the benchmark serves this. `GET /_bench/lag` answers the stalls since the last
`POST /_bench/lag` (which starts afresh); every other path goes to cmgraph.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Generator
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
        self.gc_by_generation: dict[int, float] = {}  # the collector's CPU by generation
        self.gc_longest = (0.0, -1, 0)  # CPU, generation, objects collected

    def step(self, wall: float, cpu: float, collector: float, what: str) -> None:
        if len(self.steps) < LONGEST_KEPT or cpu > self.steps[-1][0]:
            self.steps.append((cpu, wall, what))
            self.steps.sort(reverse=True)
            del self.steps[LONGEST_KEPT:]
        own = cpu - collector
        if len(self.own) < LONGEST_KEPT or own > self.own[-1][0]:
            self.own.append((own, what))
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
            "gc_ms_by_generation": {
                str(g): round(t * 1000, 2) for g, t in self.gc_by_generation.items()
            },
            "gc_longest": {
                "cpu_ms": round(self.gc_longest[0] * 1000, 2),
                "generation": self.gc_longest[1],
                "collected": self.gc_longest[2],
            },
            "objects": len(gc.get_objects()),
            "longest_steps": [
                {"cpu_ms": round(c * 1000, 2), "wall_ms": round(w * 1000, 2), "what": what}
                for c, w, what in self.steps
            ],
            "longest_own_steps": [
                {"cpu_ms": round(c * 1000, 2), "what": what} for c, what in self.own
            ],
        }


def time_collections(stalls: Stalls) -> None:
    started: list[float] = []

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[:] = [time.thread_time()]
        elif started:
            spent = time.thread_time() - started[0]
            stalls.gc.append(spent)
            stalls.gc_cpu += spent
            generation = info["generation"]
            stalls.gc_by_generation[generation] = stalls.gc_by_generation.get(generation, 0.0)
            stalls.gc_by_generation[generation] += spent
            if spent > stalls.gc_longest[0]:
                stalls.gc_longest = (spent, generation, info["collected"])

    gc.callbacks.append(callback)


STACKS_ENV = "BENCH_LAG_STACKS"
"""When set to a file's path, the stacks sampled during each step longer than STACK_STEP_S
are appended there (JSON lines): where the longest steps spend their time."""
STACK_EVERY_S = 0.002
STACK_STEP_S = 0.03


class StepSampler:
    """A thread that samples the loop thread's stack while one step runs long."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.loop_thread = threading.get_ident()
        self.started: float | None = None
        self.samples: list[str] = []
        threading.Thread(target=self._sample, daemon=True).start()

    def begin(self) -> None:
        self.samples = []
        self.started = time.perf_counter()

    def end(self, wall: float, cpu: float, collector: float, what: str) -> None:
        self.started = None
        if wall > STACK_STEP_S:
            line: dict[str, object] = {"what": what, "samples": self.samples}
            line |= {"wall_ms": wall * 1000, "cpu_ms": cpu * 1000, "gc_ms": collector * 1000}
            with open(self.path, "ab") as out:
                out.write(orjson.dumps(line) + b"\n")

    def _sample(self) -> None:
        while True:
            time.sleep(STACK_EVERY_S)
            started, samples = self.started, self.samples
            if started is None or time.perf_counter() - started < 0.005:
                continue
            frame = sys._current_frames().get(self.loop_thread)
            stack = []
            while frame is not None:
                code = frame.f_code
                stack.append(f"{code.co_filename}:{frame.f_lineno}:{code.co_qualname}")
                frame = frame.f_back
            if self.started is started:
                samples.append(";".join(reversed(stack)))


class TimedCoroutine(Coroutine[Any, Any, Any]):
    """A task's coroutine, each of its steps (from one await to the next) timed."""

    def __init__(self, coro: Coroutine[Any, Any, Any], stalls: Stalls, sampler: StepSampler | None):
        self.coro, self.stalls, self.sampler = coro, stalls, sampler
        self.__qualname__ = str(getattr(coro, "__qualname__", coro))

    def send(self, value: Any) -> Any:
        return self._timed(self.coro.send, value)

    def throw(self, *args: Any) -> Any:
        return self._timed(self.coro.throw, *args)

    def close(self) -> None:
        self.coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self.coro.__await__()

    def _timed(self, step: Callable[..., Any], *args: Any) -> Any:
        stalls, sampler = self.stalls, self.sampler
        wall, cpu, collector = time.perf_counter(), time.thread_time(), stalls.gc_cpu
        if sampler is not None:
            sampler.begin()
        try:
            return step(*args)
        finally:
            spent, wall = time.thread_time() - cpu, time.perf_counter() - wall
            if sampler is not None:
                sampler.end(wall, spent, stalls.gc_cpu - collector, self.__qualname__)
            if spent > 0.001:
                stalls.step(wall, spent, stalls.gc_cpu - collector, self.__qualname__)


def time_steps(stalls: Stalls) -> None:
    """Time every step of every task started from now on (two clock reads each): through
    the loop's task factory, which uvloop honours as asyncio's loop does. Plain callbacks
    (a protocol's data_received, a future's done-callbacks) are not timed: they are short,
    and the probe's stalls hold them anyway."""
    stacks = os.environ.get(STACKS_ENV)
    sampler = StepSampler(stacks) if stacks else None

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Task[Any]:
        return asyncio.Task(TimedCoroutine(coro, stalls, sampler), loop=loop, **kwargs)

    asyncio.get_running_loop().set_task_factory(factory)  # type: ignore[arg-type]


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
