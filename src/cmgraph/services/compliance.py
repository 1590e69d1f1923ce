"""Practice-wide findings over a window of dates of service, and a client's open findings."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import expiry, findings, loading, sessions
from cmgraph.services.outcome import INVALID_INPUT, refuse
from cmgraph.services.scope import TenantScope

_LIVE = models.Appointment.status != facts.AppointmentStatus.CANCELLED.value
_ORDER = (models.Appointment.date_of_service, models.Appointment.starts_at, models.Appointment.id)


SESSIONS_PER_BATCH = 10_000
"""How many sessions are judged at a time: what the report holds in memory, whatever the
window (a busier day is judged whole, alone)."""


SESSIONS, EXPIRING = 0, 1


@dataclass(frozen=True, order=True)
class Place:
    """Where a finding stands in the report: the keyset of its cursor.

    First the session findings, by (date of service, start, session id, the judge's order
    within the session): the stored findings' own order (services.findings.SortKey). Then
    the expiry warnings, computed at read time, by (client id, assignment id, the judge's
    order within the assignment). Sessions and assignments are rows with stable ids, so a
    session or assignment whose findings appear or vanish between two pages shifts nothing
    else; only within the one session (or assignment) a cursor stands in do the rest follow
    by their place in the judge's order."""

    phase: int  # SESSIONS or EXPIRING
    key: tuple[Any, ...]


@dataclass(frozen=True)
class FindingsPage:
    findings: list[facts.Finding]
    places: list[Place]  # of each finding, for its cursor
    has_next: bool
    total: int | None  # None when the caller did not ask for it (then counting stops early)


def _page(keyed: list[tuple[Place, facts.Finding]], limit: int, total: int | None) -> FindingsPage:
    """The first `limit` of up to limit + 1 findings in report order."""
    return FindingsPage(
        [f for _, f in keyed[:limit]],
        [p for p, _ in keyed[:limit]],
        has_next=len(keyed) > limit,
        total=total,
    )


async def _expiring(
    session: AsyncSession, scope: TenantScope, codes: Collection[str] | None
) -> list[tuple[Place, facts.Finding]]:
    """The expiry warnings of the assignments covering today, in report order."""
    found = await expiry.by_assignment(session, scope)
    keyed = [
        (Place(EXPIRING, (client_id, assignment_id, seq)), finding)
        for (client_id, assignment_id), ahead in found.items()
        for seq, finding in enumerate(ahead)
    ]
    keyed.sort(key=lambda pair: pair[0])
    return [(p, f) for p, f in keyed if codes is None or f.code in codes]


def _batches(day_counts: list[tuple[date, int]], size: int) -> list[tuple[date, date]]:
    """Consecutive days grouped into [first, last] ranges of at most `size` sessions; a day
    is never split, so each batch holds every session of its clients' days."""
    ranges: list[tuple[date, date]] = []
    first: date | None = None
    last: date | None = None
    held = 0
    for day, count in day_counts:
        if first is not None and last is not None and held + count > size:
            ranges.append((first, last))
            first, held = None, 0
        first, last, held = first or day, day, held + count
    if first is not None and last is not None:
        ranges.append((first, last))
    return ranges


async def _session_batches(
    session: AsyncSession, scope: TenantScope, start: date, end: date
) -> AsyncGenerator[list[sessions.SessionKey], None]:
    """The window's non-cancelled sessions in report order, a batch of whole days at a time."""
    ap = models.Appointment
    in_window = (ap.organization_id == scope.organization_id, _LIVE)
    day_counts = await session.execute(
        select(ap.date_of_service, func.count())
        .where(*in_window, ap.date_of_service.between(start, end))
        .group_by(ap.date_of_service)
        .order_by(ap.date_of_service)
    )
    for first, last in _batches([(d, n) for d, n in day_counts], SESSIONS_PER_BATCH):
        rows = await session.execute(
            select(*loading.APPOINTMENT_FACT)
            .where(*in_window, ap.date_of_service.between(first, last))
            .order_by(*_ORDER)
        )
        yield [sessions.key_of(r) for r in rows]


