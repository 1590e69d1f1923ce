"""Practice-wide findings over a window of dates of service, and a client's open findings."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import expiry, sessions
from cmgraph.services.outcome import INVALID_INPUT, refuse
from cmgraph.services.scope import Scope

_LIVE = models.Appointment.status != facts.AppointmentStatus.CANCELLED.value
_ORDER = (models.Appointment.date_of_service, models.Appointment.starts_at, models.Appointment.id)


def _wanted(findings: list[facts.Finding], codes: Collection[str] | None) -> list[facts.Finding]:
    return [f for f in findings if codes is None or f.code in codes]


async def findings(
    scope: Scope, start: date, end: date, codes: Collection[str] | None = None
) -> list[facts.Finding]:
    """Findings of every non-cancelled session whose date of service is in [start, end],
    then, when the window reaches today, the expiry warnings of current assignments."""
    if end < start:
        raise refuse(INVALID_INPUT, "The window ends before it starts.", "to")
    async with scope.db.read() as session:
        rows = await session.scalars(
            select(models.Appointment)
            .where(
                models.Appointment.organization_id == scope.organization_id,
                models.Appointment.date_of_service.between(start, end),
                _LIVE,
            )
            .order_by(*_ORDER)
        )
        verdicts = await sessions.judge(session, scope, [sessions.key_of(r) for r in rows])
        # What counts from today belongs to any window that reaches today.
        ahead = await expiry.findings(session, scope) if end >= scope.today() else {}
    found = [f for v in verdicts for f in _wanted(v.findings, codes)]
    return found + [f for c in ahead.values() for f in _wanted(c, codes)]


async def client_findings(
    session: AsyncSession, scope: Scope, client_ids: Collection[UUID]
) -> dict[UUID, list[facts.Finding]]:
    """Each client's findings over all of their non-cancelled sessions, and expiry warnings."""
    rows = await session.scalars(
        select(models.Appointment)
        .where(
            models.Appointment.organization_id == scope.organization_id,
            models.Appointment.client_id.in_(client_ids),
            _LIVE,
        )
        .order_by(*_ORDER)
    )
    verdicts = await sessions.judge(session, scope, [sessions.key_of(r) for r in rows])
    found: dict[UUID, list[facts.Finding]] = {c: [] for c in client_ids}
    for verdict in verdicts:
        found[verdict.key.client_id].extend(verdict.findings)
    for client_id, ahead in (await expiry.findings(session, scope, client_ids)).items():
        found[client_id].extend(ahead)
    return found
