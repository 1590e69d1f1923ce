"""Rule 4: an assignment starts at least the lead time before the first appointment it covers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from rulefacts import (
    AUCKLAND,
    KOLKATA,
    NEW_YORK,
    appointment,
    assignment,
    assignment_check,
    bcba,
    d,
    only,
    payor,
    session_check,
)

from cmgraph.facts import (
    Appointment,
    AppointmentStatus,
    Clock,
    Field,
    Finding,
    Payors,
    Severity,
)
from cmgraph.plugins import RuleBook
from cmgraph.rules.lead_time import first_covered

CODE = "LEAD_TIME"
SCHEDULED = AppointmentStatus.SCHEDULED
HOURS_25 = timedelta(hours=25)


def lead_time_findings(
    book: RuleBook,
    start: str,
    *starts_at: str | datetime,
    clock: Clock = NEW_YORK,
    end: str | None = None,
    lead_time: timedelta | None = None,
) -> list[Finding]:
    """LEAD_TIME findings of a new ABA assignment over scheduled sessions at `starts_at`."""
    cm = bcba()
    sessions = [appointment(s, by=cm, status=SCHEDULED) for s in starts_at]
    check = assignment_check(
        book,
        assignment(cm, start, end, saved=False),
        cm,
        appointments=sessions,
        clock=clock,
        lead_time=lead_time,
    )
    return only(book.check_assignment(check), CODE)


def misses(book: RuleBook, start: str, *starts_at: str | datetime, **options: Any) -> bool:
    """Whether an assignment from `start` misses the lead time; at most one finding is made."""
    found = lead_time_findings(book, start, *starts_at, **options)
    assert len(found) <= 1
    return bool(found)


def first(
    start: str, *sessions: Appointment, end: str | None = None, clock: Clock = NEW_YORK
) -> Appointment | None:
    return first_covered(assignment(bcba(), start, end), clock, tuple(sessions))


# --- the default ---


@pytest.mark.parametrize("service_line", ["ABA", "ST", "OT", "PT", "MH", "XYZ"])
def test_default_lead_time_is_24_hours(book: RuleBook, service_line: str) -> None:
    assert book.lead_time(service_line, Payors(primary=None)) == timedelta(hours=24)
    assert book.lead_time(service_line, Payors(primary=payor())) == timedelta(hours=24)


# --- the example of DOMAIN.md ---


def test_domain_example_33_hours_before_the_first_appointment_is_fine(book: RuleBook) -> None:
    assert not misses(book, "2026-03-07", "2026-03-08T09:00-05:00")


def test_domain_example_first_appointment_on_the_start_date_misses_the_lead_time(
    book: RuleBook,
) -> None:
    cm = bcba()
    too_soon = appointment("2026-03-07T15:00-05:00", by=cm, status=SCHEDULED)
    check = assignment_check(
        book, assignment(cm, "2026-03-07", saved=False), cm, appointments=[too_soon]
    )

    [found] = only(book.check_assignment(check), CODE)

    assert found.severity is Severity.ERROR
    assert found.field == Field.START_DATE
    assert found.appointment_id == too_soon.id
    assert found.date == d("2026-03-07")
    assert found.service_line == "ABA"
    assert found.rule == "lead_time"
    assert found.plugin == "cmgraph"
    assert "15 h" in found.message
    assert "24 h" in found.message


# --- the boundary ---


def test_exactly_24_hours_is_enough(book: RuleBook) -> None:
    assert not misses(book, "2026-03-05", "2026-03-06T00:00-05:00")


def test_23_hours_59_minutes_is_not_enough(book: RuleBook) -> None:
    assert misses(book, "2026-03-05", "2026-03-05T23:59-05:00")


def test_an_appointment_at_the_start_instant_is_covered_with_zero_hours(book: RuleBook) -> None:
    assert misses(book, "2026-03-05", "2026-03-05T00:00-05:00")


def test_the_lead_time_given_to_the_check_is_the_one_applied(book: RuleBook) -> None:
    after_33_hours = "2026-03-08T09:00-05:00"

    assert misses(book, "2026-03-07", after_33_hours, lead_time=timedelta(hours=48))
    assert not misses(book, "2026-03-07", after_33_hours, lead_time=timedelta(hours=33))
    assert not misses(book, "2026-03-07", "2026-03-07T00:00-05:00", lead_time=timedelta(0))


# --- daylight-saving changes count in real hours ---


def test_spring_forward_day_has_23_real_hours(book: RuleBook) -> None:
    # 2026-03-08 00:00 EST to 2026-03-09 00:30 EDT: 24.5 h on the wall clock, 23.5 h real.
    [found] = lead_time_findings(book, "2026-03-08", "2026-03-09T00:30-04:00")

    assert "23.5 h" in found.message


def test_spring_forward_24_real_hours_end_at_1_am(book: RuleBook) -> None:
    assert not misses(book, "2026-03-08", "2026-03-09T01:00-04:00")


def test_fall_back_day_has_25_real_hours(book: RuleBook) -> None:
    midnight, next_midnight = NEW_YORK.start_of(d("2026-11-01")), NEW_YORK.start_of(d("2026-11-02"))

    assert NEW_YORK.elapsed(midnight, next_midnight) == HOURS_25
    # 23.5 h on the wall clock, 24.5 h real.
    assert not misses(book, "2026-11-01", "2026-11-01T23:30-05:00")
    assert not misses(book, "2026-11-01", "2026-11-02T00:00-05:00", lead_time=HOURS_25)
    assert misses(book, "2026-11-01", "2026-11-01T23:59-05:00", lead_time=HOURS_25)


def test_appointments_written_in_the_organizations_own_zone_count_real_hours(
    book: RuleBook,
) -> None:
    # The same tzinfo on both sides must not turn the subtraction into wall-clock arithmetic.
    new_york = ZoneInfo("America/New_York")
    spring = datetime(2026, 3, 9, 0, 30, tzinfo=new_york)
    fall = datetime(2026, 11, 1, 23, 30, tzinfo=new_york)

    assert misses(book, "2026-03-08", spring)
    assert not misses(book, "2026-11-01", fall)


def test_southern_hemisphere_fall_back_counts_too(book: RuleBook) -> None:
    # Pacific/Auckland leaves daylight saving on 2026-04-05: that day has 25 hours.
    assert not misses(book, "2026-04-05", "2026-04-05T23:30+12:00", clock=AUCKLAND)


# --- which appointment is the first one covered ---


def test_cancelled_appointments_are_skipped(book: RuleBook) -> None:
    cm = bcba()
    cancelled = appointment("2026-03-07T10:00-05:00", by=cm, status=AppointmentStatus.CANCELLED)
    later = appointment("2026-03-08T09:00-05:00", by=cm, status=SCHEDULED)
    check = assignment_check(
        book, assignment(cm, "2026-03-07", saved=False), cm, appointments=[cancelled, later]
    )

    assert first_covered(check.assignment, NEW_YORK, (cancelled, later)) == later
    assert only(book.check_assignment(check), CODE) == []


@pytest.mark.parametrize(
    "status", [AppointmentStatus.SCHEDULED, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW]
)
def test_every_non_cancelled_appointment_counts_as_first(
    book: RuleBook, status: AppointmentStatus
) -> None:
    cm = bcba()
    soon = appointment("2026-03-07T10:00-05:00", by=cm, status=status)
    check = assignment_check(
        book, assignment(cm, "2026-03-07", saved=False), cm, appointments=[soon]
    )

    assert [f.appointment_id for f in only(book.check_assignment(check), CODE)] == [soon.id]


def test_the_earliest_covered_appointment_is_first_whatever_the_order_given() -> None:
    later = appointment("2026-03-09T09:00-05:00")
    earlier = appointment("2026-03-08T09:00-05:00")

    assert first("2026-03-07", later, earlier) == earlier


def test_appointments_before_the_start_instant_are_not_covered(book: RuleBook) -> None:
    before = appointment("2026-03-06T23:59-05:00")
    after = appointment("2026-03-10T09:00-04:00")

    assert first("2026-03-07", before, after) == after
    assert first("2026-03-07", before) is None
    assert not misses(book, "2026-03-07", "2026-03-06T23:59-05:00")


def test_appointments_after_the_end_date_are_not_covered(book: RuleBook) -> None:
    last_minute = appointment("2026-03-10T23:59-04:00")
    after_end = appointment("2026-03-11T00:00-04:00")

    assert first("2026-03-10", after_end, end="2026-03-10") is None
    assert first("2026-03-10", last_minute, after_end, end="2026-03-10") == last_minute
    assert not misses(book, "2026-03-10", "2026-03-11T00:00-04:00", end="2026-03-10")
    assert misses(book, "2026-03-10", "2026-03-10T23:59-04:00", end="2026-03-10")


def test_other_clients_and_lines_are_not_covered() -> None:
    mine = appointment("2026-03-09T09:00-04:00")
    other_line = appointment("2026-03-08T09:00-04:00", service_line="ST")
    other_client = appointment("2026-03-08T10:00-04:00", client_id=uuid4())

    assert first("2026-03-07", other_line, other_client, mine) == mine


def test_no_appointment_means_no_lead_time_finding(book: RuleBook) -> None:
    assert not misses(book, "2026-03-07")


def test_the_start_instant_written_in_another_offset_is_still_covered(book: RuleBook) -> None:
    # 2026-03-07 00:00 in New York is 05:00 UTC.
    at_start = appointment("2026-03-07T05:00:00+00:00")
    just_before = appointment("2026-03-07T04:59:00Z")

    assert first("2026-03-07", just_before, at_start) == at_start
    assert misses(book, "2026-03-07", "2026-03-07T20:00:00Z")  # 15:00 in New York
    assert not misses(book, "2026-03-07", "2026-03-08T05:00:00+00:00")  # exactly 24 h


def test_first_is_decided_by_instant_not_by_wall_clock() -> None:
    by_wall_clock_later = appointment("2026-03-08T10:00+01:00")  # 09:00 UTC
    by_wall_clock_earlier = appointment("2026-03-08T05:00-05:00")  # 10:00 UTC

    assert first("2026-03-07", by_wall_clock_earlier, by_wall_clock_later) == by_wall_clock_later


# --- other time zones: the start date begins at local midnight, not at UTC midnight ---


def test_kolkata_start_date_begins_at_1830_utc_the_day_before(book: RuleBook) -> None:
    # 2026-03-07 00:00 in Asia/Kolkata (+05:30) is 2026-03-06 18:30 UTC.
    covered = appointment("2026-03-06T20:00:00Z")  # 01:30 on 03-07 in Kolkata
    not_covered = appointment("2026-03-06T18:29:00Z")  # 23:59 on 03-06 in Kolkata

    assert first("2026-03-07", not_covered, covered, clock=KOLKATA) == covered
    [found] = lead_time_findings(book, "2026-03-07", "2026-03-06T20:00:00Z", clock=KOLKATA)
    assert "1.5 h" in found.message
    assert not misses(book, "2026-03-07", "2026-03-06T18:29:00Z", clock=KOLKATA)
    assert not misses(book, "2026-03-07", "2026-03-07T18:30:00Z", clock=KOLKATA)


def test_auckland_start_date_begins_at_1100_utc_the_day_before(book: RuleBook) -> None:
    # 2026-03-07 00:00 in Pacific/Auckland (NZDT, +13:00) is 2026-03-06 11:00 UTC.
    assert not misses(book, "2026-03-07", "2026-03-07T11:00:00Z", clock=AUCKLAND)
    assert misses(book, "2026-03-07", "2026-03-07T10:59:00Z", clock=AUCKLAND)
    assert first("2026-03-07", appointment("2026-03-06T10:59:00Z"), clock=AUCKLAND) is None


# --- the session check (compliance report, in hindsight) ---


def test_session_check_flags_the_first_covered_session(book: RuleBook) -> None:
    cm = bcba()
    cm_assignment = assignment(cm, "2026-03-07")
    too_soon = appointment("2026-03-07T15:00-05:00", by=cm)

    check = session_check(book, too_soon, cm_assignment)

    assert check.first_covered
    [found] = only(book.check_session(check), CODE)
    assert found.severity is Severity.ERROR
    assert found.appointment_id == too_soon.id
    assert found.date == d("2026-03-07")
    assert found.rule == "lead_time"
    assert found.plugin == "cmgraph"


def test_session_check_ignores_sessions_that_are_not_first_covered(book: RuleBook) -> None:
    cm = bcba()
    cm_assignment = assignment(cm, "2026-03-07")
    first_session = appointment("2026-03-07T09:00-05:00", by=cm)
    second_session = appointment("2026-03-07T15:00-05:00", by=cm)
    both = [first_session, second_session]

    on_first = session_check(book, first_session, cm_assignment, appointments=both)
    on_second = session_check(book, second_session, cm_assignment, appointments=both)

    assert on_first.first_covered
    assert not on_second.first_covered
    assert [f.appointment_id for f in only(book.check_session(on_first), CODE)] == [
        first_session.id
    ]
    assert only(book.check_session(on_second), CODE) == []


def test_session_check_only_trusts_first_covered(book: RuleBook) -> None:
    cm = bcba()
    too_soon = appointment("2026-03-07T15:00-05:00", by=cm)

    check = session_check(book, too_soon, assignment(cm, "2026-03-07"), first_covered=False)

    assert only(book.check_session(check), CODE) == []


def test_session_check_is_fine_when_the_lead_time_was_met(book: RuleBook) -> None:
    cm = bcba()
    session = appointment("2026-03-08T09:00-05:00", by=cm)

    check = session_check(book, session, assignment(cm, "2026-03-07"))

    assert check.first_covered
    assert only(book.check_session(check), CODE) == []


def test_session_check_without_case_manager_or_session_has_no_lead_time_finding(
    book: RuleBook,
) -> None:
    cm = bcba()
    session = appointment("2026-03-07T15:00-05:00", by=cm)

    without_cm = session_check(book, session, None, first_covered=True)
    without_session = session_check(
        book, None, assignment(cm, "2026-03-07"), day=d("2026-03-07"), first_covered=True
    )

    assert only(book.check_session(without_cm), CODE) == []
    assert only(book.check_session(without_session), CODE) == []
