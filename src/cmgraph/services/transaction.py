"""Running one use case in one write transaction, with refusals and races turned into answers.

A transaction that loses a race (a serialization failure or deadlock on PostgreSQL:
db.faults.is_retryable) is run again from the start,
in a fresh session, up to ATTEMPTS times with a short jittered pause; the use case is a
function of its session, so running it again reads the state anew. When every attempt
lost, WriteConflict says so (the API answers 503 WRITE_CONFLICT: try again).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db.faults import is_retryable

# Re-exported for the API, which may not import cmgraph.db.
from cmgraph.db.faults import is_unavailable as is_unavailable
from cmgraph.plugins import PluginFailed, RuleBook
from cmgraph.services import findings
from cmgraph.services.idempotency import KEY_IN_USE, mark_written
from cmgraph.services.outcome import Outcome, Refused, UserError
from cmgraph.services.scope import Scope

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


OVERLAP_CONSTRAINT = "ex_assignments_no_overlap"
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


def _integrity_error(exc: IntegrityError) -> UserError:
    text = str(exc.orig)
    if OVERLAP_CONSTRAINT in text:
        # The backstop fired: a concurrent write got there first.
        return UserError.from_finding(RuleBook.overlap_lost_race())
    if "UNIQUE" in text.upper() or "unique" in text or "duplicate key" in text:
        return UserError(None, "INVALID_INPUT", "A record with the same unique value exists.")
    raise exc


async def run_write(
    scope: Scope, use_case: Callable[[AsyncSession], Awaitable[Outcome[T]]]
) -> Outcome[T]:
    """Run use_case in a serialized write transaction; commit only when it succeeds. A lost
    race runs it again from the start, at most ATTEMPTS times in all."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await _run_once(scope, use_case)
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


async def _run_once(
    scope: Scope, use_case: Callable[[AsyncSession], Awaitable[Outcome[T]]]
) -> Outcome[T]:
    async with scope.db.write() as session:
        try:
            outcome = await use_case(session)
            # The stored findings the write changes are judged again before it commits.
            marked_stale = await findings.keep_current(session, scope)
            # The key says "written" in the very transaction that writes, or neither happens
            # (services.idempotency); a key another attempt took over stops this commit.
            if scope.idempotency is not None and not await mark_written(session, scope.idempotency):
                raise Refused(KEY_TAKEN_OVER)
            await session.commit()
            if marked_stale:
                findings.after_commit(scope)
            return outcome
        except Refused as refused:
            await session.rollback()
            return Outcome.refused(refused.errors, refused.warnings)
        except IntegrityError as exc:
            await session.rollback()
            return Outcome.refused([_integrity_error(exc)])
        except PluginFailed as failed:
            # Fail closed: a rule we could not run is a rule we cannot say was met.
            await session.rollback()
            log.error("%s", failed, exc_info=failed.error)
            return Outcome.refused([plugin_failed(failed)])
