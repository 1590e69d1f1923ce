"""Root query fields of payors."""

from __future__ import annotations

import strawberry

from cmgraph.api.context import Info
from cmgraph.api.payors.types import Payor, load_payors


@strawberry.type
class PayorQueries:
    @strawberry.field
    async def payors(self, info: Info) -> list[Payor]:
        return await load_payors(info)
