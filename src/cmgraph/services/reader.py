"""One read session per request, used by one resolver at a time.

Strawberry runs resolvers concurrently and an AsyncSession must not be shared between
concurrent tasks, so every read goes through a lock. After a mutation the session is
closed so that later reads see what was committed.

The session is bound to a connection of the reader's own, whose transaction it joins: closed,
the connection rolls that transaction back once and returns to the pool as it is. A session
of the engine's rolled back its transaction, then the pool rolled the connection back again
(a round trip to the driver's thread on SQLite, to the server on PostgreSQL, per request).
Statements that need none of the ORM's steps run on that connection itself (`connection`,
`rows`); the session is made only when a read asks for one: a request whose reads are all
such statements (the one-client page) made one and closed it for nothing: 0.1-0.2 ms, 8-9 %
of its CPU, measured in process.
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
        self._connection: AsyncConnection | None = None
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
                # it joins the connection's transaction, and leaves its end to the connection
                self._session = self._db.read(await self._opened())
            return await work(self._session)

    async def rows(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`work` on the request's connection, in the transaction the session joins (or
        will): for Core statements, which need no session."""
        if tracing.on():
            name = tracing.use_case_name(work)
            with tracing.span(f"use_case {name}", {"cmgraph.use_case": name}):
                return await self._rows(work)
        return await self._rows(work)

    async def _rows(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async with self._lock:
            return await work(await self._opened())

    async def _opened(self) -> AsyncConnection:
        if self._connection is None:
            connection = await self._db.read_connection()
            try:
                await connection.begin()
            except BaseException:
                await connection.close()
                raise
            self._connection = connection
        return self._connection

    async def close(self) -> None:
        async with self._lock:
            session, self._session = self._session, None
            connection, self._connection = self._connection, None
            try:
                if session is not None:
                    await session.close()
            finally:
                if connection is not None:
                    await connection.close()


def connection(source: AsyncSession | AsyncConnection) -> AsyncConnection | None:
    """The connection itself, or the one a reader's session is bound to (its transaction is
    the session's); None for another session."""
    if isinstance(source, AsyncConnection):
        return source
    bind = source.bind
    return bind if isinstance(bind, AsyncConnection) else None
