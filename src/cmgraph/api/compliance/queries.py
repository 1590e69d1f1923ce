"""Root query fields of compliance: the practice-wide findings, and the loaded rules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import strawberry

from cmgraph.api.compliance.types import Rule, RuleFinding, findings
from cmgraph.api.connection import Connection
from cmgraph.api.context import Info
from cmgraph.api.errors import guarded
from cmgraph.api.lookahead import selected_paths
from cmgraph.api.pagination import keyset_after_any, keyset_cursor, page_size
from cmgraph.api.payors.types import load_payors
from cmgraph.api.windows import report_window
from cmgraph.services import compliance

# A finding's cursor names its phase of the report (services.compliance.Place): a session's
# finding, or an expiry warning after every session's.
FINDINGS_CURSORS = {
    "complianceFindings": (compliance.SESSIONS, (date, datetime, UUID, int)),
    "complianceFindings.expiring": (compliance.EXPIRING, (UUID, UUID, int)),
}
_CURSOR_OF = {phase: name for name, (phase, _) in FINDINGS_CURSORS.items()}


def _place_after(after: str | None) -> compliance.Place | None:
    shapes = {name: shape for name, (_, shape) in FINDINGS_CURSORS.items()}
    found = keyset_after_any(after, shapes)
    return compliance.Place(FINDINGS_CURSORS[found[0]][0], found[1]) if found else None


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
        place = _place_after(after)
        found = await guarded(
            lambda: compliance.findings_page(
                scope,
                since,
                to,
                set(codes) if codes else None,
                place,
                limit,
                count="totalCount" in selected_paths(info),
            )
        )
        return Connection[RuleFinding].keyset(
            findings(found.findings),
            [keyset_cursor(_CURSOR_OF[p.phase], p.key) for p in found.places],
            has_next=found.has_next,
            has_previous=place is not None,
            total=found.total,
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