async def findings_page(
    scope: TenantScope,
    start: date,
    end: date,
    codes: Collection[str] | None,
    after: Place | None,
    limit: int,
    *,
    count: bool,
) -> FindingsPage:
    """The findings that follow `after` (from the start without it), `limit` of them, of
    every non-cancelled session whose date of service is in [start, end], then, when the
    window reaches today, the expiry warnings of current assignments. The session findings
    are read from the stored ones (services.findings) when they can answer, else judged
    live."""
    if end < start:
        raise refuse(INVALID_INPUT, "The window ends before it starts.", "to")
    # One snapshot for every statement: a session moved to another day while the report
    # reads is counted once, on one of them.
    async with scope.db.snapshot() as session:
        trust = await findings.stored(session, scope)
        if trust is not None:
            return await _stored_page(
                session, scope, trust, start, end, codes, after, limit, count=count
            )
        return await live_findings_page(
            session, scope, start, end, codes, after, limit, count=count
        )


async def _stored_page(
    session: AsyncSession,
    scope: TenantScope,
    trust: findings.Stored,
    start: date,
    end: date,
    codes: Collection[str] | None,
    after: Place | None,
    limit: int,
    *,
    count: bool,
) -> FindingsPage:
    """The page from the stored findings, then the expiry warnings (computed now) when the
    window reaches today and the page or the count reaches them."""
    in_sessions = after is None or after.phase == SESSIONS
    found = await findings.session_findings(
        session,
        scope,
        trust,
        (start, end),
        codes,
        after.key if after is not None and in_sessions else None,
        limit if in_sessions else None,
        count=count,
    )
    page = [(Place(SESSIONS, key), finding) for key, finding in found.page]
    total = found.total
    if end >= scope.today() and (count or len(page) <= limit):
        ahead = await _expiring(session, scope, codes)
        if total is not None:
            total += len(ahead)
        page += [pair for pair in ahead if after is None or pair[0] > after][
            : max(0, limit + 1 - len(page))
        ]
    return _page(page, limit, total)


async def live_findings_page(
    session: AsyncSession,
    scope: TenantScope,
    start: date,
    end: date,
    codes: Collection[str] | None,
    after: Place | None,
    limit: int,
    *,
    count: bool,
) -> FindingsPage:
    """findings_page judged live, session by session: the answer while an organization's
    stored findings belong to other rules or await re-judging, and what they are held to.
    Without a count, judging starts on the cursor's day (days are judged whole) and stops
    once the page is full, so a deep page costs what the first costs."""
    page: list[tuple[Place, facts.Finding]] = []
    seen = 0

    def take(found: Iterable[tuple[Place, facts.Finding]]) -> None:
        nonlocal seen
        for place, finding in found:
            if codes is not None and finding.code not in codes:
                continue
            seen += 1
            if (after is None or place > after) and len(page) <= limit:
                page.append((place, finding))

    def enough() -> bool:
        return not count and len(page) > limit

    first_day = start
    if after is not None and not count:
        first_day = max(start, after.key[0]) if after.phase == SESSIONS else end + timedelta(1)
    async with aclosing(_session_batches(session, scope, first_day, end)) as batches:
        async for keys in batches:
            verdicts = await sessions.judge(
                session, scope, keys, claims=False, days=sessions.days_of(keys)
            )
            take((Place(SESSIONS, k), f) for k, f in findings.keyed(verdicts))
            if enough():
                return _page(page, limit, None)
    # What counts from today belongs to any window that reaches today.
    if end >= scope.today():
        take(await _expiring(session, scope, None))
    return _page(page, limit, seen if count else None)


async def client_findings(
    session: AsyncSession, scope: TenantScope, client_ids: Collection[UUID]
) -> dict[UUID, list[facts.Finding]]:
    """Each client's findings over all of their non-cancelled sessions (stored, or judged live
    when the stored ones cannot answer), and expiry warnings."""
    trust = await findings.stored(session, scope)
    if trust is None:
        trust = findings.Stored(frozenset(client_ids))  # every one judged live
    found = await findings.client_session_findings(session, scope, trust, client_ids)
    for client_id, ahead in (await expiry.findings(session, scope, client_ids)).items():
        found[client_id].extend(ahead)
    return found
