"""What will soon stop a current case manager from billing: findings that count from today."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import loading
from cmgraph.services.scope import TenantScope


async def findings(
    session: AsyncSession, scope: TenantScope, client_ids: Collection[UUID] | None = None
) -> dict[UUID, list[facts.Finding]]:
    """Per client, the findings about their assignments covering today (all clients: None)."""
    found: dict[UUID, list[facts.Finding]] = defaultdict(list)
    for (client_id, _), ahead in (await by_assignment(session, scope, client_ids)).items():
        found[client_id].extend(ahead)
    return found


async def by_assignment(
    session: AsyncSession, scope: TenantScope, client_ids: Collection[UUID] | None = None
) -> dict[tuple[UUID, UUID], list[facts.Finding]]:
    """Per (client, assignment) covering today, the findings about it (all clients: None)."""
    org, book, today = scope.organization_id, scope.book, scope.today()
    a = models.Assignment
    query = select(a).where(
        a.organization_id == org,
        a.start_date <= today,
        or_(a.end_date.is_(None), a.end_date >= today),
    )
    if client_ids is not None:
        query = query.where(a.client_id.in_(client_ids))
    current = [loading.assignment_fact(row) for row in await session.scalars(query)]
    found: dict[tuple[UUID, UUID], list[facts.Finding]] = {}
    if not current:
        return found
    people = {x.provider_id for x in current}
    providers = await loading.providers(session, org, people)
    coverages = await loading.coverages(session, org, {x.client_id for x in current})
    enrollments: dict[UUID, list[facts.Enrollment]] = defaultdict(list)
    for enrollment in await loading.enrollments(session, org, people):
        enrollments[enrollment.provider_id].append(enrollment)
    for assignment in current:
        provider = providers[assignment.provider_id]
        payors = facts.Payors.on(coverages[assignment.client_id], today)
        wanted = book.qualifying_credentials(assignment.service_line, payors)
        payor_ids = {p.id for p in payors.all}
        check = facts.CurrentAssignmentCheck(
            assignment=assignment,
            today=today,
            provider=provider,
            payors=payors,
            qualifying=tuple(c for c in provider.credentials if c.type.upper() in wanted),
            enrollments=tuple(e for e in enrollments[provider.id] if e.payor_id in payor_ids),
            windows=book.expiry_windows(payors),
        )
        assert assignment.id is not None, "a stored assignment"
        found[assignment.client_id, assignment.id] = book.check_current_assignment(check)
    return found
