"""Root query fields of service lines."""

from __future__ import annotations

import strawberry

from cmgraph.api.context import Info
from cmgraph.api.service_lines.types import ServiceLine


@strawberry.type
class ServiceLineQueries:
    @strawberry.field
    def service_lines(self, info: Info) -> list[ServiceLine]:
        lines = info.context.scope.book.service_lines
        return [ServiceLine.of(lines[code]) for code in sorted(lines)]
