"""Coverages (a client's insurance with one payor): add and update."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.services import changes, editing, lookups
from cmgraph.services.outcome import INVALID_INPUT, KEEP, Outcome, Update, refuse
from cmgraph.services.scope import TenantScope
from cmgraph.services.transaction import run_write


def new_row(
    scope: TenantScope,
    client_id: UUID,
    payor_id: UUID,
    member_id: str | None,
    priority: int,
    effective_from: date,
    effective_to: date | None,
) -> models.Coverage:
    """The coverage addCoverage adds, its input checked (raises Refused); the caller found
    the client and the payor in the organization."""
    if priority < 1:
        raise refuse(INVALID_INPUT, "Priority starts at 1 (primary).", "priority")
    lookups.period(effective_from, effective_to, "effectiveTo")
    return models.Coverage(
        organization_id=scope.organization_id,
        client_id=client_id,
        payor_id=payor_id,
        member_id=lookups.text(member_id, 64, "memberId"),
        priority=priority,
        effective_from=effective_from,
        effective_to=effective_to,
    )


def edit(
    row: models.Coverage,
    member_id: Update[str | None] = KEEP,
    priority: Update[int | None] = KEEP,
    effective_from: Update[date | None] = KEEP,
    effective_to: Update[date | None] = KEEP,
) -> None:
    """Apply updateCoverage's fields to the row once all of them are checked (raises Refused,
    leaving the row as it was)."""
    rank = editing.not_cleared(priority, "priority")
    starts = editing.not_cleared(effective_from, "effectiveFrom")
    if rank is not KEEP and rank < 1:
        raise refuse(INVALID_INPUT, "Priority starts at 1 (primary).", "priority")
    member = member_id if member_id is KEEP else lookups.text(member_id, 64, "memberId")
    lookups.period(
        row.effective_from if starts is KEEP else starts,
        row.effective_to if effective_to is KEEP else effective_to,
        "effectiveTo",
    )
    editing.apply_given(
        row, member_id=member, priority=rank, effective_from=starts, effective_to=effective_to
    )


async def add_coverage(
    scope: TenantScope,
    client_id: UUID | None,
    payor_id: UUID | None,
    member_id: str | None,
    priority: int,
    effective_from: date,
    effective_to: date | None,
) -> Outcome[models.Coverage]:
    async def use_case(session: AsyncSession) -> Outcome[models.Coverage]:
        org = scope.organization_id
        client = await lookups.get(session, models.Client, org, client_id, "clientId", lock=True)
        payor = await lookups.get(session, models.Payor, org, payor_id, "payorId")
        row = new_row(scope, client.id, payor.id, member_id, priority, effective_from, effective_to)
        session.add(row)
        await session.flush()
        editing.record_created(session, scope, "addCoverage", row)
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def update_coverage(
    scope: TenantScope,
    id: UUID | None,
    member_id: Update[str | None] = KEEP,
    priority: Update[int | None] = KEEP,
    effective_from: Update[date | None] = KEEP,
    effective_to: Update[date | None] = KEEP,
) -> Outcome[models.Coverage]:
    async def use_case(session: AsyncSession) -> Outcome[models.Coverage]:
        row = await lookups.get(
            session, models.Coverage, scope.organization_id, id, "id", lock=True
        )
        before = changes.snapshot(row)
        edit(row, member_id, priority, effective_from, effective_to)
        await session.flush()
        editing.record_updated(session, scope, "updateCoverage", row, before)
        return Outcome(value=row)

    return await run_write(scope, use_case)
