"""Rule 5: one case manager per client and line at a time.

This rule names the conflict for the person; the service serializes the check and
PostgreSQL's exclusion constraint is the backstop under concurrent requests.
"""

from __future__ import annotations

from cmgraph import hookimpl
from cmgraph.facts import AssignmentCheck, Field, Finding, RuleInfo, Severity
from cmgraph.rules._finding import FindingFactory

RULE = "no_overlap"
CODE = "OVERLAPPING_ASSIGNMENT"
finding = FindingFactory(RULE)


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(CODE,),
            description="Two assignments of the same client and service line never overlap.",
        )
    ]


def _period(start: object, end: object) -> str:
    return f"{start} to {end or 'open end'}"


@hookimpl(trylast=True)
def cmgraph_check_assignment(check: AssignmentCheck) -> list[Finding]:
    proposed = check.assignment
    return [
        finding(
            CODE,
            Severity.ERROR,
            f"{proposed.service_line} already has a case manager from "
            f"{_period(other.start_date, other.end_date)}; end or change that assignment first.",
            field=Field.START_DATE,
            client_id=proposed.client_id,
            service_line=proposed.service_line,
            date=max(proposed.start_date, other.start_date),
        )
        for other in check.assignments
        if other.id != proposed.id and other.overlaps(proposed)
    ]


def lost_race() -> Finding:
    """What the exclusion constraint's refusal means: a concurrent write assigned a CM for
    this period first (the service's serialized check could not see it yet)."""
    return finding(
        CODE,
        Severity.ERROR,
        "Another case manager was assigned for this period at the same time; reload and try again.",
        field=Field.START_DATE,
    )
