"""Rule 7: the case manager should know the case (NOT_FAMILIAR, a warning)."""

from __future__ import annotations

from typing import Any

import pytest
from rulefacts import appointment, assignment, assignment_check, bcba, d, only

from cmgraph.facts import Appointment, AppointmentStatus, Field, Finding, Provider, Severity
from cmgraph.plugins import RuleBook

CODE = "NOT_FAMILIAR"
START = "2026-03-07"  # the 30 days before it are 2026-02-05 .. 2026-03-06


def familiarity(
    book: RuleBook, *sessions: Appointment, cm: Provider | None = None, start: str = START
) -> list[Finding]:
    """NOT_FAMILIAR findings of a proposed ABA assignment of `cm` given the client's sessions."""
    cm = cm or bcba("Casey Manager")
    check = assignment_check(book, assignment(cm, start, saved=False), cm, appointments=sessions)
    return only(book.check_assignment(check), CODE)


def by_someone_else(starts_at: str, **kwargs: Any) -> Appointment:
    return appointment(starts_at, by=bcba("Other Therapist"), **kwargs)


def test_recent_sessions_all_delivered_by_others_warn(book: RuleBook) -> None:
    sessions = [
        by_someone_else("2026-02-20T10:00-05:00"),
        by_someone_else("2026-03-02T10:00-05:00"),
    ]

    [found] = familiarity(book, *sessions)

    assert found.severity is Severity.WARNING
    assert not found.is_error
    assert found.field == Field.PROVIDER
    assert found.date == d(START)
    assert found.service_line == "ABA"
    assert found.rule == "familiarity"
    assert found.plugin == "cmgraph"
    assert "Casey Manager" in found.message


def test_one_recent_session_delivered_by_the_case_manager_is_enough(book: RuleBook) -> None:
    cm = bcba()
    sessions = [
        by_someone_else("2026-02-20T10:00-05:00"),
        appointment("2026-02-10T10:00-05:00", by=cm),
        by_someone_else("2026-03-02T10:00-05:00"),
    ]

    assert familiarity(book, *sessions, cm=cm) == []


def test_a_client_without_recent_sessions_raises_no_warning(book: RuleBook) -> None:
    assert familiarity(book) == []


@pytest.mark.parametrize(
    ("starts_at", "in_window"),
    [
        ("2026-02-04T12:00-05:00", False),  # 31 days before the start date
        ("2026-02-05T00:00-05:00", True),  # start - 30 days: the first day of the window
        ("2026-03-06T23:59-05:00", True),  # the day before the start date
        ("2026-03-07T00:00-05:00", False),  # the start date itself
        ("2026-03-20T10:00-04:00", False),  # after the start
    ],
)
def test_the_window_is_the_30_days_before_the_start_date(
    book: RuleBook, starts_at: str, in_window: bool
) -> None:
    assert bool(familiarity(book, by_someone_else(starts_at))) is in_window


def test_the_case_managers_own_session_outside_the_window_does_not_help(book: RuleBook) -> None:
    cm = bcba()
    sessions = [
        appointment("2026-02-04T10:00-05:00", by=cm),  # too early
        appointment("2026-03-07T10:00-05:00", by=cm),  # on the start date
        by_someone_else("2026-03-01T10:00-05:00"),
    ]

    assert len(familiarity(book, *sessions, cm=cm)) == 1


@pytest.mark.parametrize(
    "status",
    [AppointmentStatus.SCHEDULED, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW],
)
def test_only_completed_sessions_count(book: RuleBook, status: AppointmentStatus) -> None:
    assert familiarity(book, by_someone_else("2026-03-01T10:00-05:00", status=status)) == []


@pytest.mark.parametrize(
    "status",
    [AppointmentStatus.SCHEDULED, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW],
)
def test_a_session_the_case_manager_did_not_complete_does_not_make_them_familiar(
    book: RuleBook, status: AppointmentStatus
) -> None:
    cm = bcba()
    sessions = [
        appointment("2026-03-02T10:00-05:00", by=cm, status=status),
        by_someone_else("2026-03-01T10:00-05:00"),
    ]

    assert len(familiarity(book, *sessions, cm=cm)) == 1


def test_sessions_of_another_line_are_ignored(book: RuleBook) -> None:
    assert familiarity(book, by_someone_else("2026-03-01T10:00-05:00", service_line="ST")) == []


def test_date_of_service_is_taken_in_the_organizations_time_zone(book: RuleBook) -> None:
    # 2026-03-06T23:30-05:00 is on 03-06 in New York, 03-07 in UTC.
    late_evening = by_someone_else("2026-03-06T23:30-05:00")

    # The day before a 03-07 start: inside the window.
    assert len(familiarity(book, late_evening, start="2026-03-07")) == 1
    # 31 days before a 04-06 start (whose window opens 03-07): outside it.
    assert familiarity(book, late_evening, start="2026-04-06") == []
