"""The Client type with its coverages and service lines, and clients as related objects of
the other types."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import strawberry

from cmgraph import facts
from cmgraph.api import ids
from cmgraph.api.appointments.types import Appointment
from cmgraph.api.case_managers.types import CaseManagerAssignment, assignments
from cmgraph.api.compliance.types import RuleFinding, findings
from cmgraph.api.context import Info
from cmgraph.api.errors import InputError
from cmgraph.api.loaders import resolved
from cmgraph.api.node import Node
from cmgraph.api.payors.types import Payor, related_payor
from cmgraph.api.service_lines.types import ServiceLine, service_line
from cmgraph.services import loading, records
from cmgraph.services.outcome import UNKNOWN_SERVICE_LINE


async def load_owning_client(info: Info, pk: UUID) -> Client:
    """The client a row belongs to: a foreign key guarantees it."""
    client = await load_client(info, pk)
    assert client is not None, "a foreign key guarantees the client"
    return client


def related_client(info: Info, pk: UUID) -> Client:
    """The client a row belongs to, at once when prefetched (see loaders.resolved)."""
    return resolved(info.context.loaders.client_by_id, pk, _owned_client)


def _owned_client(row: records.Client | None) -> Client:
    assert row is not None, "a foreign key guarantees the client"
    return Client.of(row)


async def load_client(info: Info, pk: UUID | None) -> Client | None:
    if pk is None:
        return None
    row = await info.context.loaders.client_by_id.load(pk)
    return Client.of(row) if row else None


@strawberry.type(name="Coverage")
class Coverage(Node):
    member_id: str | None
    priority: int
    effective_from: date
    effective_to: date | None
    client_pk: strawberry.Private[UUID]
    payor_pk: strawberry.Private[UUID]

    @classmethod
    def of(cls, row: records.Coverage) -> Coverage:
        return cls(
            id=strawberry.ID(ids.encode("Coverage", row.id)),
            member_id=row.member_id,
            priority=row.priority,
            effective_from=row.effective_from,
            effective_to=row.effective_to,
            client_pk=row.client_id,
            payor_pk=row.payor_id,
        )

    @strawberry.field
    async def client(self, info: Info) -> Client:
        return await load_owning_client(info, self.client_pk)

    @strawberry.field
    def payor(self, info: Info) -> Payor:
        return related_payor(info, self.payor_pk)


@strawberry.type(
    name="ClientServiceLine",
    description="One service line of a client, as the Clinical tab shows it.",
)
class ClientServiceLine:
    service_line: ServiceLine
    current_case_manager: CaseManagerAssignment | None = strawberry.field(
        description="The assignment covering today in the organization's time zone."
    )
    history: list[CaseManagerAssignment] = strawberry.field(
        description="Every assignment of the line, the latest first."
    )
    findings: list[RuleFinding]


@strawberry.type(name="Client")
class Client(Node):
    first_name: str
    last_name: str
    display_name: str
    date_of_birth: date | None
    external_id: str | None
    pk: strawberry.Private[UUID]

    @classmethod
    def of(cls, row: records.Client) -> Client:
        return cls(
            id=strawberry.ID(ids.encode("Client", row.id)),
            first_name=row.first_name,
            last_name=row.last_name,
            display_name=loading.display_name(row),
            date_of_birth=row.date_of_birth,
            external_id=row.external_id,
            pk=row.id,
        )

    @strawberry.field
    def coverages(self, info: Info, active_on: date | None = None) -> list[Coverage]:
        return resolved(
            info.context.loaders.coverages_by_client,
            self.pk,
            lambda rows: [
                Coverage.of(r)
                for r in rows
                if active_on is None or facts.covers(r.effective_from, r.effective_to, active_on)
            ],
        )

    @strawberry.field
    def case_managers(
        self, info: Info, service_line: str | None = None, active_on: date | None = None
    ) -> list[CaseManagerAssignment]:
        return resolved(
            info.context.loaders.assignments_by_client,
            self.pk,
            lambda rows: assignments(rows, service_line, active_on),
        )

    @strawberry.field(
        description="The client's appointments starting in [from, to) (`to` excluded), by start."
    )
    async def appointments(
        self,
        info: Info,
        since: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        service_line: str | None = None,
    ) -> list[Appointment]:
        for value, name in ((since, "from"), (to, "to")):
            if value is not None and value.utcoffset() is None:
                raise InputError(
                    "A date-time needs an offset (e.g. 2026-03-08T09:00-05:00).", field=[name]
                )
        line = service_line.strip().upper() if service_line else None
        if line is not None and line not in info.context.scope.book.service_lines:
            raise InputError(
                f"Unknown service line {service_line!r}.", UNKNOWN_SERVICE_LINE, ["serviceLine"]
            )
        rows = await info.context.loaders.appointments_by_client.load((self.pk, (since, to, line)))
        return [Appointment.of(r) for r in rows]

    @strawberry.field(description="Findings over all of the client's non-cancelled sessions.")
    async def findings(self, info: Info) -> list[RuleFinding]:
        return findings(await info.context.loaders.findings_by_client.load(self.pk))

    @strawberry.field(description="Each line the client receives or has a CM for.")
    async def service_lines(self, info: Info) -> list[ClientServiceLine]:
        loaders = info.context.loaders
        rows = await loaders.assignments_by_client.load(self.pk)
        found = await loaders.findings_by_client.load(self.pk)
        lines = sorted(
            {r.service_line for r in rows}
            | set(await loaders.lines_by_client.load(self.pk))
            | {f.service_line for f in found if f.service_line}
        )
        today = info.context.scope.today()
        result = []
        for line in lines:
            history = [r for r in rows if r.service_line == line]
            current = next(
                (r for r in history if facts.covers(r.start_date, r.end_date, today)), None
            )
            result.append(
                ClientServiceLine(
                    service_line=service_line(info, line),
                    current_case_manager=CaseManagerAssignment.of(current) if current else None,
                    history=[CaseManagerAssignment.of(r) for r in reversed(history)],
                    findings=findings([f for f in found if f.service_line == line]),
                )
            )
        return result
