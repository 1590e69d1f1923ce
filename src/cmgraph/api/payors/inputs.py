"""Input types of the payor mutations."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from cmgraph.api.enums import PayorKind


@strawberry.input(name="CreatePayorInput")
class CreatePayorInput:
    name: str
    kind: PayorKind
    payer_id: str | None = None
    plugins: list[str] | None = strawberry.field(default_factory=list)
    settings: JSON | None = strawberry.field(
        default=None, description="Values the payor's plugins read (see Payor.settings)."
    )


@strawberry.input(name="UpdatePayorInput", description="Fields left out are kept.")
class UpdatePayorInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    payer_id: str | None = strawberry.UNSET
    plugins: list[str] | None = strawberry.UNSET
    settings: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="The whole settings object (replaces the stored one).",
    )
