"""Rule 8: an assignment a completed session relies on cannot be removed or un-cover it."""

from __future__ import annotations

from uuid import uuid4

import pytest
from rulefacts import appointment, assignment, bcba, d, removal_check

from cmgraph.facts import Appointment, AppointmentStatus, Assignment, Field, Finding, Severity
from cmgraph.plugins import RuleBook

CODE = "ASSIGNMENT_IN_USE"
COMPLETED = AppointmentStatus.COMPLETED


def removal(
    book: RuleBook,
    original: Assignment,
    *sessions: Appointment,
    replacement: Assignment | None = None,
) -> list[Finding]:
    return book.check_removal(removal_check(original, replacement, appointments=sessions))


def test_removing_an_assignment_with_a_completed_session_is_refused(book: RuleBook) -> None:
    cm = bcba()
    saved = assignment(cm, "2026-03-01", "2026-03-31")
    session = appointment("2026-03-10T09:00-04:00", by=cm)

    [found] = removal(book, saved, session)

    assert found.code == CODE
    assert found.severity is Severity.ERROR
    assert found.field == Field.ASSIGNMENT
    assert found.date == d("2026-03-10")
    assert found.client_id == saved.client_id
    assert found.service_line == "ABA"
    assert found.rule == "assignment_in_use"
    assert found.plugin == "cmgraph"
    assert "removed" in found.message


def test_a_completed_session_by_a_substitute_counts_too(book: RuleBook) -> None:
    saved = assignment(bcba(), "2026-03-01")

    assert [f.code for f in removal(book, saved, appointment("2026-03-10T09:00-04:00"))] == [CODE]


def test_the_finding_names_the_earliest_completed_session(book: RuleBook) -> None:
    saved = assignment(bcba(), "2026-03-01")
    sessions = [appointment("2026-03-20T09:00-04:00"), appointment("2026-03-05T09:00-05:00")]

    [found] = removal(book, saved, *sessions)

    assert found.date == d("2026-03-05")
    assert "2 completed" in found.message


@pytest.mark.parametrize(
    "status",
    [AppointmentStatus.SCHEDULED, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW],
)
def test_sessions_that_were_not_completed_do_not_hold_an_assignment(
    book: RuleBook, status: AppointmentStatus
) -> None:
    saved = assignment(bcba(), "2026-03-01", "2026-03-31")

    assert removal(book, saved, appointment("2026-03-10T09:00-04:00", status=status)) == []


def test_an_assignment_without_sessions_can_be_removed(book: RuleBook) -> None:
    assert removal(book, assignment(bcba(), "2026-03-01")) == []


@pytest.mark.parametrize(
    ("starts_at", "in_period"),
    [
        ("2026-02-28T23:59-05:00", False),  # the day before the start date
        ("2026-03-01T00:00-05:00", True),  # the start date
        ("2026-03-31T23:59-04:00", True),  # the end date
        ("2026-04-01T00:00-04:00", False),  # the day after the end date
    ],
)
def test_only_completed_sessions_within_the_period_count(
    book: RuleBook, starts_at: str, in_period: bool
) -> None:
    saved = assignment(bcba(), "2026-03-01", "2026-03-31")

    assert bool(removal(book, saved, appointment(starts_at))) is in_period


def test_the_period_is_judged_on_the_date_of_service_in_the_organizations_zone(
    book: RuleBook,
) -> None:
    # 23:30 on 03-31 in New York is 04-01 in UTC: still inside an assignment ending 03-31 ...
    ending = assignment(bcba(), "2026-03-01", "2026-03-31")
    late_evening = appointment("2026-03-31T23:30-04:00")
    # ... and outside one starting 04-01.
    starting = assignment(bcba(), "2026-04-01")

    assert [f.date for f in removal(book, ending, late_evening)] == [d("2026-03-31")]
    assert removal(book, starting, late_evening) == []


def test_sessions_of_other_clients_or_lines_do_not_hold_an_assignment(book: RuleBook) -> None:
    saved = assignment(bcba(), "2026-03-01")
    sessions = [
        appointment("2026-03-10T09:00-04:00", service_line="ST"),
        appointment("2026-03-10T09:00-04:00", client_id=uuid4()),
    ]

    assert removal(book, saved, *sessions) == []


# --- edits: the replacement must still cover every completed session ---


def test_an_edit_that_still_covers_every_completed_session_is_allowed(book: RuleBook) -> None:
    cm = bcba()
    saved = assignment(cm, "2026-03-01")
    sessions = [appointment("2026-03-01T09:00-05:00"), appointment("2026-03-15T09:00-04:00")]
    end_dated = assignment(cm, "2026-03-01", "2026-03-15", assignment_id=saved.id)
    started_earlier = assignment(cm, "2026-02-01", assignment_id=saved.id)

    assert removal(book, saved, *sessions, replacement=end_dated) == []
    assert removal(book, saved, *sessions, replacement=started_earlier) == []


def test_an_edit_may_uncover_sessions_that_were_not_completed(book: RuleBook) -> None:
    cm = bcba()
    saved = assignment(cm, "2026-03-01")
    scheduled = appointment("2026-03-20T09:00-04:00", status=AppointmentStatus.SCHEDULED)
    end_dated = assignment(cm, "2026-03-01", "2026-03-15", assignment_id=saved.id)

    assert removal(book, saved, scheduled, replacement=end_dated) == []


def test_moving_the_start_after_a_completed_session_is_refused(book: RuleBook) -> None:
    cm = bcba()
    saved = assignment(cm, "2026-03-01")
    session = appointment("2026-03-05T09:00-05:00")
    started_later = assignment(cm, "2026-03-06", assignment_id=saved.id)

    [found] = removal(book, saved, session, replacement=started_later)

    assert found.code == CODE
    assert found.severity is Severity.ERROR
    assert found.date == d("2026-03-05")
    assert found.field == Field.START_DATE
    assert "shortened" in found.message


def test_moving_the_end_before_a_completed_session_is_refused(book: RuleBook) -> None:
    cm = bcba()
    saved = assignment(cm, "2026-03-01")
    sessions = [appointment("2026-03-10T09:00-04:00"), appointment("2026-03-16T09:00-04:00")]
    end_dated = assignment(cm, "2026-03-01", "2026-03-15", assignment_id=saved.id)

    [found] = removal(book, saved, *sessions, replacement=end_dated)

    assert found.code == CODE
    assert found.date == d("2026-03-16")
    assert "1 completed" in found.message


def test_an_end_date_moved_too_early_is_reported_on_the_end_date_field(book: RuleBook) -> None:
    cm = bcba()
    saved = assignment(cm, "2026-03-01")
    session = appointment("2026-03-16T09:00-04:00")
    end_dated = assignment(cm, "2026-03-01", "2026-03-15", assignment_id=saved.id)

    [found] = removal(book, saved, session, replacement=end_dated)

    # The start date did not change; the person must fix the end date.
    assert found.field == Field.END_DATE
