"""Reading the audit trail (the change records): read-only, oldest first.

Oldest first, because offsets over an append-only table stay stable while events are added:
a page read earlier never shifts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models


@dataclass(frozen=True)
class Window:
    entity_id: UUID | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # inclusive


def _conditions(organization_id: UUID, window: Window) -> list[ColumnElement[bool]]:
    c = models.ChangeRecord
    conditions = [c.organization_id == organization_id]
    if window.entity_id is not None:
        conditions.append(c.entity_id == window.entity_id)
    if window.since is not None:
        conditions.append(c.occurred_at >= window.since)
    if window.until is not None:
        conditions.append(c.occurred_at <= window.until)
    return conditions


async def events(
    session: AsyncSession, organization_id: UUID, window: Window, offset: int, limit: int
) -> tuple[int, list[models.ChangeRecord]]:
    """(total, one page) of the events in the window."""
    c = models.ChangeRecord
    where = _conditions(organization_id, window)
    total = await session.scalar(select(func.count()).select_from(c).where(*where))
    rows = await session.scalars(
        select(c).where(*where).order_by(c.occurred_at, c.id).offset(offset).limit(limit)
    )
    return int(total or 0), list(rows)


async def events_by_entity(
    session: AsyncSession, organization_id: UUID, entity_ids: list[UUID]
) -> dict[UUID, list[models.ChangeRecord]]:
    """Every event of each entity, oldest first, in one query (the Clinical tab's history)."""
    c = models.ChangeRecord
    rows = await session.scalars(
        select(c)
        .where(c.organization_id == organization_id, c.entity_id.in_(entity_ids))
        .order_by(c.occurred_at, c.id)
    )
    found: dict[UUID, list[models.ChangeRecord]] = defaultdict(list)
    for row in rows:
        found[row.entity_id].append(row)
    return found
