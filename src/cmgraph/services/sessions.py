"""Judge sessions on their dates of service: who renders, and what is wrong.

Used by the compliance report, the client's findings, the rendering-provider answers and
the warnings of appointment writes. Facts are loaded for the whole batch in a fixed number
of queries; the hooks then run per session in memory.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Date, Uuid, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.plugins import ClaimDecision
from cmgraph.services import loading, pacing
from cmgraph.services.inline_table import any_of, inline_table
from cmgraph.services.scope import TenantScope


@dataclass(frozen=True)
class SessionKey:
    """What billing asks about: a client's line on a date, optionally one session of it."""

    client_id: UUID
    service_line: str
    date_of_service: date
    appointment: facts.Appointment | None = None


@dataclass
class Verdict:
    """A session's findings and, unless judge was told claims are not needed (the compliance
    report: three hook calls per session saved), its claim decision."""

    key: SessionKey
    check: facts.SessionCheck
    findings: list[facts.Finding]
    decided: ClaimDecision | None = None

    @property
    def claim(self) -> ClaimDecision:
        if self.decided is None:
            raise RuntimeError("judge(..., claims=False) made no claim decisions")
        return self.decided

    @property
    def case_manager(self) -> facts.Assignment | None:
        return self.check.case_manager

    @property
    def rendering_provider_id(self) -> UUID | None:
        return self.claim.rendering_provider_id


async def _first_covered(
    session: AsyncSession, org: UUID, assignment_ids: Sequence[UUID]
) -> dict[UUID, datetime]:
    """For each assignment, when the first non-cancelled appointment it covers starts.

    The first by date of service, then start: a date of service is the start's date in
    the organization's time zone, so that order is the order of starts, and the index of
    (client, line, date of service) hands it over without reading every later session of
    the line (as min(starts_at) did: 20 ms for 440 assignments on SQLite, now 5)."""
    if not assignment_ids:
        return {}
    a, ap = models.Assignment, models.Appointment
    first = (
        select(ap.starts_at)
        .where(
            ap.organization_id == a.organization_id,
            ap.client_id == a.client_id,
            ap.service_line == a.service_line,
            ap.status != facts.AppointmentStatus.CANCELLED.value,
            ap.date_of_service >= a.start_date,
            or_(a.end_date.is_(None), ap.date_of_service <= a.end_date),
        )
        .order_by(ap.date_of_service, ap.starts_at)
        .limit(1)
        .correlate(a)
        .scalar_subquery()
    )
    rows = await loading.rows_of(
        session,
        select(a.id, first).where(
            a.organization_id == org, any_of(session, "ids", a.id, assignment_ids)
        ),
    )
    found: dict[UUID, datetime] = {}
    async for chunk in pacing.Pacer().chunks(rows):
        found.update((assignment_id, at) for assignment_id, at in chunk if at is not None)
    return found


Days = dict[tuple[UUID, date], list[facts.Appointment]]
"""Sessions by (client, date of service), each day's in order of start."""


async def day_sessions(
    session: AsyncSession, org: UUID, days: Collection[tuple[UUID, date]]
) -> Days:
    """The clients' non-cancelled sessions on these (client, date of service) days, in every
    line: joined to the days themselves, so only they are read."""
    if not days:
        return {}
    wanted = inline_table(session, "wanted", (("client_id", Uuid()), ("day", Date())), set(days))
    ap = models.Appointment
    rows = await loading.rows_of(
        session,
        select(*loading.APPOINTMENT_FACT)
        .join(wanted, and_(ap.client_id == wanted.c.client_id, ap.date_of_service == wanted.c.day))
        .where(ap.organization_id == org, ap.status != facts.AppointmentStatus.CANCELLED.value),
    )
    return _by_day(await loading.facts_of(rows, _day_and_fact))


def _day_and_fact(row: loading.AnyRow) -> tuple[tuple[UUID, date], facts.Appointment]:
    day, appointment = loading.appointment_of_row(row)
    return (appointment.client_id, day), appointment


def _by_day(sessions: Iterable[tuple[tuple[UUID, date], facts.Appointment]]) -> Days:
    found: Days = defaultdict(list)
    for day, appointment in sessions:
        found[day].append(appointment)
    for in_order in found.values():
        if len(in_order) > 1:  # most days hold one session: nothing to order
            in_order.sort(key=lambda a: (a.starts_at, a.id))
    return found


def days_of(keys: Sequence[SessionKey]) -> Days:
    """The days of keys that hold every non-cancelled session of their clients' days."""
    return _by_day(
        ((k.client_id, k.date_of_service), k.appointment)
        for k in keys
        if k.appointment is not None and not k.appointment.cancelled
    )


