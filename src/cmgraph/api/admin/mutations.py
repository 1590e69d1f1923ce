"""API token mutations and their payloads."""

from __future__ import annotations

from uuid import UUID

import strawberry

from cmgraph.api.admin.inputs import CreateApiTokenInput, RevokeApiTokenInput
from cmgraph.api.admin.types import ApiToken
from cmgraph.api.context import Info
from cmgraph.api.parsing import parse_id
from cmgraph.api.payloads import UserError, payload, perform, user_errors
from cmgraph.services import tokens
from cmgraph.services.outcome import NOT_FOUND, refuse


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


@strawberry.type
class ApiTokenMutations:
    @strawberry.mutation(description="Issue an API token; the secret is in this answer only.")
    async def create_api_token(
        self, info: Info, input: CreateApiTokenInput
    ) -> CreateApiTokenPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: tokens.create(
                scope,
                tokens.TokenRequest(
                    name=input.name,
                    role=input.role,
                    scopes=tuple(input.scopes or ()),
                    provider_id=_provider_id(input.provider_id),
                    expires_at=input.expires_at,
                ),
            ),
        )
        issued = outcome.value
        return CreateApiTokenPayload(
            token=issued.token if issued else None,
            api_token=ApiToken.of(issued.row) if issued else None,
            user_errors=user_errors(outcome),
        )

    @strawberry.mutation(description="From now on the token authenticates nothing.")
    async def revoke_api_token(
        self, info: Info, input: RevokeApiTokenInput
    ) -> RevokeApiTokenPayload:
        scope = info.context.scope
        outcome = await perform(
            info, lambda: tokens.revoke_in(scope, parse_id(input.id, "ApiToken", "id"))
        )
        return payload(RevokeApiTokenPayload, outcome, ApiToken.of)


def _provider_id(value: strawberry.ID | None) -> UUID | None:
    if value is None:
        return None
    provider = parse_id(value, "Provider", "providerId")
    if provider is None:
        raise refuse(NOT_FOUND, "No provider with this id.", "providerId")
    return provider
