"""Stored findings: every session's findings as the live judge (services.sessions.judge) made
them, kept current by every write, so that the compliance report and a client's findings
are indexed reads rather than seconds of judging.

- A write notes what it changed (services.changes.record); before it commits, run_write
  calls keep_current, which finds the clients the change reaches and re-judges them in the
  same transaction, or, when more than IN_TRANSACTION, marks them stale for `drain`, a
  background job. The stored rows are the judge's own output, written by `store`.
- Stored findings belong to one set of rules (`fingerprint`: the plugins' names, origins
  and sources, and the judge's own code). When the loaded rules differ, the organization is
  judged live until `rebuild` (at start-up, and `cmgraph findings rebuild`) has marked every
  client stale under the new fingerprint and `drain` has judged them again.
- While a client is stale its findings are judged live, so an answer is never wrong, only
  slower; past STALE_JUDGED_LIVE stale clients the whole report is judged live.
- Expiry warnings count from today and are never stored (services.expiry).

Concurrency: re-judging a client locks its row first (PostgreSQL; SQLite writes are
serialized anyway), so two transactions re-judge one client one after the other, the later
seeing the earlier's commit. A stale mark carries a token: a re-judge removes only the marks
it saw before judging, so a client marked again meanwhile stays stale.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import inspect
import itertools
import logging
import operator
import sys
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import bulk, models
from cmgraph.db.engine import Database
from cmgraph.db.faults import is_retryable, is_unavailable
from cmgraph.plugins import PluginFailed, RuleBook
from cmgraph.services import loading, sessions
from cmgraph.services.scope import TenantScope

log = logging.getLogger("cmgraph.findings")

IN_TRANSACTION = 50
"""A write re-judges up to this many clients before it commits; more are left to `drain`."""
STALE_JUDGED_LIVE = 200
"""A read judges up to this many stale clients live beside the stored rows; more, and the
whole answer is judged live (as during a rebuild)."""
DRAIN_BATCH = 25
"""Clients `drain` re-judges per transaction: short write locks, and a yield between."""
RETRY_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
"""Pauses of a drain (drain_patiently) that met a busy database (another writer held the lock
past the statement timeout: a bulk import's batch, a long write) before it tries again;
after the last, the marks stay for the next write, start-up or `cmgraph findings rebuild`."""
_CHUNK = 500  # ids per IN list

CHANGED = "cmgraph.findings.changed"
"""session.info key: the (row, before) of every change the transaction recorded."""

# What each kind of change reaches. Anything else recorded is unknown: every client is
# re-judged (correct, slow) and a warning says to classify it here.
_OF_CLIENT = {"Client", "Appointment", "Assignment", "Coverage"}
_OF_PROVIDER = {"Provider": "id", "Enrollment": "provider_id"}  # credentials: with the provider
_OF_PAYOR = {"Payor"}
_OF_EVERY_CLIENT = {"Organization"}  # its time zone decides every date of service
# Changes of these reach no client's findings (configuration, credentials of callers, logs).
NO_FINDINGS = {
    "ApiToken",
    "IdempotencyKey",
    "ChangeRecord",
    "WebhookEndpoint",
    "WebhookDelivery",
    "WebhookAttempt",
}


# -- which rules ---------------------------------------------------------------------------

# The judge's own code (and this module's, which stores its output) is part of what a
# stored finding depends on: a change of it judges everything again, as a plugin's does.
_JUDGE_CODE = hashlib.sha256(
    "\0".join(
        inspect.getsource(m) for m in (facts, loading, sessions, sys.modules[__name__])
    ).encode()
).hexdigest()


def fingerprint(book: RuleBook) -> str:
    """The rules and the judge's code that stored findings are valid for."""
    return hashlib.sha256(f"{_JUDGE_CODE}\0{book.fingerprint}".encode()).hexdigest()


# -- the rows --------------------------------------------------------------------------------


def _plain(value: UUID | date | None) -> str | None:
    return None if value is None else str(value) if isinstance(value, UUID) else value.isoformat()


def encode(finding: facts.Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "message": finding.message,
        "rule": finding.rule,
        "field": list(finding.field) if finding.field is not None else None,
        "client_id": _plain(finding.client_id),
        "service_line": finding.service_line,
        "appointment_id": _plain(finding.appointment_id),
        "date": _plain(finding.date),
        "payor_id": _plain(finding.payor_id),
        "plugin": finding.plugin,
    }


def decode(data: dict[str, Any]) -> facts.Finding:
    def uid(key: str) -> UUID | None:
        return UUID(data[key]) if data[key] is not None else None

    return facts.Finding(
        code=data["code"],
        severity=facts.Severity(data["severity"]),
        message=data["message"],
        rule=data["rule"],
        field=tuple(data["field"]) if data["field"] is not None else None,
        client_id=uid("client_id"),
        service_line=data["service_line"],
        appointment_id=uid("appointment_id"),
        date=date.fromisoformat(data["date"]) if data["date"] is not None else None,
        payor_id=uid("payor_id"),
        plugin=data["plugin"],
    )


SortKey = tuple[date, datetime, UUID, int]
"""The report's order: date of service, start, session, the judge's order within it."""


def keyed(verdicts: Iterable[sessions.Verdict]) -> Iterable[tuple[SortKey, facts.Finding]]:
    for verdict in verdicts:
        appointment = verdict.key.appointment
        assert appointment is not None  # judge_clients judges sessions
        for seq, finding in enumerate(verdict.findings):
            key = (verdict.key.date_of_service, appointment.starts_at, appointment.id, seq)
            yield key, finding


def _chunks(ids: Collection[UUID]) -> Iterable[list[UUID]]:
    ordered = sorted(ids)
    for i in range(0, len(ordered), _CHUNK):
        yield ordered[i : i + _CHUNK]


# -- the live judge, by client ---------------------------------------------------------------

_REPORT_ORDER = operator.attrgetter("date_of_service", "starts_at", "id")
_LIVE = models.Appointment.status != facts.AppointmentStatus.CANCELLED.value


async def judge_clients(
    session: AsyncSession,
    scope: TenantScope,
    client_ids: Collection[UUID],
    window: tuple[date, date] | None = None,
) -> list[sessions.Verdict]:
    """The live judgement of the clients' non-cancelled sessions (those in `window`, if
    given), in report order: what the compliance report and a client's findings say."""
    ap = models.Appointment
    rows: list[Any] = []
    for chunk in _chunks(client_ids):
        query = select(*loading.APPOINTMENT_FACT).where(
            ap.organization_id == scope.organization_id, ap.client_id.in_(chunk), _LIVE
        )
        if window is not None:
            query = query.where(ap.date_of_service.between(*window))
        # Core rows (loading.rows_of): the final judging of a bulk import reads every
        # session of the practice, and the ORM's pass over each row cost a tenth of it.
        rows.extend(await loading.rows_of(session, query))
    # Sorted here, not in SQL: an ORDER BY on the date of service tempts SQLite, without
    # statistics, to walk the whole date index to avoid a sort of a few dozen rows.
    rows.sort(key=_REPORT_ORDER)
    # Every non-cancelled session of these clients on their days: the days are whole.
    keys = [sessions.key_of(r) for r in rows]
    return await sessions.judge(session, scope, keys, claims=False, days=sessions.days_of(keys))


# -- keeping them current --------------------------------------------------------------------


def note(session: AsyncSession, row: object, before: dict[str, Any] | None) -> None:
    """Remember a recorded change until keep_current asks what the transaction touched."""
    session.info.setdefault(CHANGED, []).append((row, before))


async def _lock(session: AsyncSession, org: UUID, client_ids: Collection[UUID]) -> None:
    """One re-judge of a client at a time (PostgreSQL; SQLite writes are serialized)."""
    c = models.Client
    for chunk in _chunks(client_ids):
        await session.execute(
            select(c.id).where(c.organization_id == org, c.id.in_(chunk)).with_for_update()
        )


async def store(session: AsyncSession, scope: TenantScope, client_ids: Collection[UUID]) -> None:
    """Judge the clients live and store what the judge found, replacing their rows; their
    stale marks seen before judging are removed (a mark made meanwhile stays)."""
    if not client_ids:
        return
    org, s, f = scope.organization_id, models.StaleClient, models.StoredFinding
    await _lock(session, org, client_ids)
    seen: list[tuple[UUID, UUID]] = []
    for chunk in _chunks(client_ids):
        seen.extend(
            (row.client_id, row.mark)
            for row in await session.execute(
                select(s.client_id, s.mark).where(s.organization_id == org, s.client_id.in_(chunk))
            )
        )
    verdicts = await judge_clients(session, scope, client_ids)
    for chunk in _chunks(client_ids):
        await session.execute(delete(f).where(f.organization_id == org, f.client_id.in_(chunk)))
    rows = [
        {
            "organization_id": org,
            "appointment_id": appointment_id,
            "seq": seq,
            "client_id": finding_of.key.client_id,
            "date_of_service": day,
            "starts_at": starts_at,
            "code": finding.code,
            "finding": encode(finding),
        }
        for finding_of in verdicts
        for (day, starts_at, appointment_id, seq), finding in keyed([finding_of])
    ]
    # As db.bulk inserts (COPY on PostgreSQL): a bulk import's drain stores tens of
    # thousands of findings, which executemany inserted one statement at a time.
    if rows:
        table = f.__table__
        await session.run_sync(lambda s: bulk.insert_rows(s.connection(), table, rows))
    for i in range(0, len(seen), _CHUNK):
        await session.execute(
            delete(s).where(
                s.organization_id == org, tuple_(s.client_id, s.mark).in_(seen[i : i + _CHUNK])
            )
        )


async def mark_stale(session: AsyncSession, org: UUID, client_ids: Collection[UUID]) -> None:
    """Mark the clients stale with a new token (an existing mark is renewed)."""
    if not client_ids:
        return
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    s = models.StaleClient
    statement = upsert(s)
    statement = statement.on_conflict_do_update(
        index_elements=[s.organization_id, s.client_id],
        set_={"mark": statement.excluded.mark, "marked_at": statement.excluded.marked_at},
    )
    # One statement given many rows (executemany), not a VALUES list per call: that one is
    # compiled anew for every length, and a bulk import marks at each of its batches.
    at = models.utcnow()
    rows = [
        {"organization_id": org, "client_id": c, "mark": uuid.uuid4(), "marked_at": at}
        for c in sorted(client_ids)
    ]
    await session.execute(statement, rows)


async def _every_client(session: AsyncSession, org: UUID) -> set[UUID]:
    c = models.Client
    return set(await session.scalars(select(c.id).where(c.organization_id == org)))


def _uuid(value: Any) -> UUID | None:
    return value if isinstance(value, UUID) or value is None else UUID(str(value))


async def _reached(
    session: AsyncSession, org: UUID, changed: Sequence[tuple[object, dict[str, Any] | None]]
) -> set[UUID] | None:
    """The clients whose findings the changes may alter; None: every client."""
    clients: set[UUID | None] = set()
    providers: set[UUID | None] = set()
    payors: set[UUID | None] = set()
    for row, before in changed:
        kind, was = type(row).__name__, before or {}
        if kind in _OF_CLIENT:
            key = "id" if kind == "Client" else "client_id"
            clients |= {getattr(row, key), _uuid(was.get(key))}
        elif kind in _OF_PROVIDER:
            key = _OF_PROVIDER[kind]
            providers |= {getattr(row, key), _uuid(was.get(key))}
        elif kind in _OF_PAYOR:
            payors.add(row.id)  # type: ignore[attr-defined]
        elif kind in _OF_EVERY_CLIENT:
            return None
        elif kind not in NO_FINDINGS:
            log.warning("unclassified change %s: every client's findings are judged again", kind)
            return None
    providers.discard(None)
    payors.discard(None)
    a, ap, cv = models.Assignment, models.Appointment, models.Coverage
    if providers:
        for model in (a, ap):
            clients |= set(
                await session.scalars(
                    select(model.client_id)
                    .distinct()
                    .where(model.organization_id == org, model.provider_id.in_(providers))
                )
            )
    if payors:
        clients |= set(
            await session.scalars(
                select(cv.client_id)
                .distinct()
                .where(cv.organization_id == org, cv.payor_id.in_(payors))
            )
        )
    return {c for c in clients if c is not None}


async def _built_for(session: AsyncSession, org: UUID) -> str | None:
    b = models.FindingsBuild
    found: str | None = await session.scalar(select(b.fingerprint).where(b.organization_id == org))
    return found


async def _adopt(session: AsyncSession, org: UUID, print_: str) -> None:
    """The organization's stored findings belong to these rules from now on."""
    b = models.FindingsBuild
    await session.execute(delete(b).where(b.organization_id == org))
    session.add(models.FindingsBuild(organization_id=org, fingerprint=print_))
    await session.flush()


async def keep_current(session: AsyncSession, scope: TenantScope, *, later: bool = False) -> bool:
    """Re-judge, before the write commits, the clients its changes reach; mark them stale
    when they are many, or always when `later` (a bulk import's batch: a client's rows
    come in many batches, and the import drains once at its end). True: clients were
    marked stale (run `drain` after the commit)."""
    changed = session.info.pop(CHANGED, [])
    if not changed:
        return False
    org, print_ = scope.organization_id, fingerprint(scope.book)
    reached: set[UUID] | None
    if await _built_for(session, org) != print_:
        # Stored under other rules (or never): these rules take over, every client again.
        await _adopt(session, org, print_)
        reached = None
    else:
        reached = await _reached(session, org, changed)
    if reached is None:
        reached = await _every_client(session, org)
    if not reached:
        return False
    if len(reached) <= IN_TRANSACTION and not later:
        try:
            await store(session, scope, reached)
            return False
        except PluginFailed:
            # The write stands; reads judge these clients live and meet the failure there.
            log.warning("a plugin failed re-judging; the clients are left stale", exc_info=True)
    await mark_stale(session, org, reached)
    return True


# -- the background job ----------------------------------------------------------------------

Progress = Callable[[int, int], None]  # (clients judged so far, clients to judge)


async def _scope(session: AsyncSession, db: Database, book: RuleBook, org: UUID) -> TenantScope:
    zone = await session.scalar(
        select(models.Organization.timezone).where(models.Organization.id == org)
    )
    return TenantScope(db, book, org, facts.Clock(zone or "UTC"), actor="findings")


async def stale_count(db: Database, org: UUID) -> int:
    s = models.StaleClient
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).where(s.organization_id == org)) or 0)


