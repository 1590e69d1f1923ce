"""Provider and enrollment mutations and their payloads."""

from __future__ import annotations

import strawberry

from cmgraph import facts
from cmgraph.api.context import Info
from cmgraph.api.parsing import given, parse_id
from cmgraph.api.payloads import UserError, payload, perform
from cmgraph.api.providers.inputs import (
    CreateProviderInput,
    RecordEnrollmentInput,
    UpdateEnrollmentInput,
    UpdateProviderInput,
    credential_facts,
)
from cmgraph.api.providers.types import Enrollment, Provider
from cmgraph.services import enrollments, providers
from cmgraph.services.outcome import KEEP


@strawberry.type(name="ProviderPayload")
class ProviderPayload:
    provider: Provider | None
    user_errors: list[UserError]


@strawberry.type(name="EnrollmentPayload")
class EnrollmentPayload:
    enrollment: Enrollment | None
    user_errors: list[UserError]


@strawberry.type
class ProviderMutations:
    @strawberry.mutation
    async def create_provider(self, info: Info, input: CreateProviderInput) -> ProviderPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: providers.create_provider(
                scope,
                input.first_name,
                input.last_name,
                input.npi,
                credential_facts(input.credentials),
            ),
        )
        return payload(ProviderPayload, outcome, Provider.of)

    @strawberry.mutation(description="credentials, when given, replace the provider's list")
    async def update_provider(self, info: Info, input: UpdateProviderInput) -> ProviderPayload:
        scope = info.context.scope
        credentials = given(input.credentials)
        outcome = await perform(
            info,
            lambda: providers.update_provider(
                scope,
                parse_id(input.id, "Provider", "id"),
                first_name=given(input.first_name),
                last_name=given(input.last_name),
                npi=given(input.npi),
                active=given(input.active),
                credentials=credentials
                if credentials is KEEP or credentials is None
                else credential_facts(credentials),
            ),
        )
        return payload(ProviderPayload, outcome, Provider.of)


@strawberry.type
class EnrollmentMutations:
    @strawberry.mutation
    async def record_enrollment(
        self, info: Info, input: RecordEnrollmentInput
    ) -> EnrollmentPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: enrollments.record_enrollment(
                scope,
                parse_id(input.provider_id, "Provider", "providerId"),
                parse_id(input.payor_id, "Payor", "payorId"),
                facts.EnrollmentStatus(input.status.value),
                input.effective_from,
                input.effective_to,
                applied_on=input.applied_on,
            ),
        )
        return payload(EnrollmentPayload, outcome, Enrollment.of)

    @strawberry.mutation
    async def update_enrollment(
        self, info: Info, input: UpdateEnrollmentInput
    ) -> EnrollmentPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: enrollments.update_enrollment(
                scope,
                parse_id(input.id, "Enrollment", "id"),
                status=given(input.status),
                effective_from=given(input.effective_from),
                effective_to=given(input.effective_to),
                applied_on=given(input.applied_on),
            ),
        )
        return payload(EnrollmentPayload, outcome, Enrollment.of)
