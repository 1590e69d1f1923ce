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
from cmgraph.services import expiry, loading, sessions
from cmgraph.services.outcome import INVALID_INPUT, refuse
from cmgraph.services.scope import Scope

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
    session: AsyncSession, scope: Scope, start: date, end: date
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
    scope: Scope,
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
    current assignments. Sessions are judged a batch at a time and only the page is kept;
    without `count`, judging stops once the page and one more finding are found."""
    if end < start:
        raise refuse(INVALID_INPUT, "The window ends before it starts.", "to")
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

    # One snapshot for every batch: a session moved to another day while the report reads
    # is judged once, on one of them.
    async with scope.db.snapshot() as session:
        async with aclosing(_session_batches(session, scope, start, end)) as batches:
            async for keys in batches:
                verdicts = await sessions.judge(session, scope, keys, claims=False, whole_days=True)
                take(f for v in verdicts for f in v.findings)
                if enough():
                    return FindingsPage(page, has_next=True, total=None)
        # What counts from today belongs to any window that reaches today.
        if end >= scope.today():
            take(f for c in (await expiry.findings(session, scope)).values() for f in c)
    return FindingsPage(page, has_next=seen > offset + limit, total=seen if count else None)


async def client_findings(
    session: AsyncSession, scope: Scope, client_ids: Collection[UUID]
) -> dict[UUID, list[facts.Finding]]:
    """Each client's findings over all of their non-cancelled sessions, and expiry warnings."""
    found_rows = await session.execute(
        select(*loading.APPOINTMENT_FACT).where(
            models.Appointment.organization_id == scope.organization_id,
            models.Appointment.client_id.in_(client_ids),
            _LIVE,
        )
    )
    # Sorted here, not in SQL: an ORDER BY on the date of service tempts SQLite, without
    # statistics, to walk the whole date index to avoid a sort of a few dozen rows.
    rows = sorted(found_rows, key=lambda r: (r.date_of_service, r.starts_at, r.id))
    # Every non-cancelled session of these clients: their days are whole.
    verdicts = await sessions.judge(
        session, scope, [sessions.key_of(r) for r in rows], claims=False, whole_days=True
    )
    found: dict[UUID, list[facts.Finding]] = {c: [] for c in client_ids}
    for verdict in verdicts:
        found[verdict.key.client_id].extend(verdict.findings)
    for client_id, ahead in (await expiry.findings(session, scope, client_ids)).items():
        found[client_id].extend(ahead)
    return found
