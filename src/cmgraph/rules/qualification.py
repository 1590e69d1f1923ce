"""Rule 3: the case manager must be clinically responsible for the line.

The provider must hold, on the assignment's start date, a credential that qualifies for the
service line (an expired one does not count). The built-in service lines and their default
qualifying credentials live here; payor plugins narrow or widen the list.
"""

from __future__ import annotations

from cmgraph import hookimpl
from cmgraph.facts import AssignmentCheck, Finding, Payor, RuleInfo, ServiceLine, Severity
from cmgraph.rules._finding import PLUGIN, RuleFinding

RULE = "qualification"
CODE = "DISCIPLINE_MISMATCH"
INACTIVE = "PROVIDER_INACTIVE"
finding = RuleFinding(RULE)

SERVICE_LINES = (
    ServiceLine("ABA", "Applied behavior analysis", frozenset({"BCBA", "BCBA-D"})),
    ServiceLine("ST", "Speech therapy", frozenset({"SLP"})),
    ServiceLine("OT", "Occupational therapy", frozenset({"OTR"})),
    ServiceLine("PT", "Physical therapy", frozenset({"PT"})),
    ServiceLine("MH", "Mental health", frozenset({"LPC", "LCSW", "LMFT", "PSYCHOLOGIST"})),
)
_DEFAULTS = {line.code: line.qualifying_credentials for line in SERVICE_LINES}


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            plugin=PLUGIN,
            codes=(CODE, INACTIVE),
            description=(
                "The case manager must be an active provider holding a current credential "
                "that qualifies for the service line on the assignment's start date."
            ),
        )
    ]


@hookimpl(trylast=True)
def cmgraph_service_lines() -> list[ServiceLine]:
    return list(SERVICE_LINES)


@hookimpl(trylast=True)
def cmgraph_qualifying_credentials(service_line: str, payor: Payor | None) -> frozenset[str]:
    return _DEFAULTS.get(service_line, frozenset())


@hookimpl(trylast=True)
def cmgraph_check_assignment(check: AssignmentCheck) -> list[Finding]:
    provider, assignment = check.provider, check.assignment
    where = {
        "field": ("input", "providerId"),
        "client_id": assignment.client_id,
        "service_line": assignment.service_line,
        "date": assignment.start_date,
    }
    found = []
    if not provider.active:
        found.append(
            finding(INACTIVE, Severity.ERROR, f"{provider.display_name} is inactive.", **where)
        )
    held = provider.current_credentials(assignment.start_date)
    if not held & check.qualifying_credentials:
        wanted = ", ".join(sorted(check.qualifying_credentials)) or "none configured"
        found.append(
            finding(
                CODE,
                Severity.ERROR,
                f"{provider.display_name} holds no current credential qualifying for "
                f"{assignment.service_line} on {assignment.start_date.isoformat()} "
                f"(qualifying: {wanted}).",
                **where,
            )
        )
    return found
