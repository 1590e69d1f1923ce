"""Time-ordered ids (UUIDv7) for the rows written most: appointments, change records, events.

A new row with a random id goes to a random page of its primary-key index (and of every
index that holds its id: change records are indexed by the id of what they record); a
time-ordered one goes to the end. They are ids as random ones are: nothing orders by them
or reads their time.
"""

from __future__ import annotations

from uuid import UUID, SafeUUID

import uuid_utils

_UNKNOWN = SafeUUID.unknown  # read once: an enum member costs a descriptor call each time


def time_ordered() -> UUID:
    """A UUIDv7 as the standard library's UUID, made as uuid_utils.compat makes it (a bulk
    import makes three a row, and compat reads SafeUUID.unknown anew for each)."""
    made = object.__new__(UUID)
    object.__setattr__(made, "int", uuid_utils.uuid7().int)
    object.__setattr__(made, "is_safe", _UNKNOWN)
    return made
