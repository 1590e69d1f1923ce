"""API tokens as admins see them: never the secret, which createApiToken returns once."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from cmgraph.api import ids
from cmgraph.api.context import Info
from cmgraph.api.payloads import UserError
from cmgraph.api.types import Provider, load_provider
from cmgraph.services import records


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


@strawberry.input(name="CreateApiTokenInput")
class CreateApiTokenInput:
    name: str
    role: str = strawberry.field(
        description="admin, coordinator, billing, clinician (with providerId) or integration "
        "(with scopes)."
    )
    scopes: list[str] | None = None
    provider_id: strawberry.ID | None = None
    expires_at: datetime | None = None


@strawberry.input(name="RevokeApiTokenInput")
class RevokeApiTokenInput:
    id: strawberry.ID


@strawberry.type(name="CreateApiTokenPayload")
class CreateApiTokenPayload:
    token: str | None = strawberry.field(
        description="The secret, shown only in this answer: it is stored hashed."
    )
    api_token: ApiToken | None
    user_errors: list[UserError]


@strawberry.type(name="RevokeApiTokenPayload")
class RevokeApiTokenPayload:
    api_token: ApiToken | None
    user_errors: list[UserError]
