"""Connections: offset cursors over a stable order, with a capped page size."""

from __future__ import annotations

import base64

import strawberry

from cmgraph.api.errors import InputError

_PREFIX = "cursor:"
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
