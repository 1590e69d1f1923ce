"""How long a request's own Python may hold the event loop before it lets others run.

A worker serves all its requests on one event loop, which runs one step of one request at a
time (from one await to the next), and the requests that are ready each get a step in turn.
A page's steps are about a millisecond each; a batch of rendering questions or a report turns
thousands of rows into facts and judges thousands of sessions, and in steps of 5 to 20 ms it
took several times a page's share of every turn of the loop, so that pages beside it waited
far longer than alone. Its loops over many items therefore let the loop turn once their step
has run STEP_S: then each request gets about the same time per turn, whatever its size.
Letting the loop turn costs a few microseconds when nothing else is waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")

STEP_S = 0.001
"""How long a loop over many items runs before it lets the event loop turn."""

CHUNK = 64
"""Items handled between two looks at the clock, in loops whose items are cheap."""


class Pacer:
    """Tells a loop when its step is due to end (`due`), and ends it (`turn`): the clock is
    read per call of `due`, so a loop over cheap items asks once per chunk (`chunks`)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.turned = clock()

    def due(self) -> bool:
        return self.clock() - self.turned > STEP_S

    async def turn(self) -> None:
        await asyncio.sleep(0)  # the other ready requests run their step meanwhile
        self.turned = self.clock()

    async def chunks(self, items: Iterable[T], size: int = CHUNK) -> AsyncIterator[list[T]]:
        """The items in lists of `size`, the loop let turn between two when the step is due."""
        for chunk in _batched(items, size):
            if self.due():
                await self.turn()
            yield chunk


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    partitions = getattr(items, "partitions", None)
    if partitions is not None:
        # A database result (SQLAlchemy's Result) fetches a list of rows per call: iterated,
        # it fetched row by row, two Python calls per row (a twentieth of a batch of 500
        # rendering answers).
        yield from map(list, partitions(size))
        return
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
