"""Rule 6: every line a client receives has a case manager on each date of service.

Scheduling an appointment no CM covers is allowed; the gap shows in the compliance report,
on the client and in scheduleAppointment's warnings.
"""

from __future__ import annotations

from cmgraph import hookimpl
from cmgraph.facts import Finding, RuleInfo, SessionCheck, Severity
from cmgraph.rules._finding import PLUGIN, RuleFinding

RULE = "coverage_gaps"
CODE = "NO_CASE_MANAGER"
finding = RuleFinding(RULE)


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            plugin=PLUGIN,
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
    appointment = check.appointment
    return [
        finding(
            CODE,
            Severity.ERROR,
            f"No case manager covers the {appointment.service_line} session on "
            f"{check.date_of_service.isoformat()}: the claim has no rendering provider.",
            client_id=appointment.client_id,
            service_line=appointment.service_line,
            appointment_id=appointment.id,
            date=check.date_of_service,
        )
    ]
