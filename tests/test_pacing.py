"""Loops over many items let the event loop turn once their step has run STEP_S (pacing),
so that a batch or a report takes about a page's share of each turn; timed by a fake clock."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from cmgraph.services import loading, pacing


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _while_other_task_runs(work: Any) -> tuple[Any, list[str]]:
    """work(happened) run beside a task that notes each time it gets the loop."""
    happened: list[str] = []

    async def other() -> None:
        while True:
            happened.append("other")
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    await asyncio.sleep(0)
    happened.clear()
    try:
        return await work(happened), happened
    finally:
        task.cancel()


async def test_a_loop_lets_the_loop_turn_each_time_its_step_has_run_step_s() -> None:
    clock = FakeClock()
    pacer = pacing.Pacer(clock)

    async def work(happened: list[str]) -> None:
        for item in range(10):
            if pacer.due():
                await pacer.turn()
            happened.append(f"item {item}")
            clock.now += 0.4 * pacing.STEP_S  # each item takes 0.4 of a step

    _, happened = await _while_other_task_runs(work)

    # three items fill a step (1.2 of STEP_S): the other task runs after every third
    assert happened == [
        "item 0",
        "item 1",
        "item 2",
        "other",
        "item 3",
        "item 4",
        "item 5",
        "other",
        "item 6",
        "item 7",
        "item 8",
        "other",
        "item 9",
    ]


async def test_nothing_waits_for_a_turn_while_the_step_is_short() -> None:
    clock = FakeClock()
    pacer = pacing.Pacer(clock)

    async def work(happened: list[str]) -> list[list[int]]:
        return [chunk async for chunk in pacer.chunks(range(1000), size=100)]

    chunks, happened = await _while_other_task_runs(work)  # the clock never moves

    assert [len(c) for c in chunks] == [100] * 10
    assert [n for c in chunks for n in c] == list(range(1000))
    assert happened == []


async def test_chunks_let_the_loop_turn_between_two_once_the_step_is_due() -> None:
    clock = FakeClock()
    pacer = pacing.Pacer(clock)

    async def work(happened: list[str]) -> None:
        async for chunk in pacer.chunks(range(10), size=2):
            happened.append(f"chunk {chunk[0]}")
            clock.now += 0.6 * pacing.STEP_S

    _, happened = await _while_other_task_runs(work)

    assert happened == [
        "chunk 0",
        "chunk 2",
        "other",
        "chunk 4",
        "chunk 6",
        "other",
        "chunk 8",
    ]


async def test_facts_of_a_big_read_are_made_a_chunk_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Turning rows into facts is where a batch held the loop longest: with every chunk's
    step due (STEP_S below zero), other tasks run between every two chunks."""
    monkeypatch.setattr(pacing, "STEP_S", -1.0)
    rows = [SimpleNamespace(n=n) for n in range(10 * pacing.CHUNK + 1)]

    async def work(happened: list[str]) -> list[int]:
        def make(row: SimpleNamespace) -> int:
            happened.append("fact")
            return int(row.n)

        return await loading.facts_of(rows, make)

    made, happened = await _while_other_task_runs(work)

    assert made == list(range(len(rows)))
    runs = "".join("o" if h == "other" else "f" for h in happened).split("o")
    assert [len(r) for r in runs if r] == [pacing.CHUNK] * 10 + [1]


async def test_a_database_result_is_chunked_by_its_partitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A result hands its rows over a chunk at a time (Result.partitions), the same rows in
    the same chunks as iterating it would, with the loop let turn between two alike."""
    monkeypatch.setattr(pacing, "STEP_S", -1.0)
    engine = create_async_engine("sqlite+aiosqlite://")
    fetched: list[int] = []
    try:
        async with engine.connect() as connection:
            numbers = text(
                "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 150) "
                "SELECT v FROM n"
            )
            result = await connection.execute(numbers)
            cursor = type(result.cursor)  # the driver adapter's: its rows are fetched already
            fetch_many = cursor.fetchmany

            def counted(self: Any, size: int = 0) -> Any:
                fetched.append(size)
                return fetch_many(self, size)

            def refused(self: Any) -> Any:
                raise AssertionError("fetched row by row")

            monkeypatch.setattr(cursor, "fetchmany", counted)
            monkeypatch.setattr(cursor, "fetchone", refused)

            async def work(happened: list[str]) -> list[list[int]]:
                chunks = []
                async for chunk in pacing.Pacer().chunks(result, size=64):
                    happened.append("chunk")
                    chunks.append([n for (n,) in chunk])
                return chunks

            chunks, happened = await _while_other_task_runs(work)
    finally:
        await engine.dispose()

    assert chunks == [list(range(1, 65)), list(range(65, 129)), list(range(129, 151))]
    assert fetched and all(size == 64 for size in fetched)  # a call per chunk
    assert happened.count("other") >= 2
