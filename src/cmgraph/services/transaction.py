"""Running one use case in one write transaction, with refusals and races turned into answers.

A transaction that loses a race (a serialization failure or deadlock on PostgreSQL:
db.faults.is_retryable) is run again from the start,
in a fresh session, up to ATTEMPTS times with a short jittered pause; the use case is a
function of its session, so running it again reads the state anew. When every attempt
lost, WriteConflict says so (the API answers 503 WRITE_CONFLICT: try again).

A connection to PostgreSQL lost during the COMMIT leaves its outcome unknown (the server
may have committed before the answer was lost): OutcomeUnknown says so (the API answers 503
OUTCOME_UNKNOWN; only a retry under the same Idempotency-Key is safe). SQLite's COMMIT runs
in the process, so its failure means nothing was committed. Each commit is counted in the
request's Journal, so that a later failure of the request is not answered "nothing was
written". Under an Idempotency-Key each write records its outcome in its own transaction
(services.recorded); a retry answers a recorded write from the record instead of running it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db.faults import is_retryable

# Re-exported for the API, which may not import cmgraph.db.
from cmgraph.db.faults import is_unavailable as is_unavailable
from cmgraph.observability import metrics, tracing
from cmgraph.plugins import PluginFailed, RuleBook
from cmgraph.services import findings, positions, recorded
from cmgraph.services.idempotency import KEY_IN_USE, RESPONSE_LOST, UNRECORDABLE, mark_written
from cmgraph.services.outcome import Outcome, Refused, UserError
from cmgraph.services.scope import TenantScope

T = TypeVar("T")
log = logging.getLogger("cmgraph.plugins")
retries = logging.getLogger("cmgraph.transaction")

ATTEMPTS = 3
BACKOFF_SECONDS = 0.05  # the first pause is 25-50 ms, doubling each time


class WriteConflict(Exception):
    """Every attempt of a write lost a race with concurrent writes; nothing was written."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"the write conflicted with concurrent writes {attempts} times")
        self.attempts = attempts


def backoff(attempt: int) -> float:
    """Seconds to pause after losing attempt `attempt` (1-based): jittered so that the
    transactions that collided do not collide again in step."""
    ceiling: float = BACKOFF_SECONDS * 2 ** (attempt - 1)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class OutcomeUnknown(Exception):
    """The connection was lost during the COMMIT: the write may or may not be applied."""

    def __init__(self) -> None:
        super().__init__("the connection was lost while the write was committing")


OVERLAP_CONSTRAINT = "ex_assignments_no_overlap"
WRITTEN_AND_CHANGED = UserError(
    None,
    RESPONSE_LOST,
    "This request was applied, but what it wrote has been removed since, so its answer "
    "cannot be given again; read the current state rather than repeating it.",
)
KEY_TAKEN_OVER = UserError(
    None,
    KEY_IN_USE,
    "This request ran past its hold on the Idempotency-Key and a retry took it over; nothing "
    "was written here.",
)


def plugin_failed(failed: PluginFailed) -> UserError:
    return UserError(
        None,
        "PLUGIN_FAILED",
        f"The rules plugin {failed.plugin!r} failed"
        + (f" in {failed.hook}" if failed.hook else "")
        + ", so nothing was written; the error is logged.",
        plugin=failed.plugin,
    )


def integrity_error(exc: IntegrityError) -> UserError:
    text = str(exc.orig)
    if OVERLAP_CONSTRAINT in text:
        # The backstop fired: a concurrent write got there first.
        return UserError.from_finding(RuleBook.overlap_lost_race())
    if "UNIQUE" in text.upper() or "unique" in text or "duplicate key" in text:
        return UserError(None, "INVALID_INPUT", "A record with the same unique value exists.")
    raise exc


async def run_write(
    scope: TenantScope, use_case: Callable[[AsyncSession], Awaitable[Outcome[T]]]
) -> Outcome[T]:
    """Run use_case in a serialized write transaction; commit only when it succeeds. A lost
    race runs it again from the start, at most ATTEMPTS times in all. A write an earlier
    attempt of this request committed under its Idempotency-Key answers from its record.
    Inside run_batch it runs in a savepoint of the batch's transaction instead."""
    if tracing.on():
        name = tracing.use_case_name(use_case)
        with tracing.span(f"use_case {name}", {"cmgraph.use_case": name}):
            return await _run_write(scope, use_case)
    return await _run_write(scope, use_case)


async def _run_write(
    scope: TenantScope, use_case: Callable[[AsyncSession], Awaitable[Outcome[T]]]
) -> Outcome[T]:
    if scope.batch is not None:
        outcome = await _run_in_savepoint(scope.batch, use_case)
    else:
        index = scope.journal.writes
        scope.journal.writes += 1
        claim = scope.idempotency
        if claim is not None and index in claim.recorded:
            return await _replayed(scope, claim.recorded[index])
        outcome = await _retrying(lambda: _run_once(scope, use_case))
    if outcome.errors:
        metrics.refused(error.code for error in outcome.errors)
    return outcome


