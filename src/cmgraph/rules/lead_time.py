"""Rule 4: an assignment starts at least 24 hours before the first appointment it covers.

The start date means 00:00 on that date in the organization's time zone; the first
appointment is the earliest non-cancelled one of the client and line at or after that
instant (and before the assignment's end). Hours are real elapsed hours, so a
daylight-saving change counts.
"""

from __future__ import annotations

from datetime import timedelta

from cmgraph import hookimpl
from cmgraph.facts import (
    Appointment,
    Assignment,
    AssignmentCheck,
    Clock,
    Field,
    Finding,
    Payor,
    RuleInfo,
    SessionCheck,
    Severity,
)
from cmgraph.rules._finding import FindingFactory

RULE = "lead_time"
CODE = "LEAD_TIME"
DEFAULT = timedelta(hours=24)
finding = FindingFactory(RULE)


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(CODE,),
            description=(
                "An assignment's start date (00:00 in the organization's time zone) must be at "
                "least the lead time (24 h unless a payor says otherwise) before the first "
                "non-cancelled appointment it covers, in real elapsed hours."
            ),
        )
    ]


@hookimpl(trylast=True)
def cmgraph_lead_time(service_line: str, payor: Payor | None) -> timedelta:
    return DEFAULT


def first_covered(
    assignment: Assignment, clock: Clock, appointments: tuple[Appointment, ...]
) -> Appointment | None:
    """The earliest non-cancelled appointment of the assignment's client and line it covers.

    "At or after 00:00 on the start date" is "a date of service on or after the start date",
    which is how services.sessions finds the same appointment in SQL.
    """
    covered = [
        a
        for a in appointments
        if not a.cancelled
        and a.client_id == assignment.client_id
        and a.service_line == assignment.service_line
        and assignment.covers(clock.date_of(a.starts_at))
    ]
    return min(covered, key=lambda a: a.starts_at, default=None)


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} h"


def _missed(clock: Clock, assignment: Assignment, first: Appointment, lead: timedelta) -> str:
    elapsed = clock.elapsed(clock.start_of(assignment.start_date), first.starts_at)
    return (
        f"The case manager starts {assignment.start_date.isoformat()}, only {_hours(elapsed)} "
        f"before the first appointment it covers "
        f"({first.starts_at.astimezone(clock.zone).isoformat()}); at least {_hours(lead)} needed."
    )


def misses_lead_time(
    clock: Clock, assignment: Assignment, first: Appointment, lead: timedelta
) -> bool:
    return clock.elapsed(clock.start_of(assignment.start_date), first.starts_at) < lead


@hookimpl(trylast=True)
def cmgraph_check_assignment(check: AssignmentCheck) -> list[Finding]:
    assignment = check.assignment
    first = first_covered(assignment, check.clock, check.appointments)
    if first is None or not misses_lead_time(check.clock, assignment, first, check.lead_time):
        return []
    return [
        finding(
            CODE,
            Severity.ERROR,
            _missed(check.clock, assignment, first, check.lead_time),
            field=Field.START_DATE,
            client_id=assignment.client_id,
            service_line=assignment.service_line,
            appointment_id=first.id,
            date=assignment.start_date,
        )
    ]


@hookimpl(trylast=True)
def cmgraph_check_session(check: SessionCheck) -> list[Finding]:
    cm, appointment = check.case_manager, check.appointment
    if cm is None or appointment is None or not check.first_covered:
        return []
    if not misses_lead_time(check.clock, cm, appointment, check.lead_time):
        return []
    return [
        finding(
            CODE,
            Severity.ERROR,
            _missed(check.clock, cm, appointment, check.lead_time),
            client_id=appointment.client_id,
            service_line=appointment.service_line,
            appointment_id=appointment.id,
            date=check.date_of_service,
        )
    ]
