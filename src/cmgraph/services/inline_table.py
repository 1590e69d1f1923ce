"""Rows sent with a statement, to join against: a batch's keys as a table.

A join to the exact (client, date) pairs of a batch reads only those days, where
`client IN (...) AND date IN (...)` reads every wanted client on every wanted date (their
cross product: a batch of 500 questions read 22,000 sessions to keep 600). A list of row
values (`(a, b) IN ((...), ...)`) would also be exact, but PostgreSQL spends seconds
planning one of thousands.

PostgreSQL gets one array parameter per column (`unnest($1::uuid[], $2::date[])`): the
statement's text and plan do not depend on the number of rows. SQLite has no arrays: it gets
the rows as one JSON parameter, read by `json_each` into a materialized common table
expression (materialized: so that the planner reads it first, then looks each row up by
index, instead of scanning the other table against the JSON). Its text does not depend on
the number of rows either, so SQLAlchemy compiles it once: a `VALUES` list of a batch's 500
pairs was a thousand bound parameters to compile for every request, a fifth of a batch's
time.

`any_of` is the one-column case, for `column IN (...)` of hundreds of ids: SQLAlchemy
renders an expanding IN's parameters for every execution (a rendering batch's statements
asked 2,750 of them), where `= ANY($1)` or `IN (SELECT value FROM json_each(?))` is one
parameter. The plans are those of the IN list: PostgreSQL turns one into `= ANY(array)`,
and SQLite looks each value up in the same index.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Dialect,
    String,
    any_,
    bindparam,
    column,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql import FromClause
from sqlalchemy.types import TypeEngine

Column = tuple[str, TypeEngine[Any]]


def inline_table(
    session: AsyncSession,
    name: str,
    columns: Sequence[Column],
    rows: Collection[tuple[Any, ...]],
) -> FromClause:
    """A table `name` of these rows, whose columns are `columns` (name, type). Rows must not
    be empty (then there is nothing to join: ask nothing)."""
    if not rows:
        raise ValueError("an inline table needs rows")
    typed = [column(column_name, type_) for column_name, type_ in columns]
    if session.get_bind().dialect.name == "postgresql":
        arrays = [
            bindparam(f"{name}_{column_name}", [row[i] for row in rows], type_=ARRAY(type_))
            for i, (column_name, type_) in enumerate(columns)
        ]
        return func.unnest(*arrays).table_valued(*typed).render_derived(name=name)
    return _json_rows(session, name, columns, rows)


def any_of(
    session: AsyncSession,
    name: str,
    target: ColumnElement[Any] | QueryableAttribute[Any],
    values: Collection[Any],
) -> ColumnElement[bool]:
    """`target IN values`, with the values as one parameter `name` (see the module's doc)."""
    dialect = session.get_bind().dialect
    return in_list(target, name, dialect.name, listed(dialect, target, values))


def in_list(
    target: ColumnElement[Any] | QueryableAttribute[Any],
    name: str,
    dialect: str,
    *value: Any,
) -> ColumnElement[bool]:
    """`target IN` the list that parameter `name` holds, its value made by `listed`: given
    here, or with each execution of a statement built once per kind of database."""
    given: dict[str, Any] = {"value": value[0]} if value else {}
    if dialect == "postgresql":
        return target == any_(bindparam(name, type_=ARRAY(target.type), **given))
    each = func.json_each(bindparam(name, type_=String(), **given)).table_valued("value")
    return target.in_(select(each.c.value))


def listed(
    dialect: Dialect,
    target: ColumnElement[Any] | QueryableAttribute[Any],
    values: Collection[Any],
) -> Any:
    """The value of an `in_list` parameter: the values themselves (PostgreSQL), or their JSON
    array as `target`'s column stores them (SQLite)."""
    return lister(dialect, target)(values)


def lister(
    dialect: Dialect, target: ColumnElement[Any] | QueryableAttribute[Any]
) -> Callable[[Collection[Any]], Any]:
    """`listed` for one target on one kind of database, its type's conversion looked up once.
    A statement built once and run with each request's keys (services.batches.Keyed) keeps
    it: looked up on each run (the attribute's type, then its bind processor), it was about
    70 µs of each statement on SQLite, a quarter of a one-client request's statements."""
    if dialect.name == "postgresql":
        return list
    stored = _stored(dialect, target.type)
    return lambda values: orjson.dumps([stored(v) for v in values]).decode()


def _stored(dialect: Dialect, type_: TypeEngine[Any]) -> Callable[[Any], Any]:
    """A value as a column of this type stores it on SQLite (a UUID's hex, a date's ISO
    text), for a JSON parameter."""
    to_db = type_.dialect_impl(dialect).bind_processor(dialect)
    if to_db is None:
        return lambda value: value
    return lambda value: None if value is None else to_db(value)


def _json_rows(
    session: AsyncSession,
    name: str,
    columns: Sequence[Column],
    rows: Collection[tuple[Any, ...]],
) -> FromClause:
    """SQLite: the rows as one JSON array of arrays, each value as the column's type stores
    it (a UUID's hex, a date's ISO text), taken apart by json_each and json_extract."""
    dialect = session.get_bind().dialect
    stored = [_stored(dialect, type_) for _, type_ in columns]
    text = orjson.dumps(
        [[store(value) for value, store in zip(row, stored, strict=True)] for row in rows]
    ).decode()
    each = func.json_each(bindparam(f"{name}_rows", text)).table_valued("value")
    return (
        select(
            *(
                type_coerce(func.json_extract(each.c.value, literal(f"$[{i}]")), type_).label(
                    column_name
                )
                for i, (column_name, type_) in enumerate(columns)
            )
        )
        .cte(name)
        .prefix_with("MATERIALIZED")
    )
