"""Input types of the mutations, and parsing of their ids.

In update inputs a field left out is UNSET (kept as it is) and an explicit null clears it.
"""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry import UNSET

from cmgraph import facts
from cmgraph.api import ids
from cmgraph.api.parsing import given, parse_id  # noqa: F401  (moved)
from cmgraph.api.types import AppointmentStatus, EnrollmentStatus, PayorKind
from cmgraph.services import rendering


@strawberry.input(name="CredentialInput")
class CredentialInput:
    type: str
    number: str | None = None
    state: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None

    def fact(self) -> facts.Credential:
        return facts.Credential(self.type, self.number, self.state, self.issued_on, self.expires_on)


def credential_facts(given_list: list[CredentialInput] | None) -> list[facts.Credential]:
    return [c.fact() for c in given_list or []]


@strawberry.input(name="CreateClientInput")
class CreateClientInput:
    first_name: str
    last_name: str
    date_of_birth: date | None = None
    external_id: str | None = None


@strawberry.input(name="UpdateClientInput")
class UpdateClientInput:
    id: strawberry.ID
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    date_of_birth: date | None = UNSET
    external_id: str | None = UNSET


@strawberry.input(name="CreateProviderInput")
class CreateProviderInput:
    first_name: str
    last_name: str
    npi: str
    credentials: list[CredentialInput] | None = strawberry.field(default_factory=list)


@strawberry.input(name="UpdateProviderInput")
class UpdateProviderInput:
    id: strawberry.ID
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    npi: str | None = UNSET
    active: bool | None = UNSET
    credentials: list[CredentialInput] | None = UNSET


@strawberry.input(name="CreatePayorInput")
class CreatePayorInput:
    name: str
    kind: PayorKind
    payer_id: str | None = None
    plugins: list[str] | None = strawberry.field(default_factory=list)


@strawberry.input(name="AddCoverageInput")
class AddCoverageInput:
    client_id: strawberry.ID
    payor_id: strawberry.ID
    effective_from: date
    member_id: str | None = None
    priority: int | None = 1
    effective_to: date | None = None


@strawberry.input(name="UpdateCoverageInput")
class UpdateCoverageInput:
    id: strawberry.ID
    member_id: str | None = UNSET
    priority: int | None = UNSET
    effective_from: date | None = UNSET
    effective_to: date | None = UNSET


@strawberry.input(name="RecordEnrollmentInput")
class RecordEnrollmentInput:
    provider_id: strawberry.ID
    payor_id: strawberry.ID
    status: EnrollmentStatus
    effective_from: date | None = None
    effective_to: date | None = None


@strawberry.input(name="UpdateEnrollmentInput")
class UpdateEnrollmentInput:
    id: strawberry.ID
    status: EnrollmentStatus | None = UNSET
    effective_from: date | None = UNSET
    effective_to: date | None = UNSET


@strawberry.input(name="ScheduleAppointmentInput")
class ScheduleAppointmentInput:
    client_id: strawberry.ID
    service_line: str
    provider_id: strawberry.ID
    starts_at: datetime
    ends_at: datetime
    service_code: str | None = strawberry.field(
        default=None, description="CPT or HCPCS code of the claim line, e.g. 97153."
    )
    telehealth: bool | None = False


@strawberry.input(name="UpdateAppointmentInput")
class UpdateAppointmentInput:
    id: strawberry.ID
    status: AppointmentStatus | None = UNSET
    provider_id: strawberry.ID | None = UNSET
    starts_at: datetime | None = UNSET
    ends_at: datetime | None = UNSET
    service_code: str | None = UNSET
    telehealth: bool | None = UNSET


@strawberry.input(name="AddCaseManagerInput")
class AddCaseManagerInput:
    client_id: strawberry.ID
    service_line: str
    provider_id: strawberry.ID
    start_date: date
    end_date: date | None = None
    note: str | None = None


@strawberry.input(name="UpdateCaseManagerInput")
class UpdateCaseManagerInput:
    id: strawberry.ID
    version: int
    start_date: date | None = UNSET
    end_date: date | None = UNSET
    note: str | None = UNSET


@strawberry.input(name="ChangeCaseManagerInput")
class ChangeCaseManagerInput:
    client_id: strawberry.ID
    service_line: str
    provider_id: strawberry.ID
    start_date: date
    note: str | None = None


@strawberry.input(name="RemoveCaseManagerInput")
class RemoveCaseManagerInput:
    id: strawberry.ID
    version: int


APPOINTMENT_ID_HELP = (
    "The session in question, when known: payors that bill the provider who delivered it "
    "need it on a date with sessions by several providers."
)


@strawberry.input(name="RenderingProviderRequest")
class RenderingProviderRequest:
    client_id: strawberry.ID
    service_line: str
    date_of_service: date
    appointment_id: strawberry.ID | None = strawberry.field(
        default=None, description=APPOINTMENT_ID_HELP
    )

    def question(self) -> rendering.Question:
        return question(
            self.client_id, self.service_line, self.date_of_service, self.appointment_id
        )


def question(
    client_id: str, service_line: str, day: date, appointment_id: str | None
) -> rendering.Question:
    return rendering.Question(
        ids.decode_as(client_id, "Client"),
        service_line,
        day,
        ids.decode_as(appointment_id, "Appointment") if appointment_id is not None else None,
        appointment_given=appointment_id is not None,
    )
