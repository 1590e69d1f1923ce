"""Rule 8: history is never overwritten.

Deleting an assignment, or editing its dates so that it stops covering a completed session,
would change who rendered a session whose claim may already be sent: refused. A change of
case manager end-dates the current assignment instead (see services.case_managers).
"""

from __future__ import annotations

from cmgraph import hookimpl
from cmgraph.facts import AppointmentStatus, Field, Finding, RemovalCheck, RuleInfo, Severity
from cmgraph.rules._finding import FindingFactory

RULE = "assignment_in_use"
CODE = "ASSIGNMENT_IN_USE"
finding = FindingFactory(RULE)


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(CODE,),
            description=(
                "An assignment whose period holds a completed session cannot be removed, nor "
                "its dates edited so that the session is no longer covered."
            ),
        )
    ]


@hookimpl(trylast=True)
def cmgraph_check_removal(check: RemovalCheck) -> list[Finding]:
    original, replacement = check.assignment, check.replacement
    orphaned = sorted(
        day
        for a in check.appointments
        if a.status is AppointmentStatus.COMPLETED
        and a.client_id == original.client_id
        and a.service_line == original.service_line
        and original.covers(day := check.clock.date_of(a.starts_at))
        and not (replacement and replacement.covers(day))
    )
    if not orphaned:
        return []
    what = "removed" if replacement is None else "shortened"
    if replacement is None:
        field = Field.ASSIGNMENT
    elif orphaned[0] < replacement.start_date:
        field = Field.START_DATE
    else:
        field = Field.END_DATE
    return [
        finding(
            CODE,
            Severity.ERROR,
            f"This assignment cannot be {what}: it covers {len(orphaned)} completed session(s) "
            f"(first on {orphaned[0].isoformat()}) whose claims name this case manager.",
            field=field,
            client_id=original.client_id,
            service_line=original.service_line,
            date=orphaned[0],
        )
    ]
