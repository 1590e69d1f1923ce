"""Bulk import of CSV files: every row through the same checks as the API, in batches.

Each file holds one kind (services.csv_columns); files are imported in the kinds' order, so
rows may name records of earlier files. Rows are found again by natural key: importing the
same files twice changes nothing; a corrected file updates what changed.

How the error policy maps onto transactions (services.transaction.run_batch); a refused row
writes nothing (services.import_batch: rows are checked, then a batch's accepted rows are
written together in a savepoint):
- reject-failed-rows: one transaction per batch of BATCH_ROWS rows of a file, committed
  with the rows that passed; a refused row is reported and left out.
- reject-everything (the default): the whole import in one transaction, committed only when
  no row was refused; otherwise nothing is written and every refused row is reported.
- a dry run: as reject-everything, and always rolled back. Rows of later files see those
  of earlier ones, so the answer is what the import would do.

Stored findings (services.findings): a batch marks the clients it reaches stale instead of
judging them again (a client's sessions, coverages and case managers come in many batches
of several files), and the import judges every stale client once after its last batch, in
the drain's own short transactions, before it returns (waiting for a busy database as the
background drain does). No background drain runs meanwhile to compete with the batches for
the write lock.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import gc
import io
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.services import findings
from cmgraph.services.csv_columns import COLUMNS, Kind, names
from cmgraph.services.import_batch import RowRefused
from cmgraph.services.import_cells import CellError, Row
from cmgraph.services.import_kinds import HANDLERS, Handler, ProviderDeactivations, Status
from cmgraph.services.outcome import INVALID_INPUT, Refused
from cmgraph.services.scope import TenantScope
from cmgraph.services.transaction import run_batch

log = logging.getLogger("cmgraph.imports")

BATCH_ROWS = 500
INVALID_HEADER = "INVALID_HEADER"
ERROR_COLUMNS = ("file", "row", "column", "code", "message")


class ErrorPolicy(enum.StrEnum):
    REJECT_EVERYTHING = "reject-everything"
    REJECT_FAILED_ROWS = "reject-failed-rows"


@dataclass(frozen=True)
class Source:
    """One file's text and the kind of its rows; `name` is how errors name the file."""

    kind: Kind
    name: str
    text: str


@dataclass(frozen=True)
class RowError:
    file: str
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str | None
    code: str
    message: str


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.refused += other.refused


@dataclass
class Report:
    dry_run: bool
    policy: ErrorPolicy
    counts: dict[Kind, Counts] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False  # whether anything this import did was kept

    @property
    def refused(self) -> int:
        return sum(c.refused for c in self.counts.values())


# (kind, rows of the kind done, rows of the kind in all)
Progress = Callable[[Kind, int, int], None]


@dataclass
class _Tally:
    counts: dict[Kind, Counts] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def of(self, kind: Kind) -> Counts:
        return self.counts.setdefault(kind, Counts())

    def merge(self, other: _Tally) -> None:
        for kind, counts in other.counts.items():
            self.of(kind).add(counts)
        self.errors.extend(other.errors)


@dataclass(frozen=True)
class _File:
    source: Source
    rows: list[Row]
    header_errors: list[RowError]


def read(source: Source) -> _File:
    """The file's rows, or the errors of its header (then no row is read)."""
    reader = csv.reader(io.StringIO(source.text.removeprefix("\ufeff")))
    header = [h.strip().lower() for h in next(reader, [])]
    known, errors = set(names(source.kind)), []
    for column in header:
        if column not in known:
            message = (
                f"Unknown column {column!r} for {source.kind.value} "
                f"(columns: {', '.join(names(source.kind))})."
            )
            errors.append(RowError(source.name, 1, column, INVALID_HEADER, message))
    for c in COLUMNS[source.kind]:
        if c.required and c.name not in header:
            message = f"The required column {c.name!r} is missing."
            errors.append(RowError(source.name, 1, c.name, INVALID_HEADER, message))
    # Blank lines are no rows (nor counted); a row's cells are those under a column of the
    # header (csv.DictReader's dict, less its extra values and the columns a short row
    # lacks), made without DictReader's per-row steps: a practice's files hold 100,000 rows.
    width = len(header)
    rows = [
        Row(
            number,
            dict(zip(header, cells, strict=False))
            if len(cells) >= width
            else _short(header, cells),
        )
        for number, cells in enumerate(filter(None, reader), start=2)
    ]
    return _File(source, rows, errors)


