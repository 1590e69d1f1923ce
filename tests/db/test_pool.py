"""The service's PostgreSQL pool is the size its settings name (CMGRAPH_DB_POOL_SIZE kept
open, CMGRAPH_DB_POOL_OVERFLOW more at a peak), so that workers x both can be kept under the
server's max_connections (README, "Running at scale")."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any

import pytest
from sqlalchemy import event

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook


def test_the_pool_sizes_are_read_from_the_environment() -> None:
    default = Settings.from_env({})
    given = Settings.from_env({"CMGRAPH_DB_POOL_SIZE": "3", "CMGRAPH_DB_POOL_OVERFLOW": "0"})

    assert (default.db_pool_size, default.db_pool_overflow) == (15, 0)
    assert (given.db_pool_size, given.db_pool_overflow) == (3, 0)


async def test_connections_opened_at_a_peak_are_kept_for_the_next(
    database_url: str, is_postgres: bool, db: Database
) -> None:
    """By default a worker keeps what a burst of 15 requests opened: a connection given back
    is not closed while the burst's others still run, so the next burst connects to nothing
    anew (SQLAlchemy's 5 + 10 closed 10 of them, and a worker busier than 5 at once
    reconnected all the time)."""
    if not is_postgres:
        pytest.skip("SQLite's file takes no pool sizes")
    settings = Settings.from_env({})
    pooled = Database.from_settings(
        database_url, pool_size=settings.db_pool_size, pool_overflow=settings.db_pool_overflow
    )
    pool: Any = pooled.engine.pool
    opened: list[object] = []
    event.listen(pooled.engine.sync_engine, "connect", lambda *_: opened.append(None))
    try:
        for _ in range(2):
            async with contextlib.AsyncExitStack() as held:
                for _ in range(15):
                    await held.enter_async_context(pooled.engine.connect())
        assert (len(opened), pool.checkedin()) == (15, 15)
    finally:
        await pooled.dispose()


async def test_a_process_opens_at_most_pool_size_plus_overflow_connections(
    database_url: str, is_postgres: bool, db: Database
) -> None:
    if not is_postgres:
        pytest.skip("SQLite's file takes no pool sizes")
    small = Database.from_settings(database_url, pool_size=2, pool_overflow=1)
    pool: Any = small.engine.pool
    try:
        async with contextlib.AsyncExitStack() as held:
            for _ in range(3):
                await held.enter_async_context(small.engine.connect())
            assert pool.checkedout() == 3

            with pytest.raises(TimeoutError):  # the fourth waits for one of the three
                async with asyncio.timeout(0.5):
                    await small.engine.connect().start()
        # two stay open for the next requests, the one opened at the peak is closed
        assert pool.checkedin() == 2
    finally:
        await small.dispose()


async def test_the_service_takes_its_pool_sizes_from_its_settings(
    database_url: str,
    is_postgres: bool,
    settings: Settings,
    book: RuleBook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not is_postgres:
        pytest.skip("SQLite's file takes no pool sizes")
    made: list[Database] = []
    real = Database.from_settings

    def recording(*args: Any, **kwargs: Any) -> Database:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(Database, "from_settings", recording)
    create_app(dataclasses.replace(settings, db_pool_size=3, db_pool_overflow=4), book=book)
    try:
        (db,) = made
        pool: Any = db.engine.pool
        assert (pool.size(), pool._max_overflow) == (3, 4)
    finally:
        await made[0].dispose()
