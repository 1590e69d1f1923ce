"""Case manager mutations and their payloads."""

from __future__ import annotations

import strawberry

from cmgraph.api import ids
from cmgraph.api.case_managers.inputs import (
    AddCaseManagerInput,
    ChangeCaseManagerInput,
    RemoveCaseManagerInput,
    UpdateCaseManagerInput,
    proposal,
)
from cmgraph.api.case_managers.types import CaseManagerAssignment
from cmgraph.api.compliance.types import RuleFinding
from cmgraph.api.context import Info
from cmgraph.api.parsing import given, parse_id
from cmgraph.api.payloads import UserError, payload, perform, user_errors, warnings
from cmgraph.services import case_managers


@strawberry.type(name="CaseManagerPayload")
class CaseManagerPayload:
    case_manager: CaseManagerAssignment | None
    user_errors: list[UserError]
    warnings: list[RuleFinding]


@strawberry.type(name="ChangeCaseManagerPayload")
class ChangeCaseManagerPayload:
    ended: CaseManagerAssignment | None
    case_manager: CaseManagerAssignment | None
    user_errors: list[UserError]
    warnings: list[RuleFinding]


@strawberry.type(name="RemoveCaseManagerPayload")
class RemoveCaseManagerPayload:
    removed_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.type
class CaseManagerMutations:
    @strawberry.mutation
    async def add_case_manager(self, info: Info, input: AddCaseManagerInput) -> CaseManagerPayload:
        scope = info.context.scope
        outcome = await perform(info, lambda: case_managers.add(scope, proposal(input)))
        return payload(CaseManagerPayload, outcome, CaseManagerAssignment.of)

    @strawberry.mutation
    async def update_case_manager(
        self, info: Info, input: UpdateCaseManagerInput
    ) -> CaseManagerPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: case_managers.update(
                scope,
                parse_id(input.id, "CaseManagerAssignment", "id"),
                input.version,
                start_date=given(input.start_date),
                end_date=given(input.end_date),
                note=given(input.note),
            ),
        )
        return payload(CaseManagerPayload, outcome, CaseManagerAssignment.of)

    @strawberry.mutation(
        description="End the current case manager the day before startDate and start the new "
        "one, in one transaction."
    )
    async def change_case_manager(
        self, info: Info, input: ChangeCaseManagerInput
    ) -> ChangeCaseManagerPayload:
        scope = info.context.scope
        outcome = await perform(info, lambda: case_managers.change(scope, proposal(input)))
        ended, started = outcome.value or (None, None)
        return ChangeCaseManagerPayload(
            ended=CaseManagerAssignment.of(ended) if ended else None,
            case_manager=CaseManagerAssignment.of(started) if started else None,
            user_errors=user_errors(outcome),
            warnings=warnings(outcome),
        )

    @strawberry.mutation(description="Only for an assignment entered by mistake.")
    async def remove_case_manager(
        self, info: Info, input: RemoveCaseManagerInput
    ) -> RemoveCaseManagerPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: case_managers.remove(
                scope, parse_id(input.id, "CaseManagerAssignment", "id"), input.version
            ),
        )
        removed = outcome.value
        return RemoveCaseManagerPayload(
            removed_id=strawberry.ID(ids.encode("CaseManagerAssignment", removed))
            if removed
            else None,
            user_errors=user_errors(outcome),
        )
