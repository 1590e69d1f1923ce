"""Connections: keyset cursors over a stable order, with a capped page size.

A cursor is opaque to clients. Inside, it is url-safe base64 of `k1:` and a JSON array: the
connection's name, then the sort key of the row it stands for (clients and providers: last
name, first name, id; claim lines: date of service, start, session id; events and audit
events: the feed position, ...). The next page is the rows after that key, so a row
inserted or deleted between two pages shifts nothing (neither skipped nor repeated), and a
deep page costs what the first costs (no OFFSET). A cursor of another connection, or an
offset cursor (`cursor:<n>`) of an earlier version, is refused with INVALID_INPUT.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import strawberry

from cmgraph.api.errors import InputError

_OFFSET = "cursor:"  # the offset cursors of earlier versions
_KEYSET = "k1:"
Value = str | int | UUID | date | datetime
Key = tuple[Value, ...]
Found = tuple[Any, ...]  # a cursor's key: values of its shape's types, checked
Shape = Sequence[type]


@strawberry.type(name="PageInfo")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def page_size(first: int | None, cap: int) -> int:
    if first is None:
        return cap
    if not 0 <= first <= cap:
        raise InputError(f"`first` must be between 0 and {cap}.", field=["first"])
    return first


def _plain(value: Value) -> str | int:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value) if isinstance(value, UUID) else value


def keyset_cursor(connection: str, key: Key) -> str:
    """The cursor of the row whose sort key is `key`, in `connection`."""
    text = _KEYSET + json.dumps([connection, *map(_plain, key)], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode()


def _typed(value: object, kind: type) -> Value:
    """A cursor's JSON value as the sort key's type; ValueError if it is not one."""
    if type(value) is int and kind is int and 0 <= value < 2**63:
        return value
    if type(value) is not str or kind is int:
        raise ValueError(value)
    if kind is str:
        return value
    if kind is UUID:
        return UUID(value)
    if kind is datetime and (moment := datetime.fromisoformat(value)).tzinfo is not None:
        return moment
    if kind is date and len(value) == len("2026-03-08"):
        return date.fromisoformat(value)
    raise ValueError(value)


def keyset_after_any(after: str | None, shapes: Mapping[str, Shape]) -> tuple[str, Found] | None:
    """(connection, sort key) of a cursor of one of the connections named in `shapes` (each
    with the types of its key), or None without one. Anything else is refused, an offset
    cursor of an earlier version saying so."""
    if after is None:
        return None
    try:
        text = base64.urlsafe_b64decode(after.encode()).decode()
    except ValueError:
        text = ""
    if text.startswith(_OFFSET):
        raise InputError(
            "This cursor is an offset cursor of an earlier version; cursors are keyset "
            "cursors now: page again from the start, without `after`.",
            field=["after"],
        )
    try:
        name, *values = json.loads(text[len(_KEYSET) :]) if text.startswith(_KEYSET) else [None]
        if type(name) is not str or len(values) != len(shape := shapes[name]):
            raise ValueError(name)
        return name, tuple(_typed(v, t) for v, t in zip(values, shape, strict=True))
    except (ValueError, TypeError, KeyError):
        names = " or ".join(shapes)
        raise InputError(
            f"Malformed cursor in `after` (not one of {names}).", field=["after"]
        ) from None


def keyset_after(after: str | None, connection: str, shape: Shape) -> Found | None:
    """The sort key a cursor of `connection` stands for (of the types in `shape`), or None
    without one; see keyset_after_any."""
    found = keyset_after_any(after, {connection: shape})
    return found[1] if found else None
