"""The Payor type, and payors as related objects of the other types."""

from __future__ import annotations

from typing import cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from cmgraph import facts
from cmgraph.api import ids
from cmgraph.api.context import Info
from cmgraph.api.enums import PayorKind
from cmgraph.api.loaders import resolved
from cmgraph.api.node import Node
from cmgraph.services import payors, records


@strawberry.type(name="Payor")
class Payor(Node):
    name: str
    payer_id: str | None
    kind: PayorKind
    plugins: list[str]
    settings: JSON = strawberry.field(
        description="Values the payor's plugins read, by setting name; a plugin declares "
        "what it reads (cmgraph plugins lists them) and an unset one reads as its default."
    )

    @classmethod
    def of(cls, row: records.Payor) -> Payor:
        return cls(
            id=strawberry.ID(ids.encode("Payor", row.id)),
            name=row.name,
            payer_id=row.payer_id,
            kind=facts.PayorKind(row.kind),
            plugins=list(row.plugins or []),
            settings=cast(JSON, dict(row.settings or {})),
        )


def _owned_payor(row: records.Payor | None) -> Payor:
    assert row is not None, "a foreign key guarantees the payor"
    return Payor.of(row)


async def load_payor(info: Info, pk: UUID) -> Payor:
    return _owned_payor(await info.context.loaders.payor_by_id.load(pk))


def related_payor(info: Info, pk: UUID) -> Payor:
    """The payor, at once when prefetched (see loaders.resolved)."""
    return resolved(info.context.loaders.payor_by_id, pk, _owned_payor)


async def load_payors(info: Info) -> list[Payor]:
    """Every payor of the organization."""
    org = info.context.scope.organization_id
    return [Payor.of(r) for r in await info.context.reader.run(lambda s: payors.listed(s, org))]
