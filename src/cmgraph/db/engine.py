"""Engines and sessions for SQLite (embedded) and PostgreSQL (production).

Writes must be serialized where it matters (rule 5). PostgreSQL does it with row locks and
an exclusion constraint. SQLite has one writer at a time, but its default deferred
transactions let two writers read the same state before either writes; write sessions
therefore open with BEGIN IMMEDIATE, which takes the write lock before the first read.

A PostgreSQL server that does not answer must not hold requests: connecting gives up after
CONNECT_TIMEOUT_SECONDS (db.faults), and pooled connections are pinged before use, so a
restarted server is reconnected to without restarting the service.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from cmgraph.db.faults import CONNECT_TIMEOUT_SECONDS

WRITE_OPTION = "cmgraph_write"


class DatabaseConfigError(Exception):
    """The database URL is unusable; the message fits on one line."""


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseConfigError(f"CMGRAPH_DATABASE_URL is not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(parsed, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseConfigError(f"unsupported database {parsed.get_backend_name()!r}")
    try:
        connect_args = {"timeout": CONNECT_TIMEOUT_SECONDS} | kwargs.pop("connect_args", {})
        return create_async_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    except Exception as exc:
        raise DatabaseConfigError(f"cannot use {parsed.render_as_string()}: {exc}") from exc


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (the driver would defer it to the first write).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # SQLite's lower() folds ASCII only; name search must find "Élise" as PostgreSQL does.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """One engine, with session factories for reads and for serialized writes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reader = async_sessionmaker(engine, expire_on_commit=False)
        self.writer = async_sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
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

    def read(self) -> AsyncSession:
        return self.reader()

    def write(self) -> AsyncSession:
        return self.writer()

    def snapshot(self) -> AsyncSession:
        """A read session whose statements all see one snapshot, for a report read in many
        statements."""
        return self.snapshots()

    async def dispose(self) -> None:
        await self.engine.dispose()
