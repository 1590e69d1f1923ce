"""At most a few heavy reports run at once in a process; the others wait their turn, in the
order they came.

The loop shares its turns among the requests under way, so heavy reads that run together
are each answered only after about all of their time: 32 batches of 500 rendering answers
at once took about 5 s each instead of 0.15 s, each holding a pooled connection all along
(on PostgreSQL 14 of them waited past the statement timeout for one of the pool's 15
connections, and were answered 503), and every collection of the garbage collector walked
all their live objects (its longest pause grew from 10 ms with one to 208 ms with 15).
Taking turns, each is answered in its own time plus its wait, the pool keeps connections
for everything else, and the caseload page never waits behind them: small queries and
small reports (api.cost.HEAVY_REPORT_WORK) do not queue.

The wait counts against the query's time budget, and a client that leaves while waiting
leaves the queue (web.departure). asyncio's semaphore wakes its waiters in the order they
came."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class ReportTurns:
    """`at_once` heavy reports at a time (0: no limit)."""

    def __init__(self, at_once: int) -> None:
        self._slots = asyncio.Semaphore(at_once) if at_once > 0 else None

    @property
    def limited(self) -> bool:
        return self._slots is not None

    @contextlib.asynccontextmanager
    async def turn(self, heavy: bool) -> AsyncIterator[None]:
        if not heavy or self._slots is None:
            yield
            return
        async with self._slots:
            yield
