"""Enrollments (a provider's credentialing with one payor): record and update."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import changes, editing, lookups
from cmgraph.services.outcome import KEEP, Outcome, Update
from cmgraph.services.scope import TenantScope
from cmgraph.services.transaction import run_write


async def record_enrollment(
    scope: TenantScope,
    provider_id: UUID | None,
    payor_id: UUID | None,
    status: facts.EnrollmentStatus,
    effective_from: date | None,
    effective_to: date | None,
    applied_on: date | None = None,
) -> Outcome[models.Enrollment]:
    async def use_case(session: AsyncSession) -> Outcome[models.Enrollment]:
        org = scope.organization_id
        provider = await lookups.get(
            session, models.Provider, org, provider_id, "providerId", lock=True
        )
        payor = await lookups.get(session, models.Payor, org, payor_id, "payorId")
        lookups.period(effective_from, effective_to, "effectiveTo")
        row = models.Enrollment(
            organization_id=org,
            provider_id=provider.id,
            payor_id=payor.id,
            status=status.value,
            effective_from=effective_from,
            effective_to=effective_to,
            applied_on=applied_on,
        )
        session.add(row)
        await session.flush()
        editing.record_created(session, scope, "recordEnrollment", row)
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def update_enrollment(
    scope: TenantScope,
    id: UUID | None,
    status: Update[facts.EnrollmentStatus | None] = KEEP,
    effective_from: Update[date | None] = KEEP,
    effective_to: Update[date | None] = KEEP,
    applied_on: Update[date | None] = KEEP,
) -> Outcome[models.Enrollment]:
    async def use_case(session: AsyncSession) -> Outcome[models.Enrollment]:
        row = await lookups.get(
            session, models.Enrollment, scope.organization_id, id, "id", lock=True
        )
        before = changes.snapshot(row)
        new_status = editing.not_cleared(status, "status")
        editing.apply_given(
            row,
            status=new_status if new_status is KEEP else new_status.value,
            effective_from=effective_from,
            effective_to=effective_to,
            applied_on=applied_on,
        )
        lookups.period(row.effective_from, row.effective_to, "effectiveTo")
        await session.flush()
        editing.record_updated(session, scope, "updateEnrollment", row, before)
        return Outcome(value=row)

    return await run_write(scope, use_case)
