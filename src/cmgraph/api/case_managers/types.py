"""The CaseManagerAssignment type, and the candidates suggestCaseManagers answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from cmgraph import facts
from cmgraph.api import ids
from cmgraph.api.admin.types import AuditEvent
from cmgraph.api.compliance.types import RuleFinding
from cmgraph.api.context import Info
from cmgraph.api.node import Node
from cmgraph.api.providers.types import Provider, related_provider
from cmgraph.api.service_lines.types import ServiceLine, service_line
from cmgraph.services import records

if TYPE_CHECKING:
    from cmgraph.api.clients.types import Client


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
    async def client(
        self, info: Info
    ) -> Annotated[Client, strawberry.lazy("cmgraph.api.clients.types")]:
        # Here, not at the top: a client lists its case managers, so clients.types imports
        # this module.
        from cmgraph.api.clients.types import load_owning_client

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


@strawberry.type(name="CaseManagerCandidate")
class CaseManagerCandidate:
    provider: Provider
    findings: list[RuleFinding] = strawberry.field(
        description="Every finding that adding this provider would raise; no ERROR for a "
        "listed candidate unless includeBlocked."
    )
    sessions_last_30_days: int
    last_session_at: datetime | None