async def run_batch(
    scope: TenantScope,
    work: Callable[[TenantScope], Awaitable[T]],
    keep: Callable[[T], bool],
    *,
    judge_later: bool = False,
    bulk: bool = False,
) -> T:
    """Run many use cases in one serialized write transaction (a bulk import's batch).

    `work` gets a scope whose run_write runs each use case in a savepoint of this
    transaction: a refused use case undoes only its own writes and answers as it would
    alone. The transaction commits when keep(result) says so and rolls back otherwise (a
    dry run; a policy that keeps nothing when a row was refused). A lost race runs `work`
    again from the start, as run_write does. When the request's Idempotency-Key was taken
    over by a retry, nothing is committed and Refused(KEY_IN_USE) is raised.

    judge_later: the clients the batch reaches are marked stale rather than judged again,
    and no background drain starts: the caller drains once after its last batch (a bulk
    import, whose batches each reach a client's findings again).
    bulk: the batch writes many rows (db.Database.bulk_write).
    """
    index = scope.journal.writes
    scope.journal.writes += 1

    async def once() -> T:
        async with scope.db.bulk_write() if bulk else scope.db.write() as session:
            result = await work(replace(scope, batch=session))
            if not keep(result):
                await session.rollback()
                return result
            # As in run_write: the stored findings the batch changes are judged again, and
            # the request's Idempotency-Key says "written", in the very transaction that
            # writes; a key another attempt took over stops the commit. A batch's answer is
            # not rebuilt from a record: a retry after a lost one is told so (RESPONSE_LOST).
            marked_stale = await findings.keep_current(session, scope, later=judge_later)
            claim, journal = scope.idempotency, scope.journal
            outcomes = {**(claim.recorded if claim else {}), **journal.recorded}
            outcomes[index] = UNRECORDABLE
            if claim is not None and not await mark_written(session, claim, outcomes):
                await session.rollback()
                raise Refused(KEY_TAKEN_OVER)
            await _commit(scope, session)
            journal.committed += 1
            journal.recorded = outcomes
            if marked_stale and not judge_later:
                findings.after_commit(scope)
            return result

    return await _retrying(once)


async def _retrying(attempt_once: Callable[[], Awaitable[T]]) -> T:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await attempt_once()
        except Exception as exc:
            if not is_retryable(exc):
                raise
            if attempt == ATTEMPTS:
                raise WriteConflict(attempt) from exc
            retries.info(
                "write retried", extra={"attempt": attempt, "error_type": type(exc).__name__}
            )
            await asyncio.sleep(backoff(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


async def _run_in_savepoint(
    session: AsyncSession, use_case: Callable[[AsyncSession], Awaitable[Outcome[T]]]
) -> Outcome[T]:
    """use_case inside a batch: its writes stand or fall alone, the batch commits them;
    the change records and events it staged go with its savepoint (services.positions)."""
    savepoint = await session.begin_nested()
    try:
        outcome = await use_case(session)
        await savepoint.commit()
        return outcome
    except Refused as refused:
        await savepoint.rollback()
        return Outcome.refused(refused.errors, refused.warnings)
    except IntegrityError as exc:
        await savepoint.rollback()
        return Outcome.refused([integrity_error(exc)])
    except PluginFailed as failed:
        await savepoint.rollback()
        log.error("%s", failed, exc_info=failed.error)
        return Outcome.refused([plugin_failed(failed)])


async def _replayed(scope: TenantScope, record: dict[str, Any]) -> Outcome[Any]:
    async with scope.db.read() as session:
        try:
            return await recorded.decode(session, record)
        except recorded.Vanished:
            return Outcome.refused([WRITTEN_AND_CHANGED])


def _record_of(outcome: Outcome[Any]) -> dict[str, Any]:
    try:
        return recorded.encode(outcome)
    except recorded.Unrecordable:
        return UNRECORDABLE


async def _run_once(
    scope: TenantScope, use_case: Callable[[AsyncSession], Awaitable[Outcome[T]]]
) -> Outcome[T]:
    async with scope.db.write() as session:
        try:
            outcome = await use_case(session)
            # The stored findings the write changes are judged again before it commits.
            marked_stale = await findings.keep_current(session, scope)
            # The key says "written", with what this write returned, in the very transaction
            # that writes, or neither happens (services.idempotency); a key another attempt
            # took over stops this commit.
            claim, journal = scope.idempotency, scope.journal
            outcomes = {**(claim.recorded if claim else {}), **journal.recorded}
            outcomes[journal.writes - 1] = _record_of(outcome)
            if claim is not None and not await mark_written(session, claim, outcomes):
                raise Refused(KEY_TAKEN_OVER)
            await _commit(scope, session)
            journal.committed += 1
            journal.recorded = outcomes
            if marked_stale:
                findings.after_commit(scope)
            return outcome
        except Refused as refused:
            await session.rollback()
            return Outcome.refused(refused.errors, refused.warnings)
        except IntegrityError as exc:
            await session.rollback()
            return Outcome.refused([integrity_error(exc)])
        except PluginFailed as failed:
            # Fail closed: a rule we could not run is a rule we cannot say was met.
            await session.rollback()
            log.error("%s", failed, exc_info=failed.error)
            return Outcome.refused([plugin_failed(failed)])


async def _commit(scope: TenantScope, session: AsyncSession) -> None:
    # Everything but COMMIT itself first (the staged change records and events, the last
    # flush): a failure there wrote nothing, so only a cut COMMIT leaves the outcome unknown.
    await session.run_sync(positions.seal)
    await session.flush()
    try:
        await session.commit()
    except Exception as exc:
        if is_unavailable(exc) and scope.db.engine.dialect.name != "sqlite":
            raise OutcomeUnknown() from exc
        raise
