"""Case-manager use cases: check, add, change, update, remove and suggest.

Each write runs in one serialized transaction (see transaction.run_write): the client row is
locked, the facts are loaded, the rules judge, and only then is anything written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import changes, loading, lookups
from cmgraph.services.outcome import (
    INVALID_INPUT,
    KEEP,
    NOT_FOUND,
    STALE_VERSION,
    Outcome,
    Refused,
    Update,
    UserError,
    refuse,
    split_findings,
)
from cmgraph.services.scope import TenantScope
from cmgraph.services.transaction import run_write


@dataclass(frozen=True)
class Proposal:
    client_id: UUID | None
    service_line: str
    provider_id: UUID | None
    start_date: date
    end_date: date | None = None
    note: str | None = None


@dataclass(frozen=True)
class Candidate:
    provider: models.Provider
    findings: list[facts.Finding]
    sessions_last_30_days: int
    last_session_at: datetime | None


Pair = tuple[UUID, str]  # (client id, service line)


class Source(Protocol):
    """Where the checks read their facts: the database as it is now (Stored, the use cases'),
    or what a bulk import read for its whole batch and keeps current as its rows are written
    (services.import_assignments). The checks are the same code either way."""

    async def client(self, id: UUID | None, *, lock: bool) -> UUID: ...
    async def provider(self, id: UUID | None) -> facts.Provider: ...
    async def coverages(self, client_id: UUID) -> list[facts.Coverage]: ...
    async def enrollments(self, provider_id: UUID) -> list[facts.Enrollment]: ...
    async def assignments(self, pair: Pair) -> list[facts.Assignment]: ...
    async def appointments(self, pair: Pair, since: datetime) -> list[facts.Appointment]: ...
    async def covered(self, pair: Pair, day: date) -> models.Assignment | None: ...


class Stored:
    """The facts as the database has them, a query each."""

    def __init__(self, session: AsyncSession, scope: TenantScope) -> None:
        self.session, self.org = session, scope.organization_id

    async def client(self, id: UUID | None, *, lock: bool) -> UUID:
        return (
            await lookups.get(self.session, models.Client, self.org, id, "clientId", lock=lock)
        ).id

    async def provider(self, id: UUID | None) -> facts.Provider:
        row = await lookups.get(self.session, models.Provider, self.org, id, "providerId")
        return (await loading.providers(self.session, self.org, [row.id]))[row.id]

    async def coverages(self, client_id: UUID) -> list[facts.Coverage]:
        return (await loading.coverages(self.session, self.org, [client_id]))[client_id]

    async def enrollments(self, provider_id: UUID) -> list[facts.Enrollment]:
        return await loading.enrollments(self.session, self.org, [provider_id])

    async def assignments(self, pair: Pair) -> list[facts.Assignment]:
        return await loading.assignments_of(self.session, self.org, [pair])

    async def appointments(self, pair: Pair, since: datetime) -> list[facts.Appointment]:
        return await loading.appointments_of(self.session, self.org, [pair], since=since)

    async def covered(self, pair: Pair, day: date) -> models.Assignment | None:
        """The assignment of the line whose period contains day, if any."""
        a = models.Assignment
        return await self.session.scalar(
            select(a).where(
                a.organization_id == self.org,
                a.client_id == pair[0],
                a.service_line == pair[1],
                a.start_date <= day,
                (a.end_date.is_(None)) | (a.end_date >= day),
            )
        )


async def _gather(
    source: Source,
    scope: TenantScope,
    assignment: facts.Assignment,
    provider: facts.Provider,
    others: list[facts.Assignment] | None = None,
) -> facts.AssignmentCheck:
    """All the facts one assignment check needs, in a constant number of queries."""
    pair = (assignment.client_id, assignment.service_line)
    coverages = await source.coverages(assignment.client_id)
    payors = facts.Payors.on(coverages, assignment.start_date)
    enrollments = await source.enrollments(provider.id)
    if others is None:
        others = await source.assignments(pair)
    since = scope.clock.start_of(assignment.start_date - facts.FAMILIARITY_WINDOW)
    appointments = await source.appointments(pair, since)
    return _check(scope, assignment, provider, payors, enrollments, appointments, others)


def _check(
    scope: TenantScope,
    assignment: facts.Assignment,
    provider: facts.Provider,
    payors: facts.Payors,
    enrollments: list[facts.Enrollment],
    appointments: list[facts.Appointment],
    others: list[facts.Assignment],
) -> facts.AssignmentCheck:
    book, line = scope.book, assignment.service_line
    lead_time, lead_time_by = book.lead_time_decision(line, payors)
    qualifying, narrowed_by = book.qualifying_decision(line, payors)
    return facts.AssignmentCheck(
        assignment=assignment,
        clock=scope.clock,
        provider=provider,
        payors=payors,
        enrollments=tuple(e for e in enrollments if e.provider_id == provider.id),
        appointments=tuple(appointments),
        assignments=tuple(a for a in others if a.id != assignment.id),
        lead_time=lead_time,
        lead_time_by=lead_time_by,
        qualifying_credentials=qualifying,
        qualifying_narrowed_by=narrowed_by,
        credentialed=book.credentialed_with(
            enrollments, provider.id, payors, assignment.start_date, line
        ),
    )


async def _proposed(
    source: Source, scope: TenantScope, p: Proposal, *, lock: bool
) -> tuple[facts.Assignment, facts.Provider]:
    """Validate a proposal's input; refuse with field paths before any rule runs."""
    line = lookups.service_line(scope.book, p.service_line)
    lookups.period(p.start_date, p.end_date)
    client_id = await source.client(p.client_id, lock=lock)
    provider = await source.provider(p.provider_id)
    assignment = facts.Assignment(
        id=None,
        client_id=client_id,
        service_line=line,
        provider_id=provider.id,
        start_date=p.start_date,
        end_date=p.end_date,
    )
    return assignment, provider


def _blocking(findings: list[facts.Finding]) -> Refused | None:
    errors, warnings = split_findings(findings)
    if not errors:
        return None
    return Refused(*(UserError.from_finding(f) for f in errors), warnings=warnings)


async def check(scope: TenantScope, proposal: Proposal) -> list[facts.Finding]:
    """Dry run of add: every finding, nothing written."""
    async with scope.db.read() as session:
        source = Stored(session, scope)
        assignment, provider = await _proposed(source, scope, proposal, lock=False)
        return scope.book.check_assignment(await _gather(source, scope, assignment, provider))


def _note(note: str | None) -> str | None:
    return lookups.text(note, 2000, "note", multiline=True)


def _new_row(scope: TenantScope, a: facts.Assignment, note: str | None) -> models.Assignment:
    return models.Assignment(
        organization_id=scope.organization_id,
        id=uuid4(),  # now, not at the flush: a bulk import records it before it is written
        client_id=a.client_id,
        service_line=a.service_line,
        provider_id=a.provider_id,
        start_date=a.start_date,
        end_date=a.end_date,
        note=note,
        version=1,
        created_at=models.utcnow(),
    )


async def adding(
    source: Source, scope: TenantScope, proposal: Proposal, *, lock: bool
) -> tuple[models.Assignment, list[facts.Finding]]:
    """The assignment addCaseManager adds and the findings it meets; raises Refused."""
    assignment, provider = await _proposed(source, scope, proposal, lock=lock)
    findings = scope.book.check_assignment(await _gather(source, scope, assignment, provider))
    if refused := _blocking(findings):
        raise refused
    return _new_row(scope, assignment, _note(proposal.note)), findings


async def add(scope: TenantScope, proposal: Proposal) -> Outcome[models.Assignment]:
    async def use_case(session: AsyncSession) -> Outcome[models.Assignment]:
        row, findings = await adding(Stored(session, scope), scope, proposal, lock=True)
        session.add(row)
        await session.flush()
        changes.record_by(session, scope, "addCaseManager", row, None, changes.snapshot(row))
        return Outcome(value=row, warnings=tuple(findings))

    return await run_write(scope, use_case)


@dataclass(frozen=True)
class _ChangePlan:
    """What changing the CM of a line from a date does to the assignment covering it."""

    current: models.Assignment
    ended: facts.Assignment  # the current assignment as the change leaves it
    successor_end: date | None  # the new CM takes over the rest of the period, not more
    others: list[facts.Assignment]  # the line's assignments, the current one ended
    shortening: list[facts.Finding]  # what ending the current one early meets


async def _plan_change(
    source: Source, scope: TenantScope, current: models.Assignment, start: date
) -> _ChangePlan:
    if current.start_date == start:
        raise refuse(
            INVALID_INPUT,
            "The current assignment starts on that date; edit it instead of changing it.",
            "startDate",
        )
    old = loading.assignment_fact(current)
    ended = replace(old, end_date=start - timedelta(days=1))
    pair = (old.client_id, old.service_line)
    others = [ended if a.id == old.id else a for a in await source.assignments(pair)]
    # The old assignment's end date is not an input here: the new start date decides it.
    shortening = [
        replace(f, field=facts.Field.START_DATE) if f.field else f
        for f in await _removal_findings(source, scope, old, ended)
    ]
    return _ChangePlan(current, ended, old.end_date, others, shortening)


async def _change_findings(
    source: Source, scope: TenantScope, proposal: Proposal, *, lock: bool
) -> tuple[_ChangePlan, facts.Assignment, list[facts.Finding]]:
    """The plan of a change, its new assignment, and every finding the change meets: the
    new assignment's, as if the current one ended the day before, and the shortening's."""
    assignment, provider = await _proposed(source, scope, proposal, lock=lock)
    start = assignment.start_date
    current = await source.covered((assignment.client_id, assignment.service_line), start)
    if current is None:
        raise refuse(
            NOT_FOUND,
            f"No case manager covers {start.isoformat()} to change; use addCaseManager.",
            "startDate",
        )
    plan = await _plan_change(source, scope, current, start)
    if plan.current.provider_id == assignment.provider_id:
        raise refuse(INVALID_INPUT, "This provider is already the case manager.", "providerId")
    assignment = replace(assignment, end_date=plan.successor_end)
    findings = scope.book.check_assignment(
        await _gather(source, scope, assignment, provider, plan.others)
    )
    return plan, assignment, findings + plan.shortening


async def check_change(scope: TenantScope, proposal: Proposal) -> list[facts.Finding]:
    """Dry run of change: every finding the change would meet, nothing written."""
    async with scope.db.read() as session:
        _, _, findings = await _change_findings(Stored(session, scope), scope, proposal, lock=False)
        return findings


async def changing(
    source: Source, scope: TenantScope, proposal: Proposal, *, lock: bool
) -> tuple[models.Assignment, dict[str, Any], models.Assignment, list[facts.Finding]]:
    """changeCaseManager in memory: the current assignment ended the day before (changed,
    not yet written), its snapshot before, the new assignment and the findings the change
    meets; raises Refused and then changes nothing."""
    plan, assignment, findings = await _change_findings(source, scope, proposal, lock=lock)
    if refused := _blocking(findings):
        raise refused
    note, current = _note(proposal.note), plan.current
    before = changes.snapshot(current)
    current.end_date = plan.ended.end_date
    current.version += 1
    return current, before, _new_row(scope, assignment, note), findings


async def change(
    scope: TenantScope, proposal: Proposal
) -> Outcome[tuple[models.Assignment, models.Assignment]]:
    """End the current assignment the day before the new one starts, and start the new one
    for the rest of the current assignment's period."""

    async def use_case(
        session: AsyncSession,
    ) -> Outcome[tuple[models.Assignment, models.Assignment]]:
        source = Stored(session, scope)
        current, before, row, findings = await changing(source, scope, proposal, lock=True)
        await session.flush()  # the current one ended before the new one starts (EXCLUDE)
        changes.record_by(
            session, scope, "changeCaseManager", current, before, changes.snapshot(current)
        )
        session.add(row)
        await session.flush()
        changes.record_by(session, scope, "changeCaseManager", row, None, changes.snapshot(row))
        return Outcome(value=(current, row), warnings=tuple(findings))

    return await run_write(scope, use_case)


async def _removal_findings(
    source: Source,
    scope: TenantScope,
    original: facts.Assignment,
    replacement: facts.Assignment | None,
) -> list[facts.Finding]:
    pair = (original.client_id, original.service_line)
    appointments = await source.appointments(pair, scope.clock.start_of(original.start_date))
    check = facts.RemovalCheck(original, replacement, scope.clock, tuple(appointments))
    return scope.book.check_removal(check)


async def _versioned(
    session: AsyncSession, scope: TenantScope, id: UUID | None, version: int
) -> models.Assignment:
    org = scope.organization_id
    row = await lookups.get(session, models.Assignment, org, id, "id")
    # Lock the client, as every assignment write does, then read the assignment again: the
    # writer we waited for may have changed it, or removed it (then it is not found).
    await lookups.get(session, models.Client, org, row.client_id, "id", lock=True)
    row = await lookups.get(session, models.Assignment, org, id, "id", reread=True)
    if row.version != version:
        raise refuse(
            STALE_VERSION,
            f"This assignment changed since you loaded it (version {row.version}, you sent "
            f"{version}); reload and try again.",
            "version",
        )
    return row


async def _edit_findings(
    source: Source, scope: TenantScope, original: facts.Assignment, edited: facts.Assignment
) -> tuple[list[facts.Finding], Refused | None]:
    """The edited assignment's findings, and the refusal of the errors the edit introduces.

    An error the assignment already had (say, an appointment scheduled too soon after it
    started) must not stop someone from ending it or correcting something else: it comes
    back among the findings that do not block.
    """
    provider = await source.provider(original.provider_id)
    findings = scope.book.check_assignment(await _gather(source, scope, edited, provider))
    known: set[tuple[object, ...]] = set()
    if any(f.is_error for f in findings):
        before = scope.book.check_assignment(await _gather(source, scope, original, provider))
        known = {_identity(f) for f in before if f.is_error}
    findings += await _removal_findings(source, scope, original, edited)
    return findings, _blocking([f for f in findings if _identity(f) not in known])


def _identity(finding: facts.Finding) -> tuple[object, ...]:
    """What makes two findings the same problem: rule, code, and the session and date."""
    return (finding.rule, finding.code, finding.appointment_id, finding.date)


async def revising(
    source: Source,
    scope: TenantScope,
    row: models.Assignment,
    start_date: Update[date | None] = KEEP,
    end_date: Update[date | None] = KEEP,
    note: Update[str | None] = KEEP,
) -> tuple[dict[str, Any] | None, list[facts.Finding]]:
    """updateCaseManager in memory on the row (not yet written): its snapshot before, or None
    when nothing changed (no new version), and the findings; raises Refused and then
    changes nothing."""
    if start_date is None:
        raise refuse(INVALID_INPUT, "An assignment must have a start date.", "startDate")
    original = loading.assignment_fact(row)
    edited = replace(
        original,
        start_date=original.start_date if start_date is KEEP else start_date,
        end_date=original.end_date if end_date is KEEP else end_date,
    )
    lookups.period(edited.start_date, edited.end_date)
    findings: list[facts.Finding] = []
    if edited != original:
        findings, refused = await _edit_findings(source, scope, original, edited)
        if refused:
            raise refused
    new_note = row.note if note is KEEP else _note(note)
    before = changes.snapshot(row)
    row.start_date, row.end_date, row.note = edited.start_date, edited.end_date, new_note
    if changes.snapshot(row) == before:
        return None, findings
    row.version += 1
    return before, findings


async def update(
    scope: TenantScope,
    id: UUID | None,
    version: int,
    start_date: Update[date | None] = KEEP,
    end_date: Update[date | None] = KEEP,
    note: Update[str | None] = KEEP,
) -> Outcome[models.Assignment]:
    async def use_case(session: AsyncSession) -> Outcome[models.Assignment]:
        row = await _versioned(session, scope, id, version)
        source = Stored(session, scope)
        before, findings = await revising(source, scope, row, start_date, end_date, note)
        if before is None:
            return Outcome(value=row, warnings=tuple(findings))  # nothing changed: no new version
        await session.flush()
        changes.record_by(session, scope, "updateCaseManager", row, before, changes.snapshot(row))
        return Outcome(value=row, warnings=tuple(findings))

    return await run_write(scope, use_case)


async def remove(scope: TenantScope, id: UUID | None, version: int) -> Outcome[UUID]:
    """Delete an assignment entered by mistake; refused when a completed session is in it."""

    async def use_case(session: AsyncSession) -> Outcome[UUID]:
        row = await _versioned(session, scope, id, version)
        source = Stored(session, scope)
        findings = await _removal_findings(source, scope, loading.assignment_fact(row), None)
        if refused := _blocking(findings):
            raise refused
        changes.record_by(session, scope, "removeCaseManager", row, changes.snapshot(row), None)
        removed = row.id
        await session.delete(row)
        return Outcome(value=removed)

    return await run_write(scope, use_case)


async def suggest(
    scope: TenantScope,
    client_id: UUID | None,
    service_line: str,
    start_date: date,
    include_blocked: bool,
) -> list[Candidate]:
    """Active providers as they would fare in the write the screen would make, the most
    familiar with the client first: a change when a CM covers start_date (the current CM
    left out), an add otherwise."""
    org = scope.organization_id
    async with scope.db.read() as session:
        line = lookups.service_line(scope.book, service_line)
        client = await lookups.get(session, models.Client, org, client_id, "clientId")
        pair = [(client.id, line)]
        source = Stored(session, scope)
        current = await source.covered((client.id, line), start_date)
        plan = await _plan_change(source, scope, current, start_date) if current else None
        rows = [
            row
            for row in await session.scalars(
                select(models.Provider)
                .where(models.Provider.organization_id == org, models.Provider.active.is_(True))
                .order_by(models.Provider.last_name, models.Provider.first_name)
            )
            if plan is None or row.id != plan.current.provider_id
        ]
        ids = [p.id for p in rows]
        providers = await loading.providers(session, org, ids)
        coverages = (await loading.coverages(session, org, [client.id]))[client.id]
        payors = facts.Payors.on(coverages, start_date)
        enrollments = await loading.enrollments(session, org, ids)
        others = plan.others if plan else await loading.assignments_of(session, org, pair)
        appointments = await loading.appointments_of(session, org, pair)
    since, starts = start_date - facts.FAMILIARITY_WINDOW, scope.clock.start_of(start_date)
    completed = [
        a
        for a in appointments
        if a.status is facts.AppointmentStatus.COMPLETED and a.starts_at < starts
    ]
    candidates = []
    for row in rows:
        proposed = facts.Assignment(
            None, client.id, line, row.id, start_date, plan.successor_end if plan else None
        )
        check = _check(
            scope, proposed, providers[row.id], payors, enrollments, appointments, others
        )
        findings = scope.book.check_assignment(check) + (plan.shortening if plan else [])
        if not include_blocked and any(f.is_error for f in findings):
            continue
        theirs = [a for a in completed if a.provider_id == row.id]
        recent = [a for a in theirs if scope.clock.date_of(a.starts_at) >= since]
        last = max((a.starts_at for a in theirs), default=None)
        latest_recent = max((a.starts_at for a in recent), default=None)
        candidates.append((Candidate(row, findings, len(recent), last), latest_recent))
    # Blocked last; then most sessions in the window, then the latest of them; the sort is
    # stable, so ties keep the providers' order by name.
    candidates.sort(
        key=lambda c: (
            any(f.is_error for f in c[0].findings),
            -c[0].sessions_last_30_days,
            c[1] is None,
            -c[1].timestamp() if c[1] else 0.0,
        )
    )
    return [c for c, _ in candidates]
