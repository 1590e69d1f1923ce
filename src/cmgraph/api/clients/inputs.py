"""Input types of the client and coverage mutations."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import UNSET


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
