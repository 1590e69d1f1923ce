"""Errors a caller can act on, as top-level GraphQL errors with extensions.code."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from graphql import GraphQLError

from cmgraph.api.input_paths import input_path
from cmgraph.plugins import PluginFailed
from cmgraph.services.outcome import INVALID_INPUT, Refused

log = logging.getLogger("cmgraph.plugins")

T = TypeVar("T")

UNAVAILABLE = "UNAVAILABLE"
UNAVAILABLE_MESSAGE = "The database is unavailable. Try again shortly."
WRITE_CONFLICT = "WRITE_CONFLICT"
WRITE_CONFLICT_MESSAGE = (
    "The write kept conflicting with concurrent writes and was not done. Try again shortly."
)


class InputError(GraphQLError):
    """Bad arguments of a query (mutations answer with userErrors instead)."""

    def __init__(self, message: str, code: str = INVALID_INPUT, field: list[str] | None = None):
        extensions: dict[str, object] = {"code": code}
        if field:
            extensions["field"] = field
        super().__init__(message, extensions=extensions)


class PluginFailedError(GraphQLError):
    """A rules plugin raised: the answer would be wrong, so there is none (fail closed)."""

    def __init__(self, failed: PluginFailed) -> None:
        log.error("%s", failed, exc_info=failed.error)
        super().__init__(
            f"The rules plugin {failed.plugin!r} failed; the error is logged.",
            extensions={"code": "PLUGIN_FAILED", "plugin": failed.plugin},
        )


def from_refused(refused: Refused) -> InputError:
    first = refused.errors[0]
    return InputError(first.message, first.code, input_path(first.field))


async def guarded(work: Callable[[], Awaitable[T]]) -> T:
    """Input refusals and plugin failures of a query become a top-level error with
    extensions.code."""
    try:
        return await work()
    except Refused as refused:
        raise from_refused(refused) from None
    except PluginFailed as failed:
        raise PluginFailedError(failed) from None


def is_safe(error: GraphQLError) -> bool:
    """Parse, validation and input errors are shown; anything else is masked.

    Errors without a path come from the request itself, before any resolver ran (e.g. a
    variable "2026-02-30" for a Date: graphql-core keeps the scalar's ValueError as
    original_error), so they say what is wrong with the caller's input."""
    original = error.original_error
    return (
        original is None
        or isinstance(original, (InputError, PluginFailedError))
        or error.path is None
    )
