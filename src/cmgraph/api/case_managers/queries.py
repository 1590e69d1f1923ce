"""Root query fields of case managers: the dry runs of adding and changing one, and the
suggestions."""

from __future__ import annotations

from datetime import date

import strawberry

from cmgraph.api.case_managers.inputs import (
    AddCaseManagerInput,
    ChangeCaseManagerInput,
    proposal,
)
from cmgraph.api.case_managers.types import CaseManagerCandidate
from cmgraph.api.compliance.types import RuleFinding, findings
from cmgraph.api.context import Info
from cmgraph.api.errors import guarded
from cmgraph.api.parsing import parse_id
from cmgraph.api.providers.types import Provider
from cmgraph.services import case_managers


@strawberry.type
class CaseManagerQueries:
    @strawberry.field(description="Dry run of addCaseManager: every finding, nothing written.")
    async def check_case_manager(self, info: Info, input: AddCaseManagerInput) -> list[RuleFinding]:
        scope = info.context.scope
        return findings(await guarded(lambda: case_managers.check(scope, proposal(input))))

    @strawberry.field(
        description="Dry run of changeCaseManager: every finding the change would meet (the "
        "new assignment's, as if the current one ended the day before, and the shortening of "
        "the current one's), nothing written."
    )
    async def check_change_case_manager(
        self, info: Info, input: ChangeCaseManagerInput
    ) -> list[RuleFinding]:
        scope = info.context.scope
        return findings(await guarded(lambda: case_managers.check_change(scope, proposal(input))))

    @strawberry.field(
        description="Active providers as they would fare as CM, the most familiar with the "
        "client (completed sessions in the line in the 30 days before startDate) first."
    )
    async def suggest_case_managers(
        self,
        info: Info,
        client_id: strawberry.ID,
        service_line: str,
        start_date: date,
        include_blocked: bool | None = False,
    ) -> list[CaseManagerCandidate]:
        scope = info.context.scope
        candidates = await guarded(
            lambda: case_managers.suggest(
                scope,
                parse_id(client_id, "Client", "clientId"),
                service_line,
                start_date,
                bool(include_blocked),
            )
        )
        return [
            CaseManagerCandidate(
                provider=Provider.of(c.provider),
                findings=findings(c.findings),
                sessions_last_30_days=c.sessions_last_30_days,
                last_session_at=(
                    c.last_session_at.astimezone(scope.clock.zone) if c.last_session_at else None
                ),
            )
            for c in candidates
        ]
