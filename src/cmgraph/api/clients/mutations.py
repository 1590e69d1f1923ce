"""Client and coverage mutations and their payloads."""

from __future__ import annotations

import strawberry

from cmgraph.api.clients.inputs import (
    AddCoverageInput,
    CreateClientInput,
    UpdateClientInput,
    UpdateCoverageInput,
)
from cmgraph.api.clients.types import Client, Coverage
from cmgraph.api.context import Info
from cmgraph.api.parsing import given, parse_id
from cmgraph.api.payloads import UserError, payload, perform
from cmgraph.services import clients, coverages


@strawberry.type(name="ClientPayload")
class ClientPayload:
    client: Client | None
    user_errors: list[UserError]


@strawberry.type(name="CoveragePayload")
class CoveragePayload:
    coverage: Coverage | None
    user_errors: list[UserError]


@strawberry.type
class ClientMutations:
    @strawberry.mutation
    async def create_client(self, info: Info, input: CreateClientInput) -> ClientPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: clients.create_client(
                scope, input.first_name, input.last_name, input.date_of_birth, input.external_id
            ),
        )
        return payload(ClientPayload, outcome, Client.of)

    @strawberry.mutation
    async def update_client(self, info: Info, input: UpdateClientInput) -> ClientPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: clients.update_client(
                scope,
                parse_id(input.id, "Client", "id"),
                first_name=given(input.first_name),
                last_name=given(input.last_name),
                date_of_birth=given(input.date_of_birth),
                external_id=given(input.external_id),
            ),
        )
        return payload(ClientPayload, outcome, Client.of)


@strawberry.type
class CoverageMutations:
    @strawberry.mutation
    async def add_coverage(self, info: Info, input: AddCoverageInput) -> CoveragePayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: coverages.add_coverage(
                scope,
                parse_id(input.client_id, "Client", "clientId"),
                parse_id(input.payor_id, "Payor", "payorId"),
                input.member_id,
                1 if input.priority is None else input.priority,
                input.effective_from,
                input.effective_to,
            ),
        )
        return payload(CoveragePayload, outcome, Coverage.of)

    @strawberry.mutation
    async def update_coverage(self, info: Info, input: UpdateCoverageInput) -> CoveragePayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: coverages.update_coverage(
                scope,
                parse_id(input.id, "Coverage", "id"),
                member_id=given(input.member_id),
                priority=given(input.priority),
                effective_from=given(input.effective_from),
                effective_to=given(input.effective_to),
            ),
        )
        return payload(CoveragePayload, outcome, Coverage.of)
