"""Payor mutations and their payloads."""

from __future__ import annotations

from typing import Any, cast

import strawberry

from cmgraph.api.context import Info
from cmgraph.api.parsing import given, parse_id
from cmgraph.api.payloads import UserError, payload, perform
from cmgraph.api.payors.inputs import CreatePayorInput, UpdatePayorInput
from cmgraph.api.payors.types import Payor
from cmgraph.services import payors


@strawberry.type(name="PayorPayload")
class PayorPayload:
    payor: Payor | None
    user_errors: list[UserError]


@strawberry.type
class PayorMutations:
    @strawberry.mutation
    async def create_payor(self, info: Info, input: CreatePayorInput) -> PayorPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: payors.create_payor(
                scope,
                input.name,
                input.payer_id,
                input.kind,
                input.plugins or [],
                input.settings,
            ),
        )
        return payload(PayorPayload, outcome, Payor.of)

    @strawberry.mutation
    async def update_payor(self, info: Info, input: UpdatePayorInput) -> PayorPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: payors.update_payor(
                scope,
                parse_id(input.id, "Payor", "id"),
                name=given(input.name),
                payer_id=given(input.payer_id),
                plugins=given(input.plugins),
                settings=given(cast("dict[str, Any] | None", input.settings)),
            ),
        )
        return payload(PayorPayload, outcome, Payor.of)
