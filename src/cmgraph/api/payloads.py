"""What every mutation shares: perform runs its use case, and its payload carries the object,
userErrors (empty on success) and warnings."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import strawberry

from cmgraph.api.compliance.types import RuleFinding, findings
from cmgraph.api.context import Info
from cmgraph.api.input_paths import input_path
from cmgraph.services.outcome import Outcome, Refused
from cmgraph.services.outcome import UserError as ServiceUserError

P = TypeVar("P")
R = TypeVar("R")
T = TypeVar("T")


@strawberry.type(name="UserError", description="Why a mutation did nothing.")
class UserError:
    field: list[str] | None
    code: str
    message: str
    rule: str | None
    plugin: str | None

    @classmethod
    def of(cls, e: ServiceUserError) -> UserError:
        return cls(
            field=input_path(e.field),
            code=e.code,
            message=e.message,
            rule=e.rule,
            plugin=e.plugin,
        )


async def perform(info: Info, work: Callable[[], Awaitable[Outcome[T]]]) -> Outcome[T]:
    """Run a use case; input refusals become userErrors; a write refreshes later reads."""
    try:
        outcome = await work()
    except Refused as refused:
        return Outcome.refused(refused.errors, refused.warnings)
    if not outcome.errors:
        await info.context.after_write()
    return outcome


def user_errors(outcome: Outcome[Any]) -> list[UserError]:
    return [UserError.of(e) for e in outcome.errors]


def warnings(outcome: Outcome[Any]) -> list[RuleFinding]:
    return findings(list(outcome.warnings))


_COMMON_FIELDS = frozenset({"user_errors", "warnings"})


@functools.cache
def _fields(kind: type) -> tuple[str, bool]:
    """The field that carries a payload's object, and whether it has warnings."""
    names = {f.name for f in dataclasses.fields(kind)}
    (field,) = names - _COMMON_FIELDS
    return field, "warnings" in names


def payload(kind: type[P], outcome: Outcome[R], show: Callable[[R], Any]) -> P:
    """The payload of a mutation of one object: that object as `show` makes it (null when
    the mutation was refused), the userErrors, and the warnings when the payload has them."""
    field, has_warnings = _fields(cast(type, kind))
    row = outcome.value
    values: dict[str, Any] = {
        field: show(row) if row else None,
        "user_errors": user_errors(outcome),
    }
    if has_warnings:
        values["warnings"] = warnings(outcome)
    return kind(**values)