async def drain(db: Database, book: RuleBook, org: UUID, progress: Progress | None = None) -> int:
    """Re-judge the organization's stale clients, DRAIN_BATCH per transaction, until none
    is left; stop if the organization's findings now belong to other rules. Returns how
    many clients were judged."""
    print_, judged, s = fingerprint(book), 0, models.StaleClient
    todo = await stale_count(db, org)
    while True:
        async with db.write() as session:
            if await _built_for(session, org) != print_:
                return judged
            ids = list(
                await session.scalars(
                    select(s.client_id)
                    .where(s.organization_id == org)
                    .order_by(s.client_id)
                    .limit(DRAIN_BATCH)
                )
            )
            if not ids:
                return judged
            await store(session, await _scope(session, db, book, org), ids)
            await session.commit()
        judged += len(ids)
        if progress is not None:
            progress(judged, max(todo, judged))
        await asyncio.sleep(0)  # let requests in between batches


async def drain_patiently(
    db: Database, book: RuleBook, org: UUID, progress: Progress | None = None
) -> None:
    """`drain`, paused and run again (RETRY_SECONDS) when it meets a busy database: another
    writer held the lock past the statement timeout. What it judged before stays judged.
    Raises the last failure when every pause is spent (the marks stay)."""
    for pause in (*RETRY_SECONDS, None):
        try:
            await drain(db, book, org, progress)
            return
        except Exception as exc:
            if pause is None or not (is_unavailable(exc) or is_retryable(exc)):
                raise
            log.info(
                "draining stale findings waits for a busy database",
                extra={"organization_id": str(org), "retry_in_s": pause},
            )
            await asyncio.sleep(pause)


