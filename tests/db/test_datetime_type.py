"""Datetimes are stored on SQLite as the text its DATETIME type writes, whichever way they are
bound (db.models.UTCDateTime binds in one call what SQLAlchemy formats field by field)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Dialect, TypeDecorator
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import create_async_engine

from cmgraph.db import models

GIVEN = [
    datetime(2026, 3, 8, 9, 0, tzinfo=ZoneInfo("America/New_York")),  # EDT; no microseconds
    datetime(2026, 11, 1, 1, 30, 15, 250, tzinfo=ZoneInfo("America/Chicago")),  # DST's end
    datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
    datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),  # a year of three digits
    datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=14))),  # the day before in UTC
]

Bind = Callable[[Any], Any] | None


def _bound(dialect: Dialect) -> tuple[Bind, Bind]:
    """The column's binding, and SQLAlchemy's own: process_bind_param, then the dialect's."""
    column: Any = models.Appointment.__table__.c.starts_at.type.dialect_impl(dialect)
    return column.bind_processor(dialect), TypeDecorator.bind_processor(column, dialect)


def test_sqlite_stores_the_text_its_own_datetime_type_writes() -> None:
    ours, theirs = _bound(sqlite.dialect())
    assert ours is not None and theirs is not None
    for value in GIVEN:
        assert ours(value) == theirs(value), value
    assert ours(GIVEN[0]) == "2026-03-08 13:00:00.000000"
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive"):
        ours(datetime(2026, 3, 8, 9, 0))


def test_postgresql_binds_as_sqlalchemy_does() -> None:
    dialect = create_async_engine("postgresql+asyncpg://cmgraph@localhost/none").dialect
    ours, theirs = _bound(dialect)
    assert ours is not None and theirs is not None
    for value in GIVEN:
        assert ours(value) == theirs(value) == value.astimezone(UTC)


def test_sqlite_reads_the_datetimes_sqlalchemy_reads() -> None:
    """Read in one call (UTCDateTime.result_processor): what the TypeDecorator's own reading
    gives (the dialect's, then process_result_value), an aware UTC datetime."""
    dialect = sqlite.dialect()
    column: Any = models.Appointment.__table__.c.starts_at.type.dialect_impl(dialect)
    ours = column.result_processor(dialect, None)
    theirs = TypeDecorator.result_processor(column, dialect, None)
    bind = column.bind_processor(dialect)
    assert ours is not None and theirs is not None and bind is not None
    for value in GIVEN:
        stored = bind(value)
        assert ours(stored) == theirs(stored) == value.astimezone(UTC), value
        assert ours(stored).tzinfo is UTC
    assert ours("2026-03-08 13:00:00") == datetime(2026, 3, 8, 13, tzinfo=UTC)
    assert ours(None) is None
