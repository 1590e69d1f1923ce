"""Judge sessions on their dates of service: who renders, and what is wrong.

Used by the compliance report, the client's findings, the rendering-provider answers and
the warnings of appointment writes. Facts are loaded for the whole batch in a fixed number
of queries; the hooks then run per session in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.plugins import ClaimDecision
from cmgraph.services import loading
from cmgraph.services.scope import Scope


@dataclass(frozen=True)
class SessionKey:
    """What billing asks about: a client's line on a date, optionally one session of it."""

    client_id: UUID
    service_line: str
    date_of_service: date
    appointment: facts.Appointment | None = None


@dataclass(frozen=True)
class Verdict:
    key: SessionKey
    check: facts.SessionCheck
    claim: ClaimDecision
    findings: list[facts.Finding]

    @property
    def case_manager(self) -> facts.Assignment | None:
        return self.check.case_manager

    @property
    def rendering_provider_id(self) -> UUID | None:
        return self.claim.rendering_provider_id


async def _first_covered(
    session: AsyncSession, org: UUID, assignment_ids: Sequence[UUID]
) -> dict[UUID, datetime]:
    """For each assignment, when the first non-cancelled appointment it covers starts."""
    if not assignment_ids:
        return {}
    a, ap = models.Assignment, models.Appointment
    rows = await session.execute(
        select(a.id, func.min(ap.starts_at))
        .join(
            ap,
            and_(
                ap.organization_id == a.organization_id,
                ap.client_id == a.client_id,
                ap.service_line == a.service_line,
                ap.status != facts.AppointmentStatus.CANCELLED.value,
                ap.date_of_service >= a.start_date,
                or_(a.end_date.is_(None), ap.date_of_service <= a.end_date),
            ),
        )
        .where(a.organization_id == org, a.id.in_(assignment_ids))
        .group_by(a.id)
    )
    return {assignment_id: first for assignment_id, first in rows}


async def _day_sessions(
    session: AsyncSession, org: UUID, keys: Sequence[SessionKey]
) -> dict[tuple[UUID, date], list[facts.Appointment]]:
    """The clients' non-cancelled sessions on the dates in question, in every line."""
    found: dict[tuple[UUID, date], list[facts.Appointment]] = defaultdict(list)
    if not keys:
        return found
    ap = models.Appointment
    rows = await session.scalars(
        select(ap)
        .where(
            ap.organization_id == org,
            ap.client_id.in_({k.client_id for k in keys}),
            ap.date_of_service.in_({k.date_of_service for k in keys}),
            ap.status != facts.AppointmentStatus.CANCELLED.value,
        )
        .order_by(ap.starts_at, ap.id)
    )
    for row in rows:
        found[(row.client_id, row.date_of_service)].append(loading.appointment_fact(row))
    return found


async def judge(session: AsyncSession, scope: Scope, keys: Sequence[SessionKey]) -> list[Verdict]:
    """A verdict per key, in order, with seven queries whatever the number of keys."""
    org, book, clock = scope.organization_id, scope.book, scope.clock
    pairs = {(k.client_id, k.service_line) for k in keys}
    coverages = await loading.coverages(session, org, {c for c, _ in pairs})
    by_pair: dict[tuple[UUID, str], list[facts.Assignment]] = defaultdict(list)
    for assignment in await loading.assignments_of(session, org, pairs):
        by_pair[(assignment.client_id, assignment.service_line)].append(assignment)

    def cm_of(key: SessionKey) -> facts.Assignment | None:
        candidates = by_pair[(key.client_id, key.service_line)]
        return next((a for a in candidates if a.covers(key.date_of_service)), None)

    cms = {k: cm_of(k) for k in keys}
    in_use = {a for a in cms.values() if a is not None}
    people = {a.provider_id for a in in_use} | {
        k.appointment.provider_id for k in keys if k.appointment is not None
    }
    providers = await loading.providers(session, org, people)
    enrollments: dict[UUID, list[facts.Enrollment]] = defaultdict(list)
    for enrollment in await loading.enrollments(session, org, people):
        enrollments[enrollment.provider_id].append(enrollment)
    first = await _first_covered(session, org, [a.id for a in in_use if a.id is not None])
    day_sessions = await _day_sessions(session, org, keys)

    verdicts = []
    for key in keys:
        cm, appointment = cms[key], key.appointment
        payors = facts.Payors.on(coverages[key.client_id], key.date_of_service)
        deliverer = providers.get(appointment.provider_id) if appointment else None
        check = facts.SessionCheck(
            client_id=key.client_id,
            service_line=key.service_line,
            date_of_service=key.date_of_service,
            clock=clock,
            payors=payors,
            case_manager=cm,
            appointment=appointment,
            first_covered=bool(
                cm
                and cm.id in first
                and appointment is not None
                and not appointment.cancelled
                and appointment.starts_at == first[cm.id]
            ),
            lead_time=book.lead_time(key.service_line, payors),
            credentialed=(
                book.credentialed_with(
                    enrollments[cm.provider_id], cm.provider_id, payors, key.date_of_service
                )
                if cm
                else {}
            ),
            case_manager_provider=providers.get(cm.provider_id) if cm else None,
            deliverer=deliverer,
            deliverer_credentialed=bool(
                deliverer
                and payors.primary
                and book.credentialed(
                    enrollments[deliverer.id], deliverer.id, payors.primary, key.date_of_service
                )
            ),
            day_sessions=tuple(day_sessions[(key.client_id, key.date_of_service)]),
        )
        verdicts.append(Verdict(key, check, book.claim(check), book.check_session(check)))
    return verdicts


def key_of(appointment: models.Appointment) -> SessionKey:
    return SessionKey(
        appointment.client_id,
        appointment.service_line,
        appointment.date_of_service,
        loading.appointment_fact(appointment),
    )
