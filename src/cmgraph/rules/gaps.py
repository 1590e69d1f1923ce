"""Rule 6: every line a client receives has a case manager on each date of service.

Scheduling an appointment no CM covers is allowed; the gap shows in the compliance report,
on the client and in scheduleAppointment's warnings.
"""

from __future__ import annotations

from cmgraph import hookimpl
from cmgraph.facts import Finding, RuleInfo, SessionCheck, Severity
from cmgraph.rules._finding import FindingFactory

RULE = "coverage_gaps"
CODE = "NO_CASE_MANAGER"
finding = FindingFactory(RULE)


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(CODE,),
            description=(
                "A client with a non-cancelled appointment in a service line needs a case "
                "manager covering that appointment's date of service."
            ),
        )
    ]


@hookimpl(trylast=True)
def cmgraph_check_session(check: SessionCheck) -> list[Finding]:
    if check.case_manager is not None:
        return []
    return [
        finding(
            CODE,
            Severity.ERROR,
            f"No case manager covers {check.service_line} on "
            f"{check.date_of_service.isoformat()}: the claim has no rendering provider.",
            client_id=check.client_id,
            service_line=check.service_line,
            appointment_id=check.appointment.id if check.appointment else None,
            date=check.date_of_service,
        )
    ]
