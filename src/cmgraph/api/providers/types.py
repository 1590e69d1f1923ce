"""The Provider type with its credentials and enrollments, and providers as related objects
of the other types."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from cmgraph import facts
from cmgraph.api import ids
from cmgraph.api.context import Info
from cmgraph.api.enums import EnrollmentStatus
from cmgraph.api.loaders import resolved
from cmgraph.api.node import Node
from cmgraph.api.payors.types import Payor, load_payor
from cmgraph.services import loading, records

if TYPE_CHECKING:
    from cmgraph.api.case_managers.types import CaseManagerAssignment


@strawberry.type(name="Credential")
class Credential:
    type: str
    number: str | None
    state: str | None
    issued_on: date | None
    expires_on: date | None


@strawberry.type(name="Enrollment")
class Enrollment(Node):
    status: EnrollmentStatus
    effective_from: date | None
    effective_to: date | None
    applied_on: date | None = strawberry.field(description="When the provider applied.")
    provider_pk: strawberry.Private[UUID]
    payor_pk: strawberry.Private[UUID]

    @classmethod
    def of(cls, row: records.Enrollment) -> Enrollment:
        return cls(
            id=strawberry.ID(ids.encode("Enrollment", row.id)),
            status=facts.EnrollmentStatus(row.status),
            effective_from=row.effective_from,
            effective_to=row.effective_to,
            applied_on=row.applied_on,
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
    ) -> list[Annotated[CaseManagerAssignment, strawberry.lazy("cmgraph.api.case_managers.types")]]:
        # Here, not at the top: an assignment names its provider, so case_managers.types
        # imports this module.
        from cmgraph.api.case_managers.types import assignments

        rows = await info.context.loaders.assignments_by_provider.load(self.pk)
        return assignments(rows, service_line, active_on)


def _owned_provider(row: records.Provider | None) -> Provider:
    assert row is not None, "a foreign key guarantees the provider"
    return Provider.of(row)


async def load_provider(info: Info, pk: UUID) -> Provider:
    return _owned_provider(await info.context.loaders.provider_by_id.load(pk))


def related_provider(info: Info, pk: UUID) -> Provider:
    """The provider, at once when prefetched (see loaders.resolved)."""
    return resolved(info.context.loaders.provider_by_id, pk, _owned_provider)
