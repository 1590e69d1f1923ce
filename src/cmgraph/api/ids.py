"""Opaque Relay global ids: base64 of "Type:uuid". Ids of another type or organization
decode to nothing useful, and resolve to nothing."""

from __future__ import annotations

import base64
import binascii
import functools
from uuid import UUID


# A page names the same payors, providers and clients again and again, and making an id
# (the uuid's text, base64) was a twentieth of a caseload page: the last 32,768 are kept.
@functools.lru_cache(maxsize=2**15)
def encode(type_name: str, id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{id}".encode()).decode().rstrip("=")


def decode(global_id: str) -> tuple[str, UUID] | None:
    """(type name, uuid), or None when the id is malformed."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return type_name, UUID(raw)
    except (binascii.Error, UnicodeError, ValueError):
        return None


def decode_as(global_id: str, type_name: str) -> UUID | None:
    """The uuid of an id of the expected type; None when malformed or of another type."""
    decoded = decode(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
