"""The audit trail's events (read-only, one per change) and API tokens as admins see them:
never the secret, which createApiToken returns once."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from cmgraph.api import ids
from cmgraph.api.context import Info
from cmgraph.api.providers.types import Provider, load_provider
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
    position: strawberry.Private[int]  # its place in commit order: the keyset of the cursor

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
            position=row.position,
        )

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
