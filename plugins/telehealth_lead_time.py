"""A payor that waives the case manager's lead time when the first session is by telehealth.

An example of loosening a built-in rule for one payor (docs/plugins.md, "Loosening a
built-in rule"). Some commercial payors and Medicaid plans waive advance-notice periods for
telehealth visits (unverified: a policy pattern, not one payor's manual; name this plugin
on a payor only after reading that payor's contract).

Rule ``telehealth_lead_time`` replaces the built-in ``lead_time`` rule for the payors naming
this plugin: the same stable code ``LEAD_TIME`` and the same measure (real elapsed hours
from 00:00 of the start date in the organization's zone to the first non-cancelled session
the assignment covers, against the lead time the payors decided), except that a first
session delivered by telehealth needs no lead time. Its findings carry this plugin's name.
The built-in rule still speaks for a client's other payors that do not name the plugin.
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
    RuleInfo,
    SessionCheck,
    Severity,
)

RULE = "telehealth_lead_time"
CODE = "LEAD_TIME"  # the built-in rule's code: the meaning is the same


@hookimpl
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            RULE,
            (CODE,),
            "The built-in lead time, waived when the first session the assignment covers is "
            "delivered by telehealth.",
            applies_to_all_payors=False,
            replaces=("lead_time",),
        )
    ]


def _first_covered(
    assignment: Assignment, clock: Clock, sessions: tuple[Appointment, ...]
) -> Appointment | None:
    covered = [
        a
        for a in sessions
        if not a.cancelled
        and a.client_id == assignment.client_id
        and a.service_line == assignment.service_line
        and assignment.covers(clock.date_of(a.starts_at))
    ]
    return min(covered, key=lambda a: a.starts_at, default=None)


def _short(clock: Clock, assignment: Assignment, first: Appointment, lead: timedelta) -> str | None:
    """The refusal's sentence, or None when the lead time is met or waived."""
    if first.telehealth:
        return None
    elapsed = clock.elapsed(clock.start_of(assignment.start_date), first.starts_at)
    if elapsed >= lead:
        return None
    hours = lead.total_seconds() / 3600
    return (
        f"The case manager starts {assignment.start_date.isoformat()}, "
        f"{elapsed.total_seconds() / 3600:g} h before the first in-person session it covers; "
        f"at least {hours:g} h needed (waived for telehealth)."
    )


@hookimpl
def cmgraph_check_assignment(check: AssignmentCheck) -> list[Finding]:
    first = _first_covered(check.assignment, check.clock, check.appointments)
    if first is None:
        return []
    message = _short(check.clock, check.assignment, first, check.lead_time)
    if message is None:
        return []
    return [
        Finding(
            CODE,
            Severity.ERROR,
            message,
            RULE,
            field=Field.START_DATE,
            client_id=check.assignment.client_id,
            service_line=check.assignment.service_line,
            appointment_id=first.id,
            date=check.assignment.start_date,
        )
    ]


@hookimpl
def cmgraph_check_session(check: SessionCheck) -> list[Finding]:
    cm, appointment = check.case_manager, check.appointment
    if cm is None or appointment is None or not check.first_covered:
        return []
    message = _short(check.clock, cm, appointment, check.lead_time)
    return [check.finding(CODE, Severity.ERROR, message, rule=RULE)] if message else []
