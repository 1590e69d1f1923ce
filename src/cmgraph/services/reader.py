"""One read session per request, used by one resolver at a time.

Strawberry runs resolvers concurrently and an AsyncSession must not be shared between
concurrent tasks, so every read goes through a lock. After a mutation the session is
closed so that later reads see what was committed.

The session is bound to a connection of the reader's own, whose transaction it joins: closed,
the connection rolls that transaction back once and returns to the pool as it is. A session
of the engine's rolled back its transaction, then the pool rolled the connection back again
(a round trip to the driver's thread on SQLite, to the server on PostgreSQL, per request).
Statements that need none of the ORM's steps run on that connection itself (`connection`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

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
                self._session = await self._open()
            return await work(self._session)

    async def _open(self) -> AsyncSession:
        connection = await self._db.engine.connect()
        try:
            await connection.begin()  # the session joins it, and leaves it to the connection
            return self._db.read(connection)
        except BaseException:
            await connection.close()
            raise

    async def close(self) -> None:
        async with self._lock:
            session, self._session = self._session, None
            if session is not None:
                connection = session.bind
                try:
                    await session.close()
                finally:
                    assert isinstance(connection, AsyncConnection)
                    await connection.close()


def connection(session: AsyncSession) -> AsyncConnection | None:
    """The connection a reader's session is bound to (its transaction is the session's), or
    None for another session."""
    bind = session.bind
    return bind if isinstance(bind, AsyncConnection) else None
