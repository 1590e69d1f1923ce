"""Claim lines: for every session, what goes on the claim line for its payor; and what breaks
when a provider's enrollment with a payor lapses."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import loading, lookups, sessions
from cmgraph.services.outcome import INVALID_INPUT, refuse
from cmgraph.services.scope import TenantScope

LIVE = tuple(s for s in facts.AppointmentStatus if s is not facts.AppointmentStatus.CANCELLED)


# Claim lines page by session: the date of service, the start, then the session's id as
# the tie-breaker (the report's order). A session's claim line is computed when read, but
# the session row is stored, so its key is stable while the session is not rescheduled.
LineKey = tuple[date, datetime, UUID]
LINE_KEY_SHAPE = (date, datetime, UUID)


def line_key(verdict: sessions.Verdict) -> LineKey:
    appointment = verdict.key.appointment
    assert appointment is not None, "a claim line is judged for a session"
    return (verdict.key.date_of_service, appointment.starts_at, appointment.id)


async def claim_lines(
    session: AsyncSession,
    scope: TenantScope,
    start: date,
    end: date,
    client_id: UUID | None,
    statuses: Collection[facts.AppointmentStatus] | None,
    after: LineKey | None,
    limit: int,
    *,
    count: bool = True,
) -> tuple[int | None, list[sessions.Verdict], bool]:
    """For sessions whose date of service is in [start, end]: how many there are (None
    unless `count`: a month's count reads every session of the month), the verdicts of the
    page that follows `after` (a keyset read: no OFFSET), and whether more follow. On the
    caller's session: the request's reader, whose connection and transaction the page's
    related objects are read on too (a session of its own was a second checkout, ping,
    BEGIN and ROLLBACK per request)."""
    if end < start:
        raise refuse(INVALID_INPUT, "The window ends before it starts.", "to")
    ap = models.Appointment
    where = [
        ap.organization_id == scope.organization_id,
        ap.date_of_service.between(start, end),
        ap.status.in_([s.value for s in (statuses or LIVE)]),
    ]
    if client_id is not None:
        where.append(ap.client_id == client_id)
    order = (ap.date_of_service, ap.starts_at, ap.id)
    total = (
        int(await session.scalar(select(func.count()).select_from(ap).where(*where)) or 0)
        if count
        else None
    )
    if after is not None:
        where.append(tuple_(*order) > after)
    rows = list(
        await loading.rows_of(
            session,
            select(*loading.APPOINTMENT_FACT).where(*where).order_by(*order).limit(limit + 1),
        )
    )
    page = rows[:limit]
    verdicts = await sessions.judge(session, scope, [sessions.key_of(r) for r in page])
    return total, verdicts, len(rows) > limit


@dataclass(frozen=True)
class Impact:
    assignments: list[models.Assignment]
    client_ids: list[UUID]
    appointments: list[models.Appointment]


async def enrollment_impact(
    scope: TenantScope, provider_id: UUID | None, payor_id: UUID | None, lapse_on: date
) -> Impact:
    """What breaks if the provider's enrollment with the payor lapses on `lapse_on`:
    the assignments where the payor is the client's primary then, and the sessions from that
    date whose claim line that payor would get with this provider rendering."""
    org = scope.organization_id
    async with scope.db.read() as session:
        provider = await lookups.get(session, models.Provider, org, provider_id, "providerId")
        payor = await lookups.get(session, models.Payor, org, payor_id, "payorId")
        a, ap = models.Assignment, models.Appointment
        assignments = list(
            await session.scalars(
                select(a)
                .where(
                    a.organization_id == org,
                    a.provider_id == provider.id,
                    or_(a.end_date.is_(None), a.end_date >= lapse_on),
                )
                .order_by(a.start_date, a.id)
            )
        )
        delivered = set(
            await session.scalars(
                select(ap.client_id).where(
                    ap.organization_id == org,
                    ap.provider_id == provider.id,
                    ap.date_of_service >= lapse_on,
                )
            )
        )
        clients = {x.client_id for x in assignments} | delivered
        coverages = await loading.coverages(session, org, clients)
        rows = (
            list(
                await session.scalars(
                    select(ap)
                    .where(
                        ap.organization_id == org,
                        ap.client_id.in_(clients),
                        ap.date_of_service >= lapse_on,
                        ap.status != facts.AppointmentStatus.CANCELLED.value,
                    )
                    .order_by(ap.date_of_service, ap.starts_at, ap.id)
                )
            )
            if clients
            else []
        )
        verdicts = await sessions.judge(session, scope, [sessions.key_of(r) for r in rows])

    def primary_while_assigned(x: models.Assignment) -> bool:
        days = [max(x.start_date, lapse_on)] + [
            c.effective_from
            for c in coverages[x.client_id]
            if c.payor.id == payor.id and c.effective_from > lapse_on
        ]
        return any(
            x.end_date is None or day <= x.end_date
            for day in days
            if (p := facts.Payors.on(coverages[x.client_id], day).primary) and p.id == payor.id
        )

    affected = [x for x in assignments if primary_while_assigned(x)]
    billed = [
        row
        for row, verdict in zip(rows, verdicts, strict=True)
        if verdict.rendering_provider_id == provider.id
        and verdict.check.payor is not None
        and verdict.check.payor.id == payor.id
    ]
    client_ids = list(
        dict.fromkeys([x.client_id for x in affected] + [r.client_id for r in billed])
    )
    return Impact(affected, client_ids, billed)
