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
        if priority < 1:
            raise refuse(INVALID_INPUT, "Priority starts at 1 (primary).", "priority")
        lookups.period(effective_from, effective_to, "effectiveTo")
        row = models.Coverage(
            organization_id=org,
            client_id=client.id,
            payor_id=payor.id,
            member_id=lookups.text(member_id, 64, "memberId"),
            priority=priority,
            effective_from=effective_from,
            effective_to=effective_to,
        )
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
        rank = editing.not_cleared(priority, "priority")
        starts = editing.not_cleared(effective_from, "effectiveFrom")
        if rank is not KEEP and rank < 1:
            raise refuse(INVALID_INPUT, "Priority starts at 1 (primary).", "priority")
        editing.apply_given(
            row,
            member_id=member_id if member_id is KEEP else lookups.text(member_id, 64, "memberId"),
            priority=rank,
            effective_from=starts,
            effective_to=effective_to,
        )
        lookups.period(row.effective_from, row.effective_to, "effectiveTo")
        await session.flush()
        editing.record_updated(session, scope, "updateCoverage", row, before)
        return Outcome(value=row)

    return await run_write(scope, use_case)
