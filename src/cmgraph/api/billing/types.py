"""The answers of billing's queries: rendering providers, claim lines, enrollment impact."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import strawberry

from cmgraph.api.appointments.types import Appointment
from cmgraph.api.case_managers.types import CaseManagerAssignment
from cmgraph.api.clients.types import Client, related_client
from cmgraph.api.compliance.types import RuleFinding, findings
from cmgraph.api.context import Info
from cmgraph.api.payors.types import Payor, related_payor
from cmgraph.api.providers.types import Provider, related_provider
from cmgraph.api.service_lines.types import ServiceLine, service_line
from cmgraph.services.sessions import Verdict


@strawberry.type(name="RenderingProviderAnswer")
class RenderingProviderAnswer:
    client_id: strawberry.ID
    service_line: str
    date_of_service: date
    provider: Provider | None
    assignment: CaseManagerAssignment | None
    findings: list[RuleFinding]


@strawberry.type(name="ClaimLine", description="What goes on the claim line of one session.")
class ClaimLine:
    appointment: Appointment
    date_of_service: date
    service_code: str | None
    modifiers: list[str]
    findings: list[RuleFinding]
    client_pk: strawberry.Private[UUID]
    line: strawberry.Private[str]
    payor_pk: strawberry.Private[UUID | None]
    deliverer_pk: strawberry.Private[UUID]
    rendering_pk: strawberry.Private[UUID | None]
    supervising_pk: strawberry.Private[UUID | None]

    @classmethod
    def of(cls, appointment: Appointment, verdict: Verdict) -> ClaimLine:
        check, claim = verdict.check, verdict.claim
        return cls(
            appointment=appointment,
            date_of_service=check.date_of_service,
            service_code=appointment.service_code,
            modifiers=list(claim.modifiers),
            findings=findings(verdict.findings),
            client_pk=check.client_id,
            line=check.service_line,
            payor_pk=check.payor.id if check.payor else None,
            deliverer_pk=appointment.provider_pk,
            rendering_pk=claim.rendering_provider_id,
            supervising_pk=claim.supervising_provider_id,
        )

    # Related objects answer at once when the claim lines prefetched them (api.prefetch).
    @strawberry.field
    def client(self, info: Info) -> Client:
        return related_client(info, self.client_pk)

    @strawberry.field
    def service_line(self, info: Info) -> ServiceLine:
        return service_line(info, self.line)

    @strawberry.field(description="The client's primary payor on the date of service.")
    def payor(self, info: Info) -> Payor | None:
        return related_payor(info, self.payor_pk) if self.payor_pk else None

    @strawberry.field
    def delivered_by(self, info: Info) -> Provider:
        return related_provider(info, self.deliverer_pk)

    @strawberry.field(description="null: leave the rendering provider off the claim")
    def rendering_provider(self, info: Info) -> Provider | None:
        return related_provider(info, self.rendering_pk) if self.rendering_pk else None

    @strawberry.field
    def supervising_provider(self, info: Info) -> Provider | None:
        return related_provider(info, self.supervising_pk) if self.supervising_pk else None


@strawberry.type(name="EnrollmentImpact")
class EnrollmentImpact:
    assignments: list[CaseManagerAssignment]
    clients: list[Client]
    appointments: list[Appointment]
