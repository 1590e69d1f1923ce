"""Tokens of every role in one organization, for the access tests."""

from __future__ import annotations

from uuid import UUID

from cmgraph.api import ids
from cmgraph.db.engine import Database
from cmgraph.services import tenants
from tests.support import Api


async def token(
    db: Database,
    slug: str,
    role: str,
    *,
    scopes: tuple[str, ...] = (),
    provider: str | None = None,
) -> str:
    """A token of `role` in organization `slug`; `provider` is a provider's global id."""
    provider_id: UUID | None = ids.decode_as(provider, "Provider") if provider else None
    return await tenants.create_token(
        db, slug, role, f"{role} test token", scopes=scopes, provider_id=provider_id
    )


def as_(api: Api, token_value: str) -> Api:
    """The same organization, another token."""
    return type(api)(api.client, token_value, api.slug)
