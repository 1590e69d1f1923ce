"""Root query fields of compliance: the practice-wide findings, and the loaded rules."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from cmgraph.api.compliance.types import Rule, RuleFinding, findings
from cmgraph.api.connection import Connection
from cmgraph.api.context import Info
from cmgraph.api.errors import guarded
from cmgraph.api.lookahead import selected_paths
from cmgraph.api.pagination import offset_after, page_size
from cmgraph.api.payors.types import load_payors
from cmgraph.api.windows import report_window
from cmgraph.services import compliance


@strawberry.type
class ComplianceQueries:
    @strawberry.field(description="Practice-wide findings over a window of dates of service.")
    async def compliance_findings(
        self,
        info: Info,
        since: Annotated[date, strawberry.argument(name="from")],
        to: date,
        codes: list[str] | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[RuleFinding]:
        report_window(info, since, to)
        scope = info.context.scope
        limit = page_size(first, info.context.settings.max_page_size)
        start = offset_after(after)
        found = await guarded(
            lambda: compliance.findings_page(
                scope,
                since,
                to,
                set(codes) if codes else None,
                start,
                limit,
                count="totalCount" in selected_paths(info),
            )
        )
        return Connection[RuleFinding].ahead(
            start, findings(found.findings), found.has_next, found.total
        )


@strawberry.type
class RuleQueries:
    @strawberry.field(description="Every rule that is loaded, with its plugin and codes.")
    async def rules(self, info: Info) -> list[Rule]:
        payors = await load_payors(info)
        result = []
        for rule in info.context.scope.book.rules():
            applies = [p for p in payors if rule.applies_to_all_payors or rule.plugin in p.plugins]
            result.append(
                Rule(
                    name=rule.name,
                    plugin=rule.plugin,
                    codes=list(rule.codes),
                    description=rule.description,
                    payors=applies,
                )
            )
        return result
