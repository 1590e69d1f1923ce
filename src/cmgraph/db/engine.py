"""Engines and sessions for SQLite (embedded) and PostgreSQL (production).

Writes must be serialized where it matters (rule 5). PostgreSQL does it with row locks and
an exclusion constraint. SQLite has one writer at a time, but its default deferred
transactions let two writers read the same state before either writes; write sessions
therefore open with BEGIN IMMEDIATE, which takes the write lock before the first read.

A database that does not answer must not hold requests (README: 503 within 5 seconds):
connecting gives up after CONNECT_TIMEOUT_SECONDS, and every statement after
STATEMENT_TIMEOUT_SECONDS (db.faults): PostgreSQL's statement_timeout when the server is
slow, asyncpg's command_timeout when it says nothing at all (a stalled network), SQLite's busy
timeout when another writer holds the lock. Pooled connections are pinged before use, under
the same deadline, so a restarted server is reconnected to without restarting the service;
waiting for a free pooled connection, then pinging it or connecting anew, share one such
deadline (db.checkout). A connection that timed out is cut rather than reused or closed
gracefully: its state is unknown, and the server it waits on may never answer.
"""

from __future__ import annotations

import asyncio
import os
import stat
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_

from cmgraph.db import json_text
from cmgraph.db.checkout import DeadlinePool, remaining
from cmgraph.db.faults import CONNECT_TIMEOUT_SECONDS, STATEMENT_TIMEOUT_SECONDS

WRITE_OPTION = "cmgraph_write"
BULK_OPTION = "cmgraph_bulk"

# SQLite settings of a connection, per kind of transaction. A bulk import's batch writes
# thousands of rows whose keys are random (uuid ids), so nearly every row lands on another
# index page: a larger page cache keeps those pages in memory, and a rarer checkpoint copies
# a page that many batches rewrite into the database once rather than after nearly every
# batch. The connection goes back to the pool with SQLite's defaults, which every other
# transaction runs with.
_PRAGMAS = "cmgraph.sqlite_pragmas"
SQLITE_DEFAULTS = {"cache_size": -2000, "wal_autocheckpoint": 1000}
SQLITE_BULK = {"cache_size": -65536, "wal_autocheckpoint": 16384}  # 64 MiB; 64 MiB of WAL


