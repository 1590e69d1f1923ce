"""Pages of people (clients or providers) by name, in a stable order, with their total."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.services import batches, visibility
from cmgraph.services.scope import TenantScope

P = TypeVar("P", models.Client, models.Provider)


def name_matches(model: type[P], words: Sequence[str]) -> list[ColumnElement[bool]]:
    """Every word must appear in the first or last name, case-insensitively."""
    conditions = []
    for word in words:
        escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        conditions.append(
            or_(
                func.lower(model.first_name).like(pattern, escape="\\"),
                func.lower(model.last_name).like(pattern, escape="\\"),
            )
        )
    return conditions


NameKey = tuple[str, str, UUID]
"""Where a person stands in a page by name: last name, first name, id (the tie-breaker)."""
NAME_KEY_SHAPE = (str, str, UUID)


def name_key(row: models.Client | models.Provider) -> NameKey:
    return (row.last_name, row.first_name, row.id)


@functools.cache
def _first_page(model: type[P]) -> Select[Any]:
    """The first page (the limit's rows and one more) with the total in each row: one
    statement, not two. Built once (services.batches says why)."""
    return (
        select(*model.__table__.columns, func.count().over())
        .where(model.organization_id == batches.ORG)
        .order_by(*_order(model))
        .limit(bindparam("limit"))
    )


def _order(model: type[P]) -> tuple[Any, ...]:
    return (model.last_name, model.first_name, model.id)


async def page(
    session: AsyncSession,
    scope: TenantScope,
    model: type[P],
    conditions: Sequence[ColumnElement[bool]],
    after: NameKey | None,
    limit: int,
) -> tuple[int, list[P], bool]:
    """The total of the rows the caller may see that meet `conditions`, the page of them by
    last name, first name and id that follows `after` (from the start without it), and
    whether more follow. A keyset read: rows inserted or deleted before `after` shift
    nothing, and a deep page costs what the first costs."""
    connection = await session.connection()  # plain rows (services.batches): no ORM objects
    make = batches.record(model)
    if after is None:
        first = batches.narrowed(_first_page(model), scope, model).where(*conditions)
        counted = (
            await connection.execute(first, {"org": scope.organization_id, "limit": limit + 1})
        ).all()
        total = counted[0][-1] if counted else 0
        rows = [make(row[:-1]) for row in counted]
    else:
        where: list[Any] = [
            model.organization_id == scope.organization_id,
            visibility.row_visible(scope, model),
            *conditions,
        ]
        order = _order(model)
        total = await connection.scalar(select(func.count()).select_from(model).where(*where))
        where.append(tuple_(*order) > after)
        found = await connection.execute(
            select(*model.__table__.columns).where(*where).order_by(*order).limit(limit + 1)
        )
        rows = [make(row) for row in found]
    return int(total or 0), rows[:limit], len(rows) > limit
