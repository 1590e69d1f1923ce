"""Input of renderingProviders, and the question a rendering request asks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import strawberry
from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition

from cmgraph.api.parsing import query_id
from cmgraph.services import rendering

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

    def question(self, where: tuple[str, ...]) -> rendering.Question:
        return question(
            self.client_id, self.service_line, self.date_of_service, self.appointment_id, where
        )


def _from_input(
    cls: type[RenderingProviderRequest], value: Mapping[str, Any], _: InputContext
) -> RenderingProviderRequest:
    """A request built straight from its input value, which graphql-core has checked and
    parsed field by field: Strawberry's general conversion resolved each field's type
    again for every request, 8% of a batch of 500."""
    return cls(
        client_id=value["clientId"],
        service_line=value["serviceLine"],
        date_of_service=value["dateOfService"],
        appointment_id=value.get("appointmentId"),
    )


get_object_definition(RenderingProviderRequest, strict=True).from_input = _from_input


def question(
    client_id: str, service_line: str, day: date, appointment_id: str | None, where: tuple[str, ...]
) -> rendering.Question:
    """A rendering question; a malformed id refuses it where it stands (`where`: the
    request's place in a batch)."""
    return rendering.Question(
        query_id(client_id, "Client", *where, "clientId"),
        service_line,
        day,
        query_id(appointment_id, "Appointment", *where, "appointmentId")
        if appointment_id is not None
        else None,
        appointment_given=appointment_id is not None,
    )
