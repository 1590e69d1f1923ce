"""Rows sent with a statement, to join against: a batch's keys as a table.

A join to the exact (client, date) pairs of a batch reads only those days, where
`client IN (...) AND date IN (...)` reads every wanted client on every wanted date (their
cross product: a batch of 500 questions read 22,000 sessions to keep 600). A list of row
values (`(a, b) IN ((...), ...)`) would also be exact, but PostgreSQL spends seconds
planning one of thousands.

PostgreSQL gets one array parameter per column (`unnest($1::uuid[], $2::date[])`): the
statement's text and plan do not depend on the number of rows. SQLite has no arrays, so it
gets a `VALUES` list in a common table expression.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import bindparam, column, func, values
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
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
    return values(*typed, name=name).data(list(rows)).cte(name)
