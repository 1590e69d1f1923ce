"""Running one use case in one write transaction, with refusals and races turned into answers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.plugins import PluginFailed
from cmgraph.services.outcome import Outcome, Refused, UserError
from cmgraph.services.scope import Scope

T = TypeVar("T")
log = logging.getLogger("cmgraph.plugins")

OVERLAP_CONSTRAINT = "ex_assignments_no_overlap"


def plugin_failed(failed: PluginFailed) -> UserError:
    return UserError(
        None,
        "PLUGIN_FAILED",
        f"The rules plugin {failed.plugin!r} failed, so nothing was written; the error is logged.",
        plugin=failed.plugin,
    )


def _integrity_error(exc: IntegrityError) -> UserError:
    text = str(exc.orig)
    if OVERLAP_CONSTRAINT in text:
        # The backstop fired: a concurrent write got there first.
        return UserError(
            ("input", "startDate"),
            "OVERLAPPING_ASSIGNMENT",
            "Another case manager was assigned for this period at the same time; reload and "
            "try again.",
            rule="no_overlap",
            plugin="cmgraph",
        )
    if "UNIQUE" in text.upper() or "unique" in text or "duplicate key" in text:
        return UserError(None, "INVALID_INPUT", "A record with the same unique value exists.")
    raise exc


async def run_write(
    scope: Scope, use_case: Callable[[AsyncSession], Awaitable[Outcome[T]]]
) -> Outcome[T]:
    """Run use_case in a serialized write transaction; commit only when it succeeds."""
    async with scope.db.write() as session:
        try:
            outcome = await use_case(session)
            await session.commit()
            return outcome
        except Refused as refused:
            await session.rollback()
            return Outcome.refused(refused.errors)
        except IntegrityError as exc:
            await session.rollback()
            return Outcome.refused([_integrity_error(exc)])
        except PluginFailed as failed:
            # Fail closed: a rule we could not run is a rule we cannot say was met.
            await session.rollback()
            log.error("%s", failed, exc_info=failed.error)
            return Outcome.refused([plugin_failed(failed)])
