"""Rule 2: the case manager must be credentialed with the client's payor.

Enrolled with the primary payor on the date in question: an error. Not enrolled with a
secondary payor active on that date: a warning. A client without coverage on that date
(self-pay) has no payor to be credentialed with, so nothing is said.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from cmgraph import hookimpl
from cmgraph.facts import (
    AssignmentCheck,
    Enrollment,
    EnrollmentStatus,
    Field,
    Finding,
    Payor,
    Payors,
    RuleInfo,
    SessionCheck,
    Severity,
    covers,
)
from cmgraph.rules._finding import FindingFactory

RULE = "credentialing"
CODE = "NOT_CREDENTIALED"
finding = FindingFactory(RULE)


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(CODE,),
            description=(
                "The case manager must be enrolled with the client's primary payor on the "
                "assignment's start date and on every date of service (error); not enrolled "
                "with an active secondary payor is a warning."
            ),
        )
    ]


@hookimpl(trylast=True)
def cmgraph_enrollment_qualifies(enrollment: Enrollment, day: date, payor: Payor) -> bool:
    if enrollment.status is EnrollmentStatus.ENROLLED:
        return covers(enrollment.effective_from, enrollment.effective_to, day)
    if enrollment.status is EnrollmentStatus.TERMINATED:
        # A termination only counts up to its known last day.
        return enrollment.effective_to is not None and covers(
            enrollment.effective_from, enrollment.effective_to, day
        )
    return False


def _findings(
    payors: Payors, credentialed: dict[UUID, bool], who: str, day: date, **where: object
) -> list[Finding]:
    found = []
    for index, payor in enumerate(payors.all):
        if credentialed.get(payor.id, False):
            continue
        primary = index == 0 and payors.primary is not None
        found.append(
            finding(
                CODE,
                Severity.ERROR if primary else Severity.WARNING,
                f"{who} is not credentialed with the client's "
                f"{'primary' if primary else 'secondary'} payor {payor.name} on {day.isoformat()}.",
                date=day,
                payor_id=payor.id,
                **where,
            )
        )
    return found


@hookimpl(trylast=True)
def cmgraph_check_assignment(check: AssignmentCheck) -> list[Finding]:
    assignment = check.assignment
    return _findings(
        check.payors,
        check.credentialed,
        check.provider.display_name,
        assignment.start_date,
        field=Field.PROVIDER,
        client_id=assignment.client_id,
        service_line=assignment.service_line,
    )


@hookimpl(trylast=True)
def cmgraph_check_session(check: SessionCheck) -> list[Finding]:
    if check.case_manager is None:
        return []
    return _findings(
        check.payors,
        check.credentialed,
        "The case manager",
        check.date_of_service,
        client_id=check.client_id,
        service_line=check.service_line,
        appointment_id=check.appointment.id if check.appointment else None,
    )
