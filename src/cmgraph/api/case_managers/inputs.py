"""Input types of the case manager mutations and dry runs, and the proposal they make."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry import UNSET

from cmgraph.api.parsing import parse_id
from cmgraph.services import case_managers


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


def proposal(input: AddCaseManagerInput | ChangeCaseManagerInput) -> case_managers.Proposal:
    return case_managers.Proposal(
        client_id=parse_id(input.client_id, "Client", "clientId"),
        service_line=input.service_line,
        provider_id=parse_id(input.provider_id, "Provider", "providerId"),
        start_date=input.start_date,
        end_date=getattr(input, "end_date", None),
        note=input.note,
    )
