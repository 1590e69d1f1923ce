"""Reading mutation and query inputs: global ids to uuids, fields left out to KEEP.

In update inputs a field left out is UNSET (kept as it is) and an explicit null clears it.
"""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

import strawberry
from strawberry import UNSET

from cmgraph.api import ids
from cmgraph.api.errors import InputError
from cmgraph.services.outcome import INVALID_INPUT, KEEP, Update, refuse

T = TypeVar("T")


def parse_id(value: strawberry.ID | str | None, type_name: str, field: str) -> UUID | None:
    """The uuid behind a global id. Malformed: INVALID_INPUT; another type: None (NOT_FOUND)."""
    if value is None:
        return None
    decoded = ids.decode(str(value))
    if decoded is None:
        raise refuse(INVALID_INPUT, "Malformed id.", field)
    return decoded[1] if decoded[0] == type_name else None


def query_id(value: strawberry.ID | str, type_name: str, *field: str) -> UUID | None:
    """The uuid behind a query argument's global id. Malformed: a top-level INVALID_INPUT,
    as a mutation refuses it; another type: None, so the query answers null (or NOT_FOUND)
    as for an unknown id."""
    decoded = ids.decode(str(value))
    if decoded is None:
        raise InputError("Malformed id.", field=list(field))
    return decoded[1] if decoded[0] == type_name else None


def given(value: T) -> Update[T]:
    """UNSET (left out) becomes the services' KEEP."""
    return KEEP if value is UNSET else value