class DatabaseConfigError(Exception):
    """The database URL is unusable; the message fits on one line."""


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(
    url: str, statement_timeout: float | None = STATEMENT_TIMEOUT_SECONDS, **kwargs: Any
) -> AsyncEngine:
    """statement_timeout=None: no deadline (migrations may rightly run for minutes)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseConfigError(f"CMGRAPH_DATABASE_URL is not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        busy = statement_timeout or 30.0
        engine = create_async_engine(
            parsed, connect_args={"timeout": busy}, json_serializer=json_text.dumps, **kwargs
        )
        _configure_sqlite(engine, busy)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseConfigError(f"unsupported database {parsed.get_backend_name()!r}")
    connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_SECONDS}
    if statement_timeout is not None:
        # The server cancels a slow statement itself a second before the client gives up on
        # a silent one, so that a merely slow server costs no connection.
        server_ms = int(max(statement_timeout - 1, statement_timeout / 2) * 1000)
        connect_args |= {
            "command_timeout": statement_timeout,
            "server_settings": {"statement_timeout": str(server_ms)},
        }
    connect_args |= kwargs.pop("connect_args", {})
    if statement_timeout is not None:
        # Waiting for a pooled connection is waiting on the database too: while it stalls,
        # every connection is held by a statement that waits for its deadline, and the
        # pool's default wait (30 s) would hold the request far past it.
        kwargs.setdefault("pool_timeout", statement_timeout)
        kwargs.setdefault("poolclass", DeadlinePool)
    try:
        engine = create_async_engine(
            parsed,
            pool_pre_ping=True,
            connect_args=connect_args,
            json_serializer=json_text.dumps,
            **kwargs,
        )
    except Exception as exc:
        raise DatabaseConfigError(f"cannot use {parsed.render_as_string()}: {exc}") from exc
    if statement_timeout is not None:
        _bound_postgresql(engine, statement_timeout)
    return engine


def _bound_postgresql(engine: AsyncEngine, seconds: float) -> None:
    dialect: Any = engine.sync_engine.dialect
    # asyncpg connections that stopped answering (given up on after `seconds`)
    silent: weakref.WeakSet[Any] = weakref.WeakSet()
    terminate_gracefully = dialect.do_terminate

    def terminate(dbapi_connection: Any) -> None:
        # SQLAlchemy closes a dropped connection gracefully first, waiting up to 2 s for the
        # server to see it go: a server that stopped answering never will, and the request
        # that dropped it would wait on top of its deadline. Such a connection is cut.
        if dbapi_connection._connection in silent:
            dbapi_connection._connection.terminate()
        else:
            terminate_gracefully(dbapi_connection)

    dialect.do_terminate = terminate

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect_by_the_deadline(
        dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]
    ) -> None:
        # cparams are the engine's own, kept between connects: set from the constant each time
        cparams["timeout"] = remaining(CONNECT_TIMEOUT_SECONDS)

    def ping(dbapi_connection: Any) -> bool:
        # SQLAlchemy's own ping wraps the ping in BEGIN ... ROLLBACK, and that ROLLBACK waits
        # (unbounded) for the timed-out ping's cancel request to reach a server that does
        # not answer. One bounded statement instead; a failure drops the connection (the pool
        # then connects anew, itself bounded by the connect timeout).
        try:
            await_(dbapi_connection._connection.fetchrow(";", timeout=remaining(seconds)))
        except TimeoutError:
            # Silent for the whole deadline: the request has had its time. Not a disconnect,
            # so the pool does not connect anew within this request (connecting to a stalled
            # server would wait its own deadline on top); it drops this connection, and the
            # next request connects.
            silent.add(dbapi_connection._connection)
            raise
        except Exception as error:
            dbapi_connection._handle_exception(error)
        return True

    dialect.do_ping = ping

    @event.listens_for(engine.sync_engine, "handle_error")
    def _drop_timed_out(context: ExceptionContext) -> None:
        # asyncpg gave up on a statement (command_timeout): the connection is mid-protocol
        # and waits for a cancel the server may never see; reusing it, or rolling it back,
        # would wait again. Treat it as lost: SQLAlchemy closes it and raises at once.
        if isinstance(context.original_exception, asyncio.TimeoutError):
            context.is_disconnect = True
            held = context.connection
            dbapi_connection: Any = held.connection.dbapi_connection if held else None
            if dbapi_connection is not None:
                silent.add(dbapi_connection._connection)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: AsyncEngine, busy_seconds: float) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Let us emit BEGIN ourselves (the driver would defer it to the first write).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.close()
        _set_pragmas(dbapi_connection, record, SQLITE_DEFAULTS)
        # SQLite's lower() folds ASCII only; name search must find "Élise" as PostgreSQL does.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "handle_error")
    def _recycle_read_only(context: ExceptionContext) -> None:
        # A connection opened while the file (or its -wal/-shm) was read-only stays read-only
        # after the file is fixed: drop it, and the pool's others of its time, so that the
        # next request opens a connection that can write.
        if "readonly database" in str(context.original_exception):
            context.is_disconnect = True

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        wanted = SQLITE_BULK if options.get(BULK_OPTION, False) else SQLITE_DEFAULTS
        if conn.connection.info.get(_PRAGMAS) is not wanted:  # a bulk batch begins
            _set_pragmas(conn.connection.dbapi_connection, conn.connection, wanted)
        if options.get(WRITE_OPTION, False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            _begin_reading(conn)

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        # A bulk batch's connection goes back to the pool with the defaults, so that no
        # later request on it pays for restoring them.
        if dbapi_connection is not None and record.info.get(_PRAGMAS) is not SQLITE_DEFAULTS:
            _set_pragmas(dbapi_connection, record, SQLITE_DEFAULTS)


def _begin_reading(conn: Connection) -> None:
    """A read's BEGIN in one call to the driver's thread. Through SQLAlchemy's cursor it was
    three (the cursor opened, the statement run, the cursor closed): about 0.2 ms of a
    one-client request's 2.3 ms of CPU (bench.pages_cpu). Like the pragmas, no listener sees
    it (statement counts, traces). Should the driver refuse it, SQLAlchemy's own BEGIN is
    sent instead, so that the error reaches the request as SQLAlchemy reports it
    (db.faults)."""
    driver: Any = conn.connection.driver_connection  # aiosqlite's connection
    try:
        await_(driver.execute("BEGIN"))
    except Exception:
        conn.exec_driver_sql("BEGIN")


def _set_pragmas(dbapi_connection: Any, record: Any, pragmas: dict[str, int]) -> None:
    """On the driver's connection itself: statements of no transaction, that no listener of
    SQLAlchemy's (statement counts, traces) sees."""
    cursor = dbapi_connection.cursor()
    for name, value in pragmas.items():
        cursor.execute(f"PRAGMA {name}={value}")
    cursor.close()
    record.info[_PRAGMAS] = pragmas