async def rebuild(
    db: Database,
    book: RuleBook,
    org: UUID,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> int:
    """Judge every client of the organization again under these rules, unless its findings
    already belong to them (force: judge again anyway). Returns how many were judged."""
    print_ = fingerprint(book)
    async with db.write() as session:
        if force or await _built_for(session, org) != print_:
            await _adopt(session, org, print_)
            await mark_stale(session, org, await _every_client(session, org))
            await session.commit()
    return await drain(db, book, org, progress)


async def outdated(db: Database, book: RuleBook) -> list[UUID]:
    """Organizations whose stored findings are not these rules', or have stale clients."""
    o, b, s = models.Organization, models.FindingsBuild, models.StaleClient
    async with db.read() as session:
        rows = await session.execute(
            select(o.id, b.fingerprint).outerjoin(b, b.organization_id == o.id).order_by(o.slug)
        )
        marked = set(await session.scalars(select(s.organization_id).distinct()))
    print_ = fingerprint(book)
    return [org for org, built in rows if built != print_ or org in marked]


async def organizations(db: Database, slug: str | None = None) -> list[tuple[UUID, str]]:
    """(id, slug) of every organization, or of the one with this slug (LookupError)."""
    o = models.Organization
    query = select(o.id, o.slug).order_by(o.slug)
    if slug is not None:
        query = query.where(o.slug == slug)
    async with db.read() as session:
        found = [(org, name) for org, name in await session.execute(query)]
    if slug is not None and not found:
        raise LookupError(f"no organization with slug {slug!r}")
    return found


async def rebuild_outdated(db: Database, book: RuleBook) -> None:
    """Start-up: bring every organization's stored findings to the loaded rules."""
    for org in await outdated(db, book):
        judged = await rebuild(db, book, org)
        log.info("findings rebuilt", extra={"organization_id": str(org), "clients": judged})


# -- after the commit ------------------------------------------------------------------------

BACKGROUND = True
"""Whether a write that marked clients stale starts `drain` itself (tests drain by hand)."""
_draining: dict[UUID, asyncio.Task[None]] = {}
_again: set[UUID] = set()


def after_commit(scope: TenantScope) -> None:
    """Start (or ask for another pass of) the organization's drain, in this process."""
    if not BACKGROUND:
        return
    org = scope.organization_id
    if org in _draining:
        _again.add(org)
        return

    async def run() -> None:
        try:
            while True:
                _again.discard(org)
                await drain_patiently(scope.db, scope.book, org)
                if org not in _again:
                    return
        except Exception:
            # The marks stay: the next write, start-up or `cmgraph findings rebuild` retries.
            log.exception("draining stale findings failed", extra={"organization_id": str(org)})
        finally:
            _draining.pop(org, None)

    _draining[org] = asyncio.get_running_loop().create_task(run())


async def stop_draining() -> None:
    """Cancel the drains this process started (a stop): their marks stay in the database."""
    tasks = list(_draining.values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def settle() -> None:
    """Wait for the drains this process started (tests; a graceful stop)."""
    while _draining:
        await asyncio.gather(*_draining.values(), return_exceptions=True)


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """How far an organization's stored findings can be trusted right now."""

    stale: frozenset[UUID]


async def stored(session: AsyncSession, scope: TenantScope) -> Stored | None:
    """None when the stored findings cannot answer (other rules, or too many stale clients);
    else the stale clients, to be judged live."""
    org = scope.organization_id
    if await _built_for(session, org) != fingerprint(scope.book):
        return None
    s = models.StaleClient
    stale = set(
        await session.scalars(
            select(s.client_id).where(s.organization_id == org).limit(STALE_JUDGED_LIVE + 1)
        )
    )
    return None if len(stale) > STALE_JUDGED_LIVE else Stored(frozenset(stale))


_f = models.StoredFinding
_ORDER = (_f.date_of_service, _f.starts_at, _f.appointment_id, _f.seq)


def _row_key(row: Any) -> tuple[SortKey, facts.Finding]:
    return (row.date_of_service, row.starts_at, row.appointment_id, row.seq), decode(row.finding)


@dataclass(frozen=True)
class SessionFindings:
    page: list[tuple[SortKey, facts.Finding]]  # after the key asked for, up to limit + 1
    total: int | None  # every session finding of the window, when asked


async def session_findings(
    session: AsyncSession,
    scope: TenantScope,
    trust: Stored,
    window: tuple[date, date],
    codes: Collection[str] | None,
    after: SortKey | None,
    limit: int | None,
    *,
    count: bool,
) -> SessionFindings:
    """The window's session findings that follow `after` in report order (from the start
    without it), up to limit + 1 of them (none when limit is None), stored rows merged with
    the stale clients' live judgement; the total too when `count`. A keyset read: no
    OFFSET, so a deep page costs what the first costs."""
    where = [_f.organization_id == scope.organization_id, _f.date_of_service.between(*window)]
    if codes is not None:
        where.append(_f.code.in_(list(codes)))
    if trust.stale:
        where.append(_f.client_id.not_in(list(trust.stale)))
    live = (
        [
            (key, finding)
            for key, finding in keyed(await judge_clients(session, scope, trust.stale, window))
            if codes is None or finding.code in codes
        ]
        if trust.stale
        else []
    )
    page: list[tuple[SortKey, facts.Finding]] = []
    if limit is not None:
        following = [*where, tuple_(*_ORDER) > after] if after is not None else where
        rows = await session.execute(
            select(*_ORDER, _f.finding).where(*following).order_by(*_ORDER).limit(limit + 1)
        )
        ahead = [pair for pair in live if after is None or pair[0] > after]
        merged = heapq.merge((_row_key(r) for r in rows), ahead, key=lambda pair: pair[0])
        page = list(itertools.islice(merged, limit + 1))
    total = None
    if count:
        stored_total = await session.scalar(select(func.count()).select_from(_f).where(*where))
        total = int(stored_total or 0) + len(live)
    return SessionFindings(page, total)


async def client_session_findings(
    session: AsyncSession, scope: TenantScope, trust: Stored, client_ids: Collection[UUID]
) -> dict[UUID, list[facts.Finding]]:
    """Each client's session findings in report order: stored, or live when stale."""
    found: dict[UUID, list[facts.Finding]] = {c: [] for c in client_ids}
    fresh = [c for c in client_ids if c not in trust.stale]
    rows: list[Any] = []
    for chunk in _chunks(fresh):
        rows.extend(
            await session.execute(
                select(*_ORDER, _f.client_id, _f.finding).where(
                    _f.organization_id == scope.organization_id, _f.client_id.in_(chunk)
                )
            )
        )
    rows.sort(key=lambda r: (r.date_of_service, r.starts_at, r.appointment_id, r.seq))
    for row in rows:
        found[row.client_id].append(decode(row.finding))
    stale = [c for c in client_ids if c in trust.stale]
    for verdict in await judge_clients(session, scope, stale) if stale else []:
        found[verdict.key.client_id].extend(verdict.findings)
    return found
