"""Pages of people (clients or providers) by name, in a stable order, with their total."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.services import visibility
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


async def page(
    session: AsyncSession,
    scope: TenantScope,
    model: type[P],
    conditions: Sequence[ColumnElement[bool]],
    start: int,
    limit: int,
) -> tuple[int, list[P]]:
    """The total of the rows the caller may see that meet `conditions`, and one page of them
    by last name, first name and id."""
    where: list[Any] = [
        model.organization_id == scope.organization_id,
        visibility.row_visible(scope, model),
        *conditions,
    ]
    total = await session.scalar(select(func.count()).select_from(model).where(*where))
    rows = await session.scalars(
        select(model)
        .where(*where)
        .order_by(model.last_name, model.first_name, model.id)
        .offset(start)
        .limit(limit)
    )
    return int(total or 0), list(rows)