def _short(header: list[str], cells: list[str]) -> dict[str, str]:
    """A row with fewer cells than the header has columns: the columns it lacks are left
    out, a name the header repeats among them included (as DictReader's None)."""
    found = dict(zip(header, cells, strict=False))
    for column in header[len(cells) :]:
        found.pop(column, None)
    return found


# The tables a kind's rows fill.
_TABLES: dict[Kind, tuple[type[models.Base], ...]] = {
    Kind.PAYORS: (models.Payor,),
    Kind.PROVIDERS: (models.Provider, models.Credential),
    Kind.ENROLLMENTS: (models.Enrollment,),
    Kind.CLIENTS: (models.Client,),
    Kind.COVERAGES: (models.Coverage,),
    Kind.APPOINTMENTS: (models.Appointment,),
    Kind.CASE_MANAGERS: (models.Assignment,),
}


def _analyzes(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def analyze(session: AsyncSession, kind: Kind) -> None:
    """On PostgreSQL, fresh statistics of the tables a file filled, before the next file's
    rows refer to them. A new practice's tables were never analyzed (autovacuum's turn comes
    a minute later at best), and the planner then checks each new row's foreign keys by
    walking the organization's every client: 0.8 ms a row, most of a first import's time
    on PostgreSQL. Only after a file of a batch or more (an integration's few rows cost no
    ANALYZE). A role that does not own the tables is told so in a warning, and the
    import goes on as before. SQLite is left as it is: statistics there would change every
    query's plan, not only the import's.

    The tables are every organization's, and ANALYZE holds its lock until the import's
    transaction ends: SKIP_LOCKED, so that an import never waits for another's; and only
    an optimization, so a failure is logged in its savepoint and the import goes on."""
    if not _analyzes(session):
        return
    for model in _TABLES[kind]:
        table = model.__table__.name
        try:
            async with session.begin_nested():
                await session.execute(text(f"ANALYZE (SKIP_LOCKED) {table}"))
        except DBAPIError:
            log.warning("ANALYZE %s failed: the import goes on without it", table, exc_info=True)


def template(kind: Kind) -> str:
    """An empty file of the kind: its header line."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(names(kind))
    return out.getvalue()


def errors_csv(errors: Sequence[RowError]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ERROR_COLUMNS)
    for e in errors:
        writer.writerow([e.file, e.row, e.column or "", e.code, e.message])
    return out.getvalue()


@dataclass(frozen=True)
class _Pass:
    """One walk over a file's rows with a handler; a second pass counts only refusals."""

    file: _File
    handler: type[Handler]
    counted: bool = True

    def batches(self, size: int) -> list[list[Row]]:
        ordered = self.handler.order(self.file.rows)
        return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _passes(files: Sequence[_File]) -> list[_Pass]:
    """Each file in the kinds' order, then the providers' deactivations (import_kinds)."""
    first = [_Pass(f, HANDLERS[f.source.kind]) for f in files]
    last = [
        _Pass(f, ProviderDeactivations, False) for f in files if f.source.kind is Kind.PROVIDERS
    ]
    return first + last


async def _rows(scope: TenantScope, walk: _Pass, rows: Sequence[Row]) -> _Tally:
    """Rows of one file in the batch's transaction: each checked by the handler (a refused
    one writes nothing), then the accepted ones written together (handler.finish; should
    that write fail, they are refused after all). A row a handler still runs through a use
    case runs in a savepoint (transaction.run_write)."""
    assert scope.batch is not None
    tally, kind, name = _Tally(), walk.file.source.kind, walk.file.source.name
    counts = tally.of(kind)
    handler = walk.handler(scope)
    await handler.prepare(rows)
    counted: dict[int, Status] = {}  # what each row was counted as, until the batch is written
    for row in rows:
        problems: list[tuple[str | None, str, str]]
        try:
            status: Status = await handler.apply(row)
        except CellError as bad:
            problems = [(bad.column, INVALID_INPUT, bad.message)]
        except RowRefused as refused:
            problems = list(refused.errors)
        except Refused as refused:  # input a service refused before its transaction
            problems = [handler.on_column(e) for e in refused.errors]
        else:
            if walk.counted:
                setattr(counts, status, getattr(counts, status) + 1)
                counted[row.number] = status
            continue
        handler.forget(row)
        counts.refused += 1
        tally.errors.extend(RowError(name, row.number, *p) for p in problems)
    for row, late in await handler.finish():  # rows the batch's write refused after all
        if row.number in counted:
            status = counted[row.number]
            setattr(counts, status, getattr(counts, status) - 1)
            counts.refused += 1
        tally.errors.extend(RowError(name, row.number, *p) for p in late.errors)
    return tally


@contextlib.contextmanager
def _set_aside_from_gc(wanted: bool) -> Iterator[None]:
    """What exists now (above all the files' rows, read before the first batch and kept
    until the import ends) left out of the cyclic garbage collector's passes until the
    block ends. Each batch leaves thousands of objects alive past a pass (the records it
    stages until its commit), so the collector's full pass comes every few batches, and it
    walked every row of every file each time: a sixth of the CPU of the benchmark's
    appointments. gc.freeze() is process-wide, and gc.unfreeze() gives back everything
    frozen, so only a process that does nothing else asks for it (`cmgraph import`): in the
    service, `importRecords` would undo the start-up's freeze (serving.py) and hold other
    requests' garbage until it ends."""
    if not wanted:
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def run_import(
    scope: TenantScope,
    sources: Sequence[Source],
    *,
    dry_run: bool = False,
    policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
    judging: findings.Progress | None = None,
    alone_in_process: bool = False,
) -> Report:
    """Import the sources in the kinds' order; see the module's docstring for the policies.
    `judging` follows the stored findings judged again at the end (clients done, in all).
    `alone_in_process`: nothing else runs in this process (the CLI), so the files' rows may
    be set aside from the garbage collector while the import runs (_set_aside_from_gc)."""
    files = sorted((read(s) for s in sources), key=lambda f: list(Kind).index(f.source.kind))
    with _set_aside_from_gc(alone_in_process):
        return await _run(scope, files, dry_run, policy, progress, batch_rows, judging)


async def _run(
    scope: TenantScope,
    files: list[_File],
    dry_run: bool,
    policy: ErrorPolicy,
    progress: Progress | None,
    batch_rows: int,
    judging: findings.Progress | None,
) -> Report:
    report, tally = Report(dry_run, policy), _Tally()
    readable = []
    for f in files:
        tally.of(f.source.kind)
        if f.header_errors:
            tally.errors.extend(f.header_errors)
            tally.of(f.source.kind).refused += len(f.rows)
        else:
            readable.append(f)
    passes = _passes(readable)

    def advance(walk: _Pass, done: int) -> None:
        if progress is not None and walk.counted:
            progress(walk.file.source.kind, done, len(walk.file.rows))

    if policy is ErrorPolicy.REJECT_FAILED_ROWS and not dry_run:
        for walk in passes:
            done = 0
            advance(walk, done)
            for batch in walk.batches(batch_rows):

                async def rows(
                    batch_scope: TenantScope, w: _Pass = walk, b: list[Row] = batch
                ) -> _Tally:
                    return await _rows(batch_scope, w, b)

                part = await run_batch(
                    scope, rows, keep=lambda _: True, judge_later=True, bulk=True
                )
                tally.merge(part)
                report.committed = report.committed or any(
                    c.created or c.updated for c in part.counts.values()
                )
                done += len(batch)
                advance(walk, done)
            if walk.counted and len(walk.file.rows) >= batch_rows:
                async with scope.db.write() as session:
                    if _analyzes(session):
                        await analyze(session, walk.file.source.kind)
                        await session.commit()
    else:
        blocked = bool(tally.errors)

        async def everything(batch_scope: TenantScope) -> _Tally:
            whole = _Tally()
            for walk in passes:
                done = 0
                advance(walk, done)
                for batch in walk.batches(batch_rows):
                    whole.merge(await _rows(batch_scope, walk, batch))
                    done += len(batch)
                    advance(walk, done)
                if walk.counted and len(walk.file.rows) >= batch_rows:
                    assert batch_scope.batch is not None
                    await analyze(batch_scope.batch, walk.file.source.kind)
            return whole

        def keep(whole: _Tally) -> bool:
            return not dry_run and not blocked and not whole.errors

        part = await run_batch(scope, everything, keep, judge_later=True, bulk=True)
        tally.merge(part)
        report.committed = keep(part)
    if not dry_run:  # what the committed batches marked (a rolled-back one marked nothing)
        try:
            await findings.drain_patiently(scope.db, scope.book, scope.organization_id, judging)
        except Exception:
            # The rows are committed: the answer stands. The marks stay; reads judge these
            # clients live until start-up, a later write or `cmgraph findings rebuild`.
            log.exception("the import's stored findings are left stale")
    report.counts = {k: tally.counts[k] for k in Kind if k in tally.counts}
    report.errors = tally.errors
    return report
