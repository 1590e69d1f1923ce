"""Rule 7: the case manager should know the case (a warning, never a block).

Warn when the client had completed sessions in the line in the 30 days before the
assignment's start date and the proposed case manager delivered none of them.
"""

from __future__ import annotations

from cmgraph import hookimpl
from cmgraph.facts import (
    FAMILIARITY_WINDOW,
    AppointmentStatus,
    AssignmentCheck,
    Field,
    Finding,
    RuleInfo,
    Severity,
)
from cmgraph.rules._finding import FindingFactory

RULE = "familiarity"
CODE = "NOT_FAMILIAR"
finding = FindingFactory(RULE)


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(CODE,),
            description=(
                "Warns when the client had completed sessions in the line in the 30 days "
                "before the start date and the case manager delivered none of them."
            ),
        )
    ]


@hookimpl(trylast=True)
def cmgraph_check_assignment(check: AssignmentCheck) -> list[Finding]:
    assignment = check.assignment
    since = assignment.start_date - FAMILIARITY_WINDOW
    recent = [
        a
        for a in check.appointments
        if a.status is AppointmentStatus.COMPLETED
        and a.service_line == assignment.service_line
        and since <= check.clock.date_of(a.starts_at) < assignment.start_date
    ]
    if not recent or any(a.provider_id == assignment.provider_id for a in recent):
        return []
    return [
        finding(
            CODE,
            Severity.WARNING,
            f"{check.provider.display_name} delivered none of the client's {len(recent)} "
            f"completed {assignment.service_line} sessions in the 30 days before "
            f"{assignment.start_date.isoformat()}.",
            field=Field.PROVIDER,
            client_id=assignment.client_id,
            service_line=assignment.service_line,
            date=assignment.start_date,
        )
    ]
