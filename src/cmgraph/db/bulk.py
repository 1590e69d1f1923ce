"""Many rows into one table at once: COPY on PostgreSQL, the driver's executemany elsewhere.

A bulk import writes a hundred thousand appointments, and a change record and an event for
each. SQLAlchemy's executemany turns every row into a dict of bound parameters one by one;
here each column's values go through that column's own bind processor (what SQLAlchemy
would send), and the rows go to the driver as tuples. On PostgreSQL, from COPY_FROM rows,
they go by COPY (asyncpg's copy_records_to_table, on the session's own connection and in its
transaction), which spares the server a statement per row. Either way the stored rows are
the same (tests/db/test_bulk.py holds them equal): only the transport differs.

Runs where SQLAlchemy runs sync code (Session events, run_sync): COPY is awaited there as
the asyncpg dialect awaits its own calls.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, insert
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.util import await_

M = TypeVar("M", bound=Hashable)

COPY_FROM = 100
"""Fewer rows go by executemany: COPY's own round trips (asyncpg reads the table's column
types first) cost more than a few rows."""


@functools.cache
def _statement(table: Table, columns: tuple[str, ...], dialect: Dialect) -> str:
    """The INSERT of these columns, in the driver's own parameter style."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    assert compiled.positiontup is not None and list(compiled.positiontup) == list(columns)
    return str(compiled)


@functools.cache
def _processors(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[Callable[[Any], Any] | None, ...]:
    types = (table.c[name].type.dialect_impl(dialect) for name in columns)
    return tuple(t.bind_processor(dialect) for t in types)


def _columns(table: Table, row: Mapping[str, Any]) -> tuple[str, ...]:
    """The table's columns the rows give. A column left out takes its server default; one
    with a default made in Python must be given (SQLAlchemy would make it per row)."""
    columns = tuple(c.name for c in table.columns if c.name in row)
    missing = [c.name for c in table.columns if c.name not in row and c.default is not None]
    if missing or len(columns) != len(row):
        raise ValueError(f"rows of {table.name} must give {missing} and only its columns")
    return columns


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows (dicts with the same keys: the table's column names) into table."""
    if not rows:
        return
    dialect = connection.dialect
    columns = _columns(table, rows[0])
    values = [[row[name] for row in rows] for name in columns]  # column by column
    for i, process in enumerate(_processors(table, columns, dialect)):
        if process is not None:
            values[i] = [process(v) for v in values[i]]
    records = list(zip(*values, strict=True))
    copying = dialect.name == "postgresql" and len(rows) >= COPY_FROM
    if copying and _copy(connection, table, columns, records):
        return
    connection.exec_driver_sql(_statement(table, columns, dialect), records)


def _copy(
    connection: Connection, table: Table, columns: tuple[str, ...], records: list[tuple[Any, ...]]
) -> bool:
    """COPY the records in on the connection's asyncpg connection; False when that
    connection is not in a transaction yet (its BEGIN is sent with the first statement),
    and COPY would then commit on its own."""
    driver = connection.connection.driver_connection
    if driver is None or not driver.is_in_transaction():
        return False
    from asyncpg.exceptions import IntegrityConstraintViolationError

    try:
        await_(driver.copy_records_to_table(table.name, records=records, columns=list(columns)))
    except IntegrityConstraintViolationError as error:
        # As SQLAlchemy reports it, so that callers refuse rows as they would (a unique
        # value taken, a client removed meanwhile).
        raise sa_exc.IntegrityError(f"COPY {table.name}", None, error) from error
    return True


@functools.cache
def _manager(model: type[Any]) -> Any:
    return sa_inspect(model).class_manager


def mapped(model: type[M], values: Mapping[str, Any]) -> M:
    """An object of `model` holding `values`, made as SQLAlchemy makes a row it loads (its
    state, then its columns in its dict), without the attribute events of the constructor
    (which cost several times the rest of a row a bulk import makes): for what reads a row
    inserted with insert_rows, its change record and event. A new object still: added to a
    session, it would be inserted with these values as any other."""
    row: M = _manager(model).new_instance()
    vars(row).update(values)
    return row
