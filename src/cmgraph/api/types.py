"""The object types of the schema. Plain fields are copied from rows; related objects and
lists resolve through the request's DataLoaders."""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import strawberry

from cmgraph import facts
from cmgraph.api import ids
from cmgraph.api.audit import AuditEvent
from cmgraph.api.context import Info
from cmgraph.api.enums import AppointmentStatus, EnrollmentStatus, PayorKind, Severity
from cmgraph.api.errors import InputError
from cmgraph.api.loaders import resolved
from cmgraph.api.node import Node
from cmgraph.services import loading, records
from cmgraph.services.outcome import UNKNOWN_SERVICE_LINE


@strawberry.type(name="ServiceLine")
class ServiceLine:
    code: str
    name: str
    qualifying_credentials: list[str] = strawberry.field(
        description="The default qualifying credentials; a payor plugin may narrow or widen them."
    )

    @classmethod
    def of(cls, line: facts.ServiceLine) -> ServiceLine:
        return cls(
            code=line.code,
            name=line.name,
            qualifying_credentials=sorted(line.qualifying_credentials),
        )


@functools.cache
def _service_line_of(line: facts.ServiceLine) -> ServiceLine:
    # One object per line, shared: every assignment of a page names one of a few lines.
    return ServiceLine.of(line)


def service_line(info: Info, code: str) -> ServiceLine:
    known = info.context.scope.book.service_lines.get(code)
    return (
        _service_line_of(known)
        if known
        else ServiceLine(code=code, name=code, qualifying_credentials=[])
    )


@strawberry.type(name="Credential")
class Credential:
    type: str
    number: str | None
    state: str | None
    issued_on: date | None
    expires_on: date | None


@strawberry.type(name="RuleFinding", description="A rule's verdict.")
class RuleFinding:
    code: str
    severity: Severity
    message: str
    field: list[str] | None
    rule: str
    plugin: str
    date: date | None
    client_pk: strawberry.Private[UUID | None]
    line: strawberry.Private[str | None]
    appointment_pk: strawberry.Private[UUID | None]

    @classmethod
    def of(cls, f: facts.Finding) -> RuleFinding:
        return cls(
            code=f.code,
            severity=f.severity,
            message=f.message,
            field=list(f.field) if f.field else None,
            rule=f.rule,
            plugin=f.plugin,
            date=f.date,
            client_pk=f.client_id,
            line=f.service_line,
            appointment_pk=f.appointment_id,
        )

    @strawberry.field
    async def client(self, info: Info) -> Client | None:
        return await load_client(info, self.client_pk)

    @strawberry.field
    def service_line(self, info: Info) -> ServiceLine | None:
        return service_line(info, self.line) if self.line else None

    @strawberry.field
    async def appointment(self, info: Info) -> Appointment | None:
        if self.appointment_pk is None:
            return None
        row = await info.context.loaders.appointment_by_id.load(self.appointment_pk)
        return Appointment.of(row) if row else None


def findings(found: list[facts.Finding]) -> list[RuleFinding]:
    return [RuleFinding.of(f) for f in found]


@strawberry.type(name="Payor")
class Payor(Node):
    name: str
    payer_id: str | None
    kind: PayorKind
    plugins: list[str]

    @classmethod
    def of(cls, row: records.Payor) -> Payor:
        return cls(
            id=strawberry.ID(ids.encode("Payor", row.id)),
            name=row.name,
            payer_id=row.payer_id,
            kind=facts.PayorKind(row.kind),
            plugins=list(row.plugins or []),
        )


def _owned_payor(row: records.Payor | None) -> Payor:
    assert row is not None, "a foreign key guarantees the payor"
    return Payor.of(row)


async def load_payor(info: Info, pk: UUID) -> Payor:
    return _owned_payor(await info.context.loaders.payor_by_id.load(pk))


def related_payor(info: Info, pk: UUID) -> Payor:
    """The payor, at once when prefetched (see resolved)."""
    return resolved(info.context.loaders.payor_by_id, pk, _owned_payor)


@strawberry.type(name="Enrollment")
class Enrollment(Node):
    status: EnrollmentStatus
    effective_from: date | None
    effective_to: date | None
    provider_pk: strawberry.Private[UUID]
    payor_pk: strawberry.Private[UUID]

    @classmethod
    def of(cls, row: records.Enrollment) -> Enrollment:
        return cls(
            id=strawberry.ID(ids.encode("Enrollment", row.id)),
            status=facts.EnrollmentStatus(row.status),
            effective_from=row.effective_from,
            effective_to=row.effective_to,
            provider_pk=row.provider_id,
            payor_pk=row.payor_id,
        )

    @strawberry.field
    async def provider(self, info: Info) -> Provider:
        return await load_provider(info, self.provider_pk)

    @strawberry.field
    async def payor(self, info: Info) -> Payor:
        return await load_payor(info, self.payor_pk)


