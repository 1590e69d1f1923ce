"""Rule 6: every session needs a case manager on its date of service (NO_CASE_MANAGER)."""

from __future__ import annotations

from rulefacts import (
    KOLKATA,
    appointment,
    assignment,
    bcba,
    codes,
    d,
    only,
    session_check,
)

from cmgraph.facts import Severity
from cmgraph.plugins import RuleBook

CODE = "NO_CASE_MANAGER"


def test_a_session_without_case_manager_is_reported_on_its_date_of_service(book: RuleBook) -> None:
    # 23:30 in New York on 03-06 is already 03-07 in UTC: the date of service is 03-06.
    session = appointment("2026-03-06T23:30-05:00", by=bcba())

    [found] = book.check_session(session_check(book, session, None))

    assert found.code == CODE
    assert found.severity is Severity.ERROR
    assert found.date == d("2026-03-06")
    assert found.appointment_id == session.id
    assert found.client_id == session.client_id
    assert found.service_line == "ABA"
    assert found.rule == "coverage_gaps"
    assert found.plugin == "cmgraph"
    assert "2026-03-06" in found.message


def test_the_date_of_service_follows_the_organizations_time_zone(book: RuleBook) -> None:
    # 20:00 UTC on 03-06 is 01:30 on 03-07 in Kolkata.
    session = appointment("2026-03-06T20:00:00Z", by=bcba())

    [found] = book.check_session(session_check(book, session, None, clock=KOLKATA))

    assert found.date == d("2026-03-07")


def test_a_covered_session_has_no_gap(book: RuleBook) -> None:
    cm = bcba()
    session = appointment("2026-03-10T09:00-04:00", by=cm)

    check = session_check(book, session, assignment(cm, "2026-03-01"))

    assert only(book.check_session(check), CODE) == []


def test_a_gap_is_reported_for_a_date_billing_asks_about(book: RuleBook) -> None:
    check = session_check(book, None, None, day=d("2026-03-10"), service_line="ST")

    [found] = book.check_session(check)

    assert codes([found]) == [CODE]
    assert found.date == d("2026-03-10")
    assert found.service_line == "ST"
    assert found.appointment_id is None
