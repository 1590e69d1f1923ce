"""The audit trail as the API shows it: read-only events, one per change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from cmgraph.api import ids
from cmgraph.api.context import Info
from cmgraph.services import records

# Model names in the change records that the schema calls otherwise.
_TYPE_NAMES = {"Assignment": "CaseManagerAssignment"}


def type_name(model_name: str) -> str:
    return _TYPE_NAMES.get(model_name, model_name)


@strawberry.type(
    name="AuditEvent",
    description="One change: who (actor, their name and role), when, which operation on which "
    "entity, the entity before and after, and the request that made it. Events are only ever "
    "appended.",
)
class AuditEvent:
    id: strawberry.ID
    actor: str = strawberry.field(
        description='"token:<id>" (an API token), "user:<subject>" (a person signed in with '
        'a JWT) or "cli" (an operator).'
    )
    actor_name: str | None
    role: str | None
    operation: str
    entity_type: str
    entity_id: strawberry.ID
    before: JSON | None
    after: JSON | None
    request_id: str | None
    at: strawberry.Private[datetime]

    @classmethod
    def of(cls, row: records.ChangeRecord) -> AuditEvent:
        entity = type_name(row.entity_type)
        before: Any = row.before
        after: Any = row.after
        return cls(
            id=strawberry.ID(ids.encode("AuditEvent", row.id)),
            actor=row.actor,
            actor_name=row.actor_name,
            role=row.role,
            operation=row.operation,
            entity_type=entity,
            entity_id=strawberry.ID(ids.encode(entity, row.entity_id)),
            before=before,
            after=after,
            request_id=row.request_id,
            at=row.occurred_at,
        )

    @strawberry.field(description="When the change was committed, in the organization's zone.")
    def occurred_at(self, info: Info) -> datetime:
        return self.at.astimezone(info.context.scope.clock.zone)


def entity_uuid(global_id: str) -> Any:
    """The uuid of any global id, whatever its type (audit events name every kind)."""
    decoded = ids.decode(global_id)
    return decoded[1] if decoded else None