@strawberry.type(name="Provider")
class Provider(Node):
    first_name: str
    last_name: str
    display_name: str
    npi: str
    active: bool
    pk: strawberry.Private[UUID]

    @classmethod
    def of(cls, row: records.Provider) -> Provider:
        return cls(
            id=strawberry.ID(ids.encode("Provider", row.id)),
            first_name=row.first_name,
            last_name=row.last_name,
            display_name=loading.display_name(row),
            npi=row.npi,
            active=row.active,
            pk=row.id,
        )

    @strawberry.field
    def credentials(self, info: Info) -> list[Credential]:
        return resolved(
            info.context.loaders.credentials_by_provider,
            self.pk,
            lambda rows: [
                Credential(
                    type=r.type,
                    number=r.number,
                    state=r.state,
                    issued_on=r.issued_on,
                    expires_on=r.expires_on,
                )
                for r in rows
            ],
        )

    @strawberry.field
    async def enrollments(self, info: Info) -> list[Enrollment]:
        rows = await info.context.loaders.enrollments_by_provider.load(self.pk)
        return [Enrollment.of(r) for r in rows]

    @strawberry.field(description="Assignments where this provider is the case manager.")
    async def caseload(
        self, info: Info, active_on: date | None = None, service_line: str | None = None
    ) -> list[CaseManagerAssignment]:
        rows = await info.context.loaders.assignments_by_provider.load(self.pk)
        return assignments(rows, service_line, active_on)


def _owned_provider(row: records.Provider | None) -> Provider:
    assert row is not None, "a foreign key guarantees the provider"
    return Provider.of(row)


async def load_provider(info: Info, pk: UUID) -> Provider:
    return _owned_provider(await info.context.loaders.provider_by_id.load(pk))


def related_provider(info: Info, pk: UUID) -> Provider:
    """The provider, at once when prefetched (see resolved)."""
    return resolved(info.context.loaders.provider_by_id, pk, _owned_provider)


async def load_owning_client(info: Info, pk: UUID) -> Client:
    """The client a row belongs to: a foreign key guarantees it."""
    client = await load_client(info, pk)
    assert client is not None, "a foreign key guarantees the client"
    return client


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
    async def client(self, info: Info) -> Client:
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


@strawberry.type(name="CaseManagerAssignment")
class CaseManagerAssignment(Node):
    start_date: date
    end_date: date | None
    note: str | None
    version: int
    created_at: datetime
    pk: strawberry.Private[UUID]
    client_pk: strawberry.Private[UUID]
    provider_pk: strawberry.Private[UUID]
    line: strawberry.Private[str]

    @classmethod
    def of(cls, row: records.Assignment) -> CaseManagerAssignment:
        return cls(
            id=strawberry.ID(ids.encode("CaseManagerAssignment", row.id)),
            start_date=row.start_date,
            end_date=row.end_date,
            note=row.note,
            version=row.version,
            created_at=row.created_at,
            pk=row.id,
            client_pk=row.client_id,
            provider_pk=row.provider_id,
            line=row.service_line,
        )

    @strawberry.field
    async def client(self, info: Info) -> Client:
        return await load_owning_client(info, self.client_pk)

    @strawberry.field
    def service_line(self, info: Info) -> ServiceLine:
        return service_line(info, self.line)

    @strawberry.field
    def provider(self, info: Info) -> Provider:
        return related_provider(info, self.provider_pk)

    @strawberry.field(
        description="Who created and changed this assignment, and when (the Clinical tab's "
        "history), oldest first."
    )
    async def changes(self, info: Info) -> list[AuditEvent]:
        rows = await info.context.loaders.changes_by_entity.load(self.pk)
        return [AuditEvent.of(r) for r in rows]


def assignments(
    rows: list[records.Assignment], line: str | None, active_on: date | None
) -> list[CaseManagerAssignment]:
    wanted = line.strip().upper() if line else None
    return [
        CaseManagerAssignment.of(r)
        for r in rows
        if (wanted is None or r.service_line == wanted)
        and (active_on is None or facts.covers(r.start_date, r.end_date, active_on))
    ]


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
