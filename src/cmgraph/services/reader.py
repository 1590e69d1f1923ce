"""One read session per request, used by one resolver at a time.

Strawberry runs resolvers concurrently and an AsyncSession must not be shared between
concurrent tasks, so every read goes through a lock. After a mutation the session is
closed so that later reads see what was committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db.engine import Database
from cmgraph.observability import tracing

T = TypeVar("T")


class Reader:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._session: AsyncSession | None = None
        self._lock = asyncio.Lock()

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        if tracing.on():
            name = tracing.use_case_name(work)
            with tracing.span(f"use_case {name}", {"cmgraph.use_case": name}):
                return await self._run(work)
        return await self._run(work)

    async def _run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self._lock:
            if self._session is None:
                self._session = self._db.read()
            return await work(self._session)

    async def close(self) -> None:
        async with self._lock:
            if self._session is not None:
                await self._session.close()
                self._session = None
