"""Warnings ahead of time: a current CM's qualifying credential or payor enrollment ends soon.

The only rule that depends on the day of the request: "within 60 days" counts from today in
the organization's time zone. A renewal already on file (a credential or an enrollment that
takes over without a gap) means nothing ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from cmgraph import hookimpl
from cmgraph.facts import (
    CurrentAssignmentCheck,
    Enrollment,
    EnrollmentStatus,
    ExpiryKind,
    Finding,
    Payor,
    RuleInfo,
    Severity,
    covers,
)
from cmgraph.rules._finding import FindingFactory

RULE = "expiry"
CREDENTIAL_EXPIRING = "CREDENTIAL_EXPIRING"
ENROLLMENT_ENDING = "ENROLLMENT_ENDING"
DEFAULT_WINDOW = timedelta(days=60)
finding = FindingFactory(RULE)


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(CREDENTIAL_EXPIRING, ENROLLMENT_ENDING),
            description=(
                "Warns when a current case manager's qualifying credential expires, or their "
                "enrollment with the client's payor ends, within 60 days (by default)."
            ),
        )
    ]


@hookimpl(trylast=True)
def cmgraph_expiry_window(kind: ExpiryKind, payor: Payor | None) -> timedelta:
    return DEFAULT_WINDOW


def _last_day(periods: Iterable[tuple[date | None, date | None]], today: date) -> date | None:
    """The last day of the unbroken run of periods that covers today (None: open-ended)."""
    periods = list(periods)
    day = today
    while True:
        ends = [end for start, end in periods if covers(start, end, day)]
        if not ends:
            return day - timedelta(days=1)
        if None in ends:
            return None
        day = max(e for e in ends if e is not None) + timedelta(days=1)


def _counts(enrollment: Enrollment) -> bool:
    return enrollment.status is EnrollmentStatus.ENROLLED or (
        enrollment.status is EnrollmentStatus.TERMINATED and enrollment.effective_to is not None
    )


def _ends_while_assigned(
    last: date | None, check: CurrentAssignmentCheck, window: timedelta
) -> bool:
    """Whether `last` falls within the window and before the assignment's own end."""
    end = check.assignment.end_date
    return (
        last is not None
        and check.today <= last <= check.today + window
        and (end is None or last < end)
    )


@hookimpl(trylast=True)
def cmgraph_check_current_assignment(check: CurrentAssignmentCheck) -> list[Finding]:
    a, name = check.assignment, check.provider.display_name
    where = {"client_id": a.client_id, "service_line": a.service_line}
    found = []
    held = [(c.issued_on, c.expires_on) for c in check.qualifying]
    last = _last_day(held, check.today) if held else None
    if _ends_while_assigned(last, check, check.windows.get(ExpiryKind.CREDENTIAL, DEFAULT_WINDOW)):
        assert last is not None
        found.append(
            finding(
                CREDENTIAL_EXPIRING,
                Severity.WARNING,
                f"{name}'s credential qualifying for {a.service_line} expires on "
                f"{last.isoformat()}; renew it or plan a change of case manager.",
                date=last,
                **where,
            )
        )
    for payor in check.payors.all:
        periods = [
            (e.effective_from, e.effective_to)
            for e in check.enrollments
            if e.payor_id == payor.id and _counts(e)
        ]
        last = _last_day(periods, check.today) if periods else None
        if _ends_while_assigned(
            last, check, check.windows.get(ExpiryKind.ENROLLMENT, DEFAULT_WINDOW)
        ):
            assert last is not None
            found.append(
                finding(
                    ENROLLMENT_ENDING,
                    Severity.WARNING,
                    f"{name}'s enrollment with {payor.name} ends on {last.isoformat()}; the "
                    "case manager cannot render that payor's claims after it.",
                    date=last,
                    payor_id=payor.id,
                    **where,
                )
            )
    return found
