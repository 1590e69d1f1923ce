"""Date and DateTime as the contract names them, refusing dates no practice has.

A year-1 or year-9999 date is a typo, and it would overflow date arithmetic later; it is
refused where it enters, as a GraphQL error naming the variable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from strawberry.types.scalar import ScalarDefinition

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


class InvalidScalar(ValueError):
    """A Date or DateTime the caller sent that is none: the API answers INVALID_INPUT."""


def is_invalid_scalar(error: BaseException | None) -> bool:
    """Whether error, or what it wraps (graphql-core wraps a scalar's error), is ours."""
    while error is not None:
        if isinstance(error, InvalidScalar):
            return True
        error = getattr(error, "original_error", None) or error.__cause__
    return False


def _within_range(day: date) -> None:
    if not EARLIEST <= day <= LATEST:
        raise InvalidScalar(
            f"{day.isoformat()} is out of range: dates run from {EARLIEST.isoformat()} to "
            f"{LATEST.isoformat()}"
        )


def _parsed(kind: str, parse: Callable[[str], date]) -> Callable[[object], date]:
    def parse_value(value: object) -> date:
        if not isinstance(value, str):
            raise InvalidScalar(f"a {kind} is an ISO 8601 string")
        try:
            parsed = parse(value)
        except ValueError as exc:
            # No quotes around the value: graphql-core quotes this whole message already.
            raise InvalidScalar(f"{value} is not a valid {kind} ({exc})") from None
        _within_range(parsed.date() if isinstance(parsed, datetime) else parsed)
        return parsed

    return parse_value


DateScalar = ScalarDefinition(
    name="Date",
    description="An ISO 8601 date, e.g. 2026-03-07.",
    specified_by_url=None,
    serialize=date.isoformat,
    parse_value=_parsed("Date", date.fromisoformat),
    parse_literal=None,
    origin=date,
)

DateTimeScalar = ScalarDefinition(
    name="DateTime",
    description="An ISO 8601 date-time with its offset, e.g. 2026-03-08T09:00:00-05:00.",
    specified_by_url=None,
    serialize=datetime.isoformat,
    parse_value=_parsed("DateTime", datetime.fromisoformat),
    parse_literal=None,
    origin=datetime,
)

OVERRIDES: dict[object, ScalarDefinition] = {date: DateScalar, datetime: DateTimeScalar}
