"""The RuleFinding type (a rule's verdict, as queries and payloads answer it) and the Rule
type (a loaded rule)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from cmgraph import facts
from cmgraph.api.appointments.types import Appointment
from cmgraph.api.context import Info
from cmgraph.api.enums import Severity
from cmgraph.api.input_paths import input_path
from cmgraph.api.payors.types import Payor
from cmgraph.api.service_lines.types import ServiceLine, service_line

if TYPE_CHECKING:
    from cmgraph.api.clients.types import Client


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
            field=input_path(f.field),
            rule=f.rule,
            plugin=f.plugin,
            date=f.date,
            client_pk=f.client_id,
            line=f.service_line,
            appointment_pk=f.appointment_id,
        )

    @strawberry.field
    async def client(
        self, info: Info
    ) -> Annotated[Client, strawberry.lazy("cmgraph.api.clients.types")] | None:
        # Here, not at the top: a client lists its findings, so clients.types imports this
        # module.
        from cmgraph.api.clients.types import load_client

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


@strawberry.type(name="Rule")
class Rule:
    name: str
    plugin: str
    codes: list[str]
    description: str
    payors: list[Payor]
