"""Input types of the payor mutations."""

from __future__ import annotations

import strawberry

from cmgraph.api.enums import PayorKind


@strawberry.input(name="CreatePayorInput")
class CreatePayorInput:
    name: str
    kind: PayorKind
    payer_id: str | None = None
    plugins: list[str] | None = strawberry.field(default_factory=list)
