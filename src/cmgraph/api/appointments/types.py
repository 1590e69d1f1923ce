"""The Appointment type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from cmgraph import facts
from cmgraph.api import ids
from cmgraph.api.context import Info
from cmgraph.api.enums import AppointmentStatus
from cmgraph.api.node import Node
from cmgraph.api.providers.types import Provider, load_provider
from cmgraph.api.service_lines.types import ServiceLine, service_line
from cmgraph.services import loading, records

if TYPE_CHECKING:
    from cmgraph.api.clients.types import Client


@strawberry.type(name="Appointment")
class Appointment(Node):
    starts_at: strawberry.Private[datetime]
    ends_at: strawberry.Private[datetime]
    status: AppointmentStatus
    service_code: str | None = strawberry.field(description="CPT or HCPCS code, e.g. 97153.")
    telehealth: bool
    pk: strawberry.Private[UUID]
    client_pk: strawberry.Private[UUID]
    provider_pk: strawberry.Private[UUID]
    line: strawberry.Private[str]

    @classmethod
    def of(cls, row: records.Appointment) -> Appointment:
        return cls.of_fact(loading.appointment_fact(row))

    @classmethod
    def of_fact(cls, fact: facts.Appointment) -> Appointment:
        return cls(
            id=strawberry.ID(ids.encode("Appointment", fact.id)),
            starts_at=fact.starts_at,
            ends_at=fact.ends_at,
            status=fact.status,
            service_code=fact.service_code,
            telehealth=fact.telehealth,
            pk=fact.id,
            client_pk=fact.client_id,
            provider_pk=fact.provider_id,
            line=fact.service_line,
        )

    @strawberry.field(name="startsAt")
    def local_starts_at(self, info: Info) -> datetime:
        return self.starts_at.astimezone(info.context.scope.clock.zone)

    @strawberry.field(name="endsAt")
    def local_ends_at(self, info: Info) -> datetime:
        return self.ends_at.astimezone(info.context.scope.clock.zone)

    @strawberry.field
    async def client(
        self, info: Info
    ) -> Annotated[Client, strawberry.lazy("cmgraph.api.clients.types")]:
        # Here, not at the top: a client lists its appointments, so clients.types imports
        # this module.
        from cmgraph.api.clients.types import load_owning_client

        return await load_owning_client(info, self.client_pk)

    @strawberry.field
    def service_line(self, info: Info) -> ServiceLine:
        return service_line(info, self.line)

    @strawberry.field(description="The provider who delivered (or will deliver) the session.")
    async def provider(self, info: Info) -> Provider:
        return await load_provider(info, self.provider_pk)

    @strawberry.field(
        description=(
            "The CM on the date of service (or what a payor plugin decides); "
            "null when none covers it."
        )
    )
    async def rendering_provider(self, info: Info) -> Provider | None:
        verdict = await info.context.loaders.verdict_by_appointment.load(self.pk)
        if verdict is None or verdict.rendering_provider_id is None:
            return None
        return await load_provider(info, verdict.rendering_provider_id)