def unwritable_sqlite_files(url: str) -> list[str]:
    """For a SQLite URL, the database file, its -wal and -shm files (those that exist) and its
    folder that cmgraph cannot write, or that grant their owner no write permission (SQLite
    then creates -shm read-only too, and it stays so after the file is fixed); one line each,
    saying what to do."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return []
    database = Path(parsed.database or "")
    problems = []
    if not os.access(database.parent if str(database.parent) else Path("."), os.W_OK):
        problems.append(f"{database.parent}: cannot create files in this folder")
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists() and (
            not os.access(path, os.W_OK) or not path.stat().st_mode & stat.S_IWUSR
        ):
            mode = oct(stat.S_IMODE(path.stat().st_mode))
            fix = (
                "make it writable"
                if path == database
                else "remove it while no cmgraph process runs, or make it writable"
            )
            problems.append(f"{path} is not writable (mode {mode}): {fix}")
    return problems


class Database:
    """One engine, with session factories for reads and for serialized writes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reader = async_sessionmaker(engine, expire_on_commit=False)
        self.writer = async_sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        self.bulk_writer = async_sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True, BULK_OPTION: True}),
            expire_on_commit=False,
        )
        # SQLite's read transaction is one snapshot already; PostgreSQL needs REPEATABLE READ.
        self.snapshots = (
            async_sessionmaker(
                engine.execution_options(isolation_level="REPEATABLE READ"),
                expire_on_commit=False,
            )
            if engine.dialect.name == "postgresql"
            else self.reader
        )

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(create_engine(url, **kwargs))

    @classmethod
    def from_settings(cls, url: str, pool_size: int, pool_overflow: int) -> Database:
        """The service's database: on PostgreSQL a pool of `pool_size` connections kept open
        and `pool_overflow` more at a peak (README, "Running at scale"); SQLite's file
        takes no such sizes."""
        try:
            postgresql = make_url(url).get_backend_name() == "postgresql"
        except ArgumentError:
            postgresql = False  # from_url says what is wrong with it, in one line
        if not postgresql:
            return cls.from_url(url)
        return cls.from_url(url, pool_size=pool_size, max_overflow=pool_overflow)

    def read_connection(self) -> AsyncConnection:
        """A connection for a request's reads (services.reader), connected when awaited."""
        return self.engine.connect()

    def read(self, connection: AsyncConnection | None = None) -> AsyncSession:
        """A read session; on `connection` (in a transaction) when given: the session
        joins that transaction and leaves its end to the connection (services.reader)."""
        return self.reader() if connection is None else self.reader(bind=connection)

    def write(self) -> AsyncSession:
        return self.writer()

    def bulk_write(self) -> AsyncSession:
        """A write session for a bulk import's batch: the same transaction as `write`, on
        SQLite with the connection set for many rows (SQLITE_BULK)."""
        return self.bulk_writer()

    def snapshot(self) -> AsyncSession:
        """A read session whose statements all see one snapshot, for a report read in many
        statements."""
        return self.snapshots()

    async def dispose(self) -> None:
        await self.engine.dispose()
