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


def new_row(
    scope: TenantScope,
    provider_id: UUID,
    payor_id: UUID,
    status: facts.EnrollmentStatus,
    effective_from: date | None,
    effective_to: date | None,
    applied_on: date | None = None,
) -> models.Enrollment:
    """The enrollment recordEnrollment adds, its input checked (raises Refused); the caller
    found the provider and the payor in the organization."""
    lookups.period(effective_from, effective_to, "effectiveTo")
    return models.Enrollment(
        organization_id=scope.organization_id,
        provider_id=provider_id,
        payor_id=payor_id,
        status=status.value,
        effective_from=effective_from,
        effective_to=effective_to,
        applied_on=applied_on,
    )


def edit(
    row: models.Enrollment,
    status: Update[facts.EnrollmentStatus | None] = KEEP,
    effective_from: Update[date | None] = KEEP,
    effective_to: Update[date | None] = KEEP,
    applied_on: Update[date | None] = KEEP,
) -> None:
    """Apply updateEnrollment's fields to the row once all of them are checked (raises
    Refused, leaving the row as it was)."""
    new_status = editing.not_cleared(status, "status")
    lookups.period(
        row.effective_from if effective_from is KEEP else effective_from,
        row.effective_to if effective_to is KEEP else effective_to,
        "effectiveTo",
    )
    editing.apply_given(
        row,
        status=new_status if new_status is KEEP else new_status.value,
        effective_from=effective_from,
        effective_to=effective_to,
        applied_on=applied_on,
    )


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
        row = new_row(
            scope, provider.id, payor.id, status, effective_from, effective_to, applied_on
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
        edit(row, status, effective_from, effective_to, applied_on)
        await session.flush()
        editing.record_updated(session, scope, "updateEnrollment", row, before)
        return Outcome(value=row)

    return await run_write(scope, use_case)
