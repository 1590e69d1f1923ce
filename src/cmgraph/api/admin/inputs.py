"""Input types of the API token mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry


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
