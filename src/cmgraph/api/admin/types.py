"""The audit trail's events (read-only, one per change) and API tokens as admins see them:
never the secret, which createApiToken returns once."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from cmgraph.api import ids
from cmgraph.api.context import Info
from cmgraph.api.permissions import may_read_entity
from cmgraph.api.providers.types import Provider, load_provider
from cmgraph.services import records

# Model names in the change records that the schema calls otherwise.
_TYPE_NAMES = {"Assignment": "CaseManagerAssignment"}


def type_name(model_name: str) -> str:
    return _TYPE_NAMES.get(model_name, model_name)


def changed_fields(before: Any, after: Any) -> list[str]:
    """The keys whose values differ between two snapshots (all of one when the other is
    missing), sorted."""
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    absent = object()
    return sorted(k for k in old.keys() | new.keys() if old.get(k, absent) != new.get(k, absent))


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
    request_id: str | None
    at: strawberry.Private[datetime]
    contents: strawberry.Private[tuple[Any, Any]]  # before, after: shown by `shown`
    position: strawberry.Private[int]  # its place in commit order: the keyset of the cursor

    @classmethod
    def of(cls, row: records.ChangeRecord) -> AuditEvent:
        entity = type_name(row.entity_type)
        return cls(
            id=strawberry.ID(ids.encode("AuditEvent", row.id)),
            actor=row.actor,
            actor_name=row.actor_name,
            role=row.role,
            operation=row.operation,
            entity_type=entity,
            entity_id=strawberry.ID(ids.encode(entity, row.entity_id)),
            request_id=row.request_id,
            at=row.occurred_at,
            contents=(row.before, row.after),
            position=row.position,
        )

    def shown(self, info: Info, contents: Any) -> JSON | None:
        """The one rule of the audit trail, wherever events are read (auditEvents, an
        assignment's changes): an entity's contents only to whoever may read its type."""
        if not may_read_entity(info.context.principal, self.entity_type):
            return None
        return cast("JSON | None", contents)  # a snapshot: JSON-able by construction

    @strawberry.field(
        description="The entity before the change (null when created), for a caller who may "
        "read its type; otherwise null: see changedFields."
    )
    def before(self, info: Info) -> JSON | None:
        return self.shown(info, self.contents[0])

    @strawberry.field(
        description="The entity after the change (null when removed), for a caller who may "
        "read its type; otherwise null: see changedFields."
    )
    def after(self, info: Info) -> JSON | None:
        return self.shown(info, self.contents[1])

    @strawberry.field(
        description="The names of the entity's fields (as stored) that the change set or "
        "altered, shown to everyone who may read the event."
    )
    def changed_fields(self) -> list[str]:
        return changed_fields(*self.contents)

    @strawberry.field(description="When the change was committed, in the organization's zone.")
    def occurred_at(self, info: Info) -> datetime:
        return self.at.astimezone(info.context.scope.clock.zone)


@strawberry.type(name="ApiToken")
class ApiToken:
    id: strawberry.ID
    name: str
    role: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    provider_pk: strawberry.Private[UUID | None]

    @classmethod
    def of(cls, row: records.ApiToken) -> ApiToken:
        return cls(
            id=strawberry.ID(ids.encode("ApiToken", row.id)),
            name=row.name,
            role=row.role,
            scopes=list(row.scopes or []),
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            provider_pk=row.provider_id,
        )

    @strawberry.field(description="A clinician token's provider.")
    async def provider(self, info: Info) -> Provider | None:
        return await load_provider(info, self.provider_pk) if self.provider_pk else None
