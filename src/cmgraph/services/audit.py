"""Reading the audit trail (the change records): read-only, in commit order.

Each record has its organization's feed position, handed out at commit (services.positions),
so a reader that keeps the last position it saw and asks for those after it never skips a
record that committed late, nor sees one twice: a keyset read, which also costs the same
deep in the trail as at its start."""

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
    session: AsyncSession, organization_id: UUID, window: Window, position: int, limit: int
) -> tuple[int, list[models.ChangeRecord], bool]:
    """(total in the window, the page after `position`, whether more follow)."""
    c = models.ChangeRecord
    where = _conditions(organization_id, window)
    total = await session.scalar(select(func.count()).select_from(c).where(*where))
    rows = list(
        await session.scalars(
            select(c).where(*where, c.position > position).order_by(c.position).limit(limit + 1)
        )
    )
    return int(total or 0), rows[:limit], len(rows) > limit


async def events_by_entity(
    session: AsyncSession, organization_id: UUID, entity_ids: list[UUID]
) -> dict[UUID, list[models.ChangeRecord]]:
    """Every event of each entity, in commit order, in one query (the Clinical tab's
    history)."""
    c = models.ChangeRecord
    rows = await session.scalars(
        select(c)
        .where(c.organization_id == organization_id, c.entity_id.in_(entity_ids))
        .order_by(c.position)
    )
    found: dict[UUID, list[models.ChangeRecord]] = defaultdict(list)
    for row in rows:
        found[row.entity_id].append(row)
    return found
