"""The benchmark's event-loop probe (bench/lagprobe.py): it times the steps of every task on
the loop `cmgraph serve` runs, uvloop's included (uvloop never calls asyncio's
Handle._run, which the probe once patched: then no step was timed at all)."""

from __future__ import annotations

import asyncio
import time

import pytest
import uvloop

from bench import lagprobe

HELD_S = 0.005


async def holds_the_loop() -> None:
    """One step that spends HELD_S of the thread's CPU between two awaits."""
    await asyncio.sleep(0)
    started = time.thread_time()
    while time.thread_time() - started < HELD_S:
        pass
    await asyncio.sleep(0)


async def probed() -> lagprobe.Stalls:
    stalls = lagprobe.Stalls()
    lagprobe.time_steps(stalls)
    await asyncio.create_task(holds_the_loop())
    return stalls


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_step_that_holds_the_loop_is_timed_and_named(loop: str) -> None:
    factory = uvloop.new_event_loop if loop == "uvloop" else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        stalls = runner.run(probed())
    cpu, _, what = stalls.steps[0]  # the longest
    assert what == "holds_the_loop"
    assert cpu >= HELD_S
