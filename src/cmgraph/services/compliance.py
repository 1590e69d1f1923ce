"""Practice-wide findings over a window of dates of service, and a client's open findings."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date
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


def _wanted(findings: list[facts.Finding], codes: Collection[str] | None) -> list[facts.Finding]:
    return [f for f in findings if codes is None or f.code in codes]


@dataclass(frozen=True)
class FindingsPage:
    findings: list[facts.Finding]
    has_next: bool
    total: int | None  # None when the caller did not ask for it (then counting stops early)


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
    offset: int,
    limit: int,
    *,
    count: bool,
) -> FindingsPage:
    """Findings [offset, offset + limit) of every non-cancelled session whose date of
    service is in [start, end], then, when the window reaches today, the expiry warnings of
    current assignments. The session findings are read from the stored ones
    (services.findings) when they can answer, else judged live."""
    if end < start:
        raise refuse(INVALID_INPUT, "The window ends before it starts.", "to")
    # One snapshot for every statement: a session moved to another day while the report
    # reads is counted once, on one of them.
    async with scope.db.snapshot() as session:
        trust = await findings.stored(session, scope)
        if trust is not None:
            return await _stored_page(
                session, scope, trust, start, end, codes, offset, limit, count=count
            )
        return await live_findings_page(
            session, scope, start, end, codes, offset, limit, count=count
        )


async def _stored_page(
    session: AsyncSession,
    scope: TenantScope,
    trust: findings.Stored,
    start: date,
    end: date,
    codes: Collection[str] | None,
    offset: int,
    limit: int,
    *,
    count: bool,
) -> FindingsPage:
    """The page from the stored findings, then the expiry warnings (computed now) when the
    window reaches today and the page or the count reaches them."""
    found = await findings.session_findings(
        session, scope, trust, (start, end), codes, offset, limit, count=count
    )
    page, total = found.page, found.total
    if end >= scope.today() and (count or len(page) <= limit):
        ahead = _wanted(
            [f for c in (await expiry.findings(session, scope)).values() for f in c], codes
        )
        if total is None:  # the page runs into the expiry warnings: where do they start?
            total = (
                await findings.session_findings(
                    session, scope, trust, (start, end), codes, 0, 0, count=True
                )
            ).total
        assert total is not None
        skip = max(0, offset - total)
        page = page + ahead[skip : skip + limit + 1 - len(page)]
        total += len(ahead)
    return FindingsPage(page[:limit], has_next=len(page) > limit, total=total if count else None)


async def live_findings_page(
    session: AsyncSession,
    scope: TenantScope,
    start: date,
    end: date,
    codes: Collection[str] | None,
    offset: int,
    limit: int,
    *,
    count: bool,
) -> FindingsPage:
    """findings_page judged live, session by session: the answer while an organization's
    stored findings belong to other rules or await re-judging, and what they are held to."""
    page: list[facts.Finding] = []
    seen = 0

    def take(found: Iterable[facts.Finding]) -> None:
        nonlocal seen
        for finding in _wanted(list(found), codes):
            if offset <= seen < offset + limit:
                page.append(finding)
            seen += 1

    def enough() -> bool:
        return not count and seen > offset + limit

    async with aclosing(_session_batches(session, scope, start, end)) as batches:
        async for keys in batches:
            verdicts = await sessions.judge(
                session, scope, keys, claims=False, days=sessions.days_of(keys)
            )
            take(f for v in verdicts for f in v.findings)
            if enough():
                return FindingsPage(page, has_next=True, total=None)
    # What counts from today belongs to any window that reaches today.
    if end >= scope.today():
        take(f for c in (await expiry.findings(session, scope)).values() for f in c)
    return FindingsPage(page, has_next=seen > offset + limit, total=seen if count else None)


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