async def judge(
    session: AsyncSession,
    scope: TenantScope,
    keys: Sequence[SessionKey],
    *,
    claims: bool = True,
    days: Days | None = None,
) -> list[Verdict]:
    """A verdict per key, in order, with seven queries whatever the number of keys. With
    claims, each claim decision is made here, so a plugin failing in it fails the batch.
    `days`, when the caller has them (days_of, day_sessions), are the non-cancelled
    sessions of every key's client and date of service, so they are not read again (six
    queries)."""
    org, book, clock = scope.organization_id, scope.book, scope.clock
    pairs = {(k.client_id, k.service_line) for k in keys}
    coverages = await loading.coverages(session, org, {c for c, _ in pairs})
    by_pair: dict[tuple[UUID, str], list[facts.Assignment]] = defaultdict(list)
    for assignment in await loading.assignments_of(session, org, pairs):
        by_pair[(assignment.client_id, assignment.service_line)].append(assignment)

    def cm_of(key: SessionKey) -> facts.Assignment | None:
        candidates = by_pair[(key.client_id, key.service_line)]
        return next((a for a in candidates if a.covers(key.date_of_service)), None)

    # By position, not by key: a key hashes its whole session, and a batch asks 500 of them.
    cms = [cm_of(k) for k in keys]
    in_use = {a for a in cms if a is not None}
    people = {a.provider_id for a in in_use} | {
        k.appointment.provider_id for k in keys if k.appointment is not None
    }
    providers = await loading.providers(session, org, people)
    # Many sessions share a client's day, a CM's day or a line's payors: the hooks are pure,
    # so each distinct question is asked once per batch.
    payors_on = functools.cache(_payors_by_coverages(coverages))
    enrollments: dict[tuple[UUID, UUID], list[facts.Enrollment]] = defaultdict(list)
    asked = await _asked(keys, cms, payors_on)
    for enrollment in await loading.enrollments_of(session, org, asked):
        enrollments[(enrollment.provider_id, enrollment.payor_id)].append(enrollment)
    first = await _first_covered(session, org, [a.id for a in in_use if a.id is not None])
    if days is None:
        days = await day_sessions(session, org, {(k.client_id, k.date_of_service) for k in keys})

    lead_time = functools.cache(book.lead_time_decision)
    qualifying = functools.cache(book.qualifying_decision)
    credentialed = functools.cache(
        lambda provider, payor, day, line: book.credentialed(
            enrollments[(provider, payor.id)], provider, payor, day, line
        )
    )

    verdicts = []
    pacer = pacing.Pacer()  # a batch of thousands of sessions is seconds of hooks
    for key, cm in zip(keys, cms, strict=True):
        if pacer.due():
            await pacer.turn()
        appointment = key.appointment
        day = key.date_of_service
        payors = payors_on(key.client_id, day)
        deliverer = providers.get(appointment.provider_id) if appointment else None
        lead, lead_by = lead_time(key.service_line, payors)
        qualifying_credentials, narrowed_by = qualifying(key.service_line, payors)
        check = facts.assembled(
            facts.SessionCheck,
            client_id=key.client_id,
            service_line=key.service_line,
            date_of_service=day,
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
            lead_time=lead,
            lead_time_by=lead_by,
            credentialed=(
                {p.id: credentialed(cm.provider_id, p, day, key.service_line) for p in payors.all}
                if cm
                else {}
            ),
            case_manager_provider=providers.get(cm.provider_id) if cm else None,
            # The payors of the date of service decide, as for enrollments (rule 2).
            qualifying_credentials=qualifying_credentials,
            qualifying_narrowed_by=narrowed_by,
            deliverer=deliverer,
            deliverer_credentialed=bool(
                deliverer
                and payors.primary
                and credentialed(deliverer.id, payors.primary, day, key.service_line)
            ),
            day_sessions=tuple(days.get((key.client_id, day), ())),
        )
        decided = book.claim(check) if claims else None
        verdict = Verdict(key, check, book.check_session(check), decided)
        verdicts.append(verdict)
    return verdicts


def _payors_by_coverages(
    coverages: dict[UUID, list[facts.Coverage]],
) -> Callable[[UUID, date], facts.Payors]:
    """facts.Payors.on(coverages[client], day), made once per client and set of coverages
    active: a client's coverages change on a few days, and its sessions fall on hundreds.
    Those days then share one Payors, and what is asked by payors (lead times, qualifying
    credentials, the hooks' plans) finds it at once."""
    made: dict[tuple[UUID, tuple[int, ...]], facts.Payors] = {}

    def payors_on(client: UUID, day: date) -> facts.Payors:
        of = coverages[client]
        key = (client, tuple(i for i, c in enumerate(of) if c.active_on(day)))
        found = made.get(key)
        if found is None:
            found = made[key] = facts.Payors.on(of, day)
        return found

    return payors_on


async def _asked(
    keys: Iterable[SessionKey],
    cms: Sequence[facts.Assignment | None],
    payors_on: Callable[[UUID, date], facts.Payors],
) -> set[tuple[UUID, UUID]]:
    """The (provider, payor) pairs whose enrollments the verdicts read: each CM's with every
    payor of its session's date, each deliverer's with the primary."""
    pairs: set[tuple[UUID, UUID]] = set()
    async for chunk in pacing.Pacer().chunks(zip(keys, cms, strict=True)):
        for key, cm in chunk:
            payors = payors_on(key.client_id, key.date_of_service)
            if cm is not None:
                pairs.update((cm.provider_id, p.id) for p in payors.all)
            if key.appointment is not None and payors.primary is not None:
                pairs.add((key.appointment.provider_id, payors.primary.id))
    return pairs


def key_of(appointment: loading.AppointmentRow) -> SessionKey:
    return SessionKey(
        appointment.client_id,
        appointment.service_line,
        appointment.date_of_service,
        loading.appointment_fact(appointment),
    )
