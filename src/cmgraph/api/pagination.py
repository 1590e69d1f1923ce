"""Connections: keyset cursors over a stable order, with a capped page size.

A cursor is opaque to clients. Inside, it is url-safe base64 of `k1:` and a JSON array: the
connection's name, then the sort key of the row it stands for (clients: last name, first
name, id; events and audit events: the feed position, ...). The next page is the rows after
that key, so a row inserted or deleted between two pages shifts nothing (neither skipped nor
repeated), and a deep page costs what the first costs (no OFFSET). A cursor of another
connection, or an offset cursor (`cursor:<n>`) of an earlier version, is refused with
INVALID_INPUT. Connections still paging by offset (claim lines, compliance findings) use
`cursor`/`offset_after` below.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

import strawberry

from cmgraph.api.errors import InputError

_PREFIX = "cursor:"
_KEYSET = "k1:"
Key = tuple[str | int, ...]
MAX_OFFSET = 10**9  # no list is longer; a larger cursor was not made by us


@strawberry.type(name="PageInfo")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode()


def offset_after(after: str | None) -> int:
    if after is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(after.encode()).decode()
        if text.startswith(_PREFIX) and 0 <= (value := int(text[len(_PREFIX) :])) < MAX_OFFSET:
            return value + 1
    except ValueError:
        pass
    raise InputError("Malformed cursor in `after`.", field=["after"])


def page_size(first: int | None, cap: int) -> int:
    if first is None:
        return cap
    if not 0 <= first <= cap:
        raise InputError(f"`first` must be between 0 and {cap}.", field=["first"])
    return first


def page_info_ahead(start: int, count: int, has_next: bool) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=start > 0,
        start_cursor=cursor(start) if count else None,
        end_cursor=cursor(start + count - 1) if count else None,
    )


def keyset_cursor(connection: str, key: Key) -> str:
    """The cursor of the row whose sort key is `key`, in `connection`."""
    text = _KEYSET + json.dumps([connection, *key], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode()


def keyset_after(after: str | None, connection: str, shape: Sequence[type]) -> Key | None:
    """The sort key a cursor of `connection` stands for (of the types in `shape`), or None
    without one. Anything else is refused, an offset cursor of an earlier version saying so."""
    if after is None:
        return None
    try:
        text = base64.urlsafe_b64decode(after.encode()).decode()
    except ValueError:
        text = ""
    if text.startswith(_PREFIX):
        raise InputError(
            "This cursor is an offset cursor of an earlier version; cursors are keyset "
            "cursors now: page again from the start, without `after`.",
            field=["after"],
        )
    try:
        name, *key = json.loads(text[len(_KEYSET) :]) if text.startswith(_KEYSET) else [None]
    except (ValueError, TypeError):
        name, key = None, []
    if (
        name != connection
        or len(key) != len(shape)
        or not all(type(v) is t for v, t in zip(key, shape, strict=True))
        or any(type(v) is int and not 0 <= v < 2**63 for v in key)
    ):
        raise InputError(f"Malformed cursor in `after` (not one of {connection}).", field=["after"])
    return tuple(key)
