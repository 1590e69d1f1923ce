"""Appointment mutations and their payload."""

from __future__ import annotations

from uuid import UUID

import strawberry

from cmgraph.api.appointments.inputs import ScheduleAppointmentInput, UpdateAppointmentInput
from cmgraph.api.appointments.types import Appointment
from cmgraph.api.compliance.types import RuleFinding
from cmgraph.api.context import Info
from cmgraph.api.parsing import given, parse_id
from cmgraph.api.payloads import UserError, payload, perform
from cmgraph.services import appointments
from cmgraph.services.outcome import KEEP, NOT_FOUND, Update, refuse


@strawberry.type(name="AppointmentPayload")
class AppointmentPayload:
    appointment: Appointment | None
    user_errors: list[UserError]
    warnings: list[RuleFinding] = strawberry.field(
        description="Findings of the session that do not block scheduling; severity tells "
        "how they affect billing."
    )


@strawberry.type
class AppointmentMutations:
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
            given_id = given(input.provider_id)
            provider: Update[UUID | None] = None if given_id is None else KEEP
            if given_id is not KEEP and given_id is not None:
                provider = parse_id(given_id, "Provider", "providerId")
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
