"""db.ids: the time-ordered ids of appointments, change records and events are UUIDs as the
standard library makes them (equal, hashed and printed alike), version 7, and ascending."""

from __future__ import annotations

from uuid import UUID, SafeUUID

from cmgraph.db import ids


def test_a_time_ordered_id_is_a_standard_uuid_of_version_7() -> None:
    made = ids.time_ordered()

    assert type(made) is UUID and made.version == 7 and made.variant == "specified in RFC 4122"
    assert made.is_safe is SafeUUID.unknown
    again = UUID(str(made))
    assert again == made and hash(again) == hash(made) and again.hex == made.hex


def test_time_ordered_ids_ascend_in_the_order_they_are_made() -> None:
    made = [ids.time_ordered() for _ in range(2000)]

    assert len(set(made)) == len(made)
    assert made == sorted(made) and [u.hex for u in made] == sorted(u.hex for u in made)
