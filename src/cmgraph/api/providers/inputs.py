"""Input types of the provider and enrollment mutations."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import UNSET

from cmgraph import facts
from cmgraph.api.enums import EnrollmentStatus


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


@strawberry.input(name="RecordEnrollmentInput")
class RecordEnrollmentInput:
    provider_id: strawberry.ID
    payor_id: strawberry.ID
    status: EnrollmentStatus
    effective_from: date | None = None
    effective_to: date | None = None
    applied_on: date | None = strawberry.field(
        default=None, description="When the provider applied to the payor."
    )


@strawberry.input(name="UpdateEnrollmentInput")
class UpdateEnrollmentInput:
    id: strawberry.ID
    status: EnrollmentStatus | None = UNSET
    effective_from: date | None = UNSET
    effective_to: date | None = UNSET
    applied_on: date | None = UNSET
