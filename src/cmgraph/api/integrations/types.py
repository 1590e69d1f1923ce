"""A domain event as the feed shows it: the same envelope a webhook delivers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from cmgraph.api import ids
from cmgraph.api.pagination import keyset_cursor
from cmgraph.services import events, records

EVENTS_CURSOR = "events"


@strawberry.type(
    name="Event",
    description="A domain event (client.created, case_manager.assigned ...; docs/events.md "
    "lists them with their payloads), appended in the transaction of the write it reports. "
    "The feed orders events by commit.",
)
class Event:
    id: strawberry.ID = strawberry.field(
        description="The event's stable id (a webhook delivers it as `webhook-id`'s event)."
    )
    type: str
    occurred_at: datetime = strawberry.field(description="When the write happened (UTC).")
    cursor: str = strawberry.field(
        description="Pass it as `after` to read the events that committed after this one."
    )
    data: JSON = strawberry.field(
        description="The whole event: id, type, occurredAt, organizationId and `data`, the "
        "facts of the change (ids, dates, service line, provider NPI ...; never a name, a "
        "date of birth or a note). Its JSON Schema ships in the package."
    )

    @classmethod
    def of(cls, row: records.Event) -> Event:
        payload: Any = events.envelope(row)
        return cls(
            id=strawberry.ID(ids.encode("Event", row.id)),
            type=row.type,
            occurred_at=row.occurred_at,
            cursor=keyset_cursor(EVENTS_CURSOR, (row.position,)),
            data=payload,
        )
