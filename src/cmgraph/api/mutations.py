"""Mutations: parse the input, call one use case, shape its outcome as a payload."""

from __future__ import annotations

from uuid import UUID

import strawberry

from cmgraph import facts
from cmgraph.api import ids
from cmgraph.api.context import Info
from cmgraph.api.inputs import (
    AddCaseManagerInput,
    AddCoverageInput,
    ChangeCaseManagerInput,
    CreateClientInput,
    CreatePayorInput,
    CreateProviderInput,
    RecordEnrollmentInput,
    RemoveCaseManagerInput,
    ScheduleAppointmentInput,
    UpdateAppointmentInput,
    UpdateCaseManagerInput,
    UpdateClientInput,
    UpdateCoverageInput,
    UpdateEnrollmentInput,
    UpdateProviderInput,
    credential_facts,
    given,
    parse_id,
)
from cmgraph.api.payloads import (
    AppointmentPayload,
    CaseManagerPayload,
    ChangeCaseManagerPayload,
    ClientPayload,
    CoveragePayload,
    EnrollmentPayload,
    PayorPayload,
    ProviderPayload,
    RemoveCaseManagerPayload,
    payload,
    perform,
    user_errors,
    warnings,
)
from cmgraph.api.tokens import (
    ApiToken,
    CreateApiTokenInput,
    CreateApiTokenPayload,
    RevokeApiTokenInput,
    RevokeApiTokenPayload,
)
from cmgraph.api.types import (
    Appointment,
    CaseManagerAssignment,
    Client,
    Coverage,
    Enrollment,
    Payor,
    Provider,
)
from cmgraph.services import (
    appointments,
    case_managers,
    clients,
    coverages,
    enrollments,
    payors,
    providers,
    tokens,
)
from cmgraph.services.outcome import KEEP, NOT_FOUND, refuse


def proposal(input: AddCaseManagerInput | ChangeCaseManagerInput) -> case_managers.Proposal:
    return case_managers.Proposal(
        client_id=parse_id(input.client_id, "Client", "clientId"),
        service_line=input.service_line,
        provider_id=parse_id(input.provider_id, "Provider", "providerId"),
        start_date=input.start_date,
        end_date=getattr(input, "end_date", None),
        note=input.note,
    )


@strawberry.type(name="Mutation")
class Mutation:
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

    @strawberry.mutation
    async def create_payor(self, info: Info, input: CreatePayorInput) -> PayorPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: payors.create_payor(
                scope, input.name, input.payer_id, input.kind, input.plugins or []
            ),
        )
        return payload(PayorPayload, outcome, Payor.of)

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
            ),
        )
        return payload(EnrollmentPayload, outcome, Enrollment.of)

    @strawberry.mutation
    async def schedule_appointment(
        self, info: Info, input: ScheduleAppointmentInput
    ) -> AppointmentPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: appointments.schedule_appointment(
                scope,
                parse_id(input.client_id, "Client", "clientId"),
                input.service_line,
                parse_id(input.provider_id, "Provider", "providerId"),
                input.starts_at,
                input.ends_at,
                input.service_code,
                bool(input.telehealth),
            ),
        )
        return payload(AppointmentPayload, outcome, Appointment.of)

    @strawberry.mutation
    async def update_appointment(
        self, info: Info, input: UpdateAppointmentInput
    ) -> AppointmentPayload:
        scope = info.context.scope

        def change() -> appointments.AppointmentChange:
            provider = given(input.provider_id)
            if provider is not KEEP and provider is not None:
                provider = parse_id(provider, "Provider", "providerId")
                if provider is None:  # an id of another type names no provider (not a clear)
                    raise refuse(NOT_FOUND, "No provider with this id.", "providerId")
            return appointments.AppointmentChange(
                status=given(input.status),
                provider_id=provider,
                starts_at=given(input.starts_at),
                ends_at=given(input.ends_at),
                service_code=given(input.service_code),
                telehealth=given(input.telehealth),
            )

        outcome = await perform(
            info,
            lambda: appointments.update_appointment(
                scope, parse_id(input.id, "Appointment", "id"), change()
            ),
        )
        return payload(AppointmentPayload, outcome, Appointment.of)

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
