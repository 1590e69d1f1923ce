"""Rule 2: the case manager must be credentialed with the client's payors (NOT_CREDENTIALED)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rulefacts import (
    LONG_AGO,
    appointment,
    assignment,
    assignment_check,
    bcba,
    coverage,
    d,
    enrollment,
    only,
    payor,
    session_check,
)

from cmgraph.facts import (
    Appointment,
    Coverage,
    Enrollment,
    EnrollmentStatus,
    Field,
    Finding,
    Payors,
    Provider,
    Severity,
)
from cmgraph.plugins import RuleBook

ENROLLED = EnrollmentStatus.ENROLLED
TERMINATED = EnrollmentStatus.TERMINATED
CODE = "NOT_CREDENTIALED"
START = "2026-03-07"


def credentialing_findings(
    book: RuleBook,
    cm: Provider,
    coverages: list[Coverage],
    enrollments: list[Enrollment],
    start: str = START,
) -> list[Finding]:
    check = assignment_check(
        book,
        assignment(cm, start, saved=False),
        cm,
        coverages=coverages,
        enrollments=enrollments,
    )
    return only(book.check_assignment(check), CODE)


# --- when an enrollment counts (cmgraph_enrollment_counts, through RuleBook.credentialed) ---


@pytest.mark.parametrize(
    ("day", "counts"),
    [
        ("2026-02-28", False),  # the day before effective_from
        ("2026-03-01", True),  # effective_from itself
        ("2026-03-15", True),
        ("2026-03-31", True),  # effective_to itself
        ("2026-04-01", False),  # the day after effective_to
    ],
)
def test_enrolled_counts_within_its_effective_dates_inclusive(
    book: RuleBook, day: str, counts: bool
) -> None:
    cm, acme = bcba(), payor()
    march = enrollment(cm, acme, ENROLLED, d("2026-03-01"), d("2026-03-31"))

    assert book.credentialed([march], cm.id, acme, d(day)) is counts


def test_enrolled_without_dates_counts_on_any_date(book: RuleBook) -> None:
    cm, acme = bcba(), payor()
    open_ended = enrollment(cm, acme, ENROLLED, None, None)

    assert book.credentialed([open_ended], cm.id, acme, d("1999-12-31"))
    assert book.credentialed([open_ended], cm.id, acme, d("2099-01-01"))


@pytest.mark.parametrize("status", [EnrollmentStatus.PENDING, EnrollmentStatus.DENIED])
@pytest.mark.parametrize("day", ["2026-03-01", "2026-03-15", "2026-03-31"])
def test_pending_and_denied_never_count(book: RuleBook, status: EnrollmentStatus, day: str) -> None:
    cm, acme = bcba(), payor()
    undecided = enrollment(cm, acme, status, d("2026-03-01"), d("2026-03-31"))

    assert book.credentialed([undecided], cm.id, acme, d(day)) is False


@pytest.mark.parametrize(
    ("day", "counts"),
    [
        ("2026-02-28", False),  # before effective_from
        ("2026-03-01", True),
        ("2026-03-31", True),  # its last day
        ("2026-04-01", False),  # after the termination took effect
    ],
)
def test_terminated_counts_only_up_to_its_effective_to(
    book: RuleBook, day: str, counts: bool
) -> None:
    cm, acme = bcba(), payor()
    ended = enrollment(cm, acme, TERMINATED, d("2026-03-01"), d("2026-03-31"))

    assert book.credentialed([ended], cm.id, acme, d(day)) is counts


def test_terminated_without_effective_to_never_counts(book: RuleBook) -> None:
    cm, acme = bcba(), payor()
    ended = enrollment(cm, acme, TERMINATED, d("2026-03-01"), None)

    assert book.credentialed([ended], cm.id, acme, d("2026-03-01")) is False
    assert book.credentialed([ended], cm.id, acme, d("2026-06-01")) is False


def test_only_the_providers_enrollment_with_that_payor_counts(book: RuleBook) -> None:
    cm, colleague = bcba("Casey Manager"), bcba("Col League")
    acme, other = payor("Acme Health"), payor("Other Plan")
    enrollments = [enrollment(colleague, acme), enrollment(cm, other)]

    assert book.credentialed(enrollments, cm.id, acme, d(START)) is False
    assert book.credentialed_with(enrollments, cm.id, Payors(acme, (other,)), d(START)) == {
        acme.id: False,
        other.id: True,
    }


def test_one_counting_enrollment_among_several_is_enough(book: RuleBook) -> None:
    cm, acme = bcba(), payor()
    history = [
        enrollment(cm, acme, TERMINATED, d("2025-01-01"), d("2025-12-31")),
        enrollment(cm, acme, EnrollmentStatus.PENDING, d("2026-01-01")),
        enrollment(cm, acme, ENROLLED, d("2026-03-01")),
    ]

    assert book.credentialed(history, cm.id, acme, d("2025-06-01"))
    assert not book.credentialed(history, cm.id, acme, d("2026-02-01"))
    assert book.credentialed(history, cm.id, acme, d("2026-03-01"))


# --- the assignment check ---


def test_not_enrolled_with_the_primary_payor_is_an_error_on_the_provider_field(
    book: RuleBook,
) -> None:
    cm, acme = bcba("Casey Manager"), payor("Acme Health")

    [found] = credentialing_findings(book, cm, [coverage(acme)], [])

    assert found.severity is Severity.ERROR
    assert found.is_error
    assert found.field == Field.PROVIDER
    assert found.date == d(START)
    assert found.rule == "credentialing"
    assert found.plugin == "cmgraph"
    assert "Casey Manager" in found.message
    assert "Acme Health" in found.message
    assert "primary" in found.message


def test_enrolled_with_the_primary_payor_is_fine(book: RuleBook) -> None:
    cm, acme = bcba(), payor()

    assert credentialing_findings(book, cm, [coverage(acme)], [enrollment(cm, acme)]) == []


def test_not_enrolled_with_a_secondary_payor_is_only_a_warning(book: RuleBook) -> None:
    cm, primary, secondary = bcba(), payor("Acme Health"), payor("State Medicaid")
    coverages = [coverage(primary, 1), coverage(secondary, 2)]

    [found] = credentialing_findings(book, cm, coverages, [enrollment(cm, primary)])

    assert found.severity is Severity.WARNING
    assert not found.is_error
    assert found.field == Field.PROVIDER
    assert "State Medicaid" in found.message
    assert "secondary" in found.message


def test_not_enrolled_with_either_payor_gives_an_error_and_a_warning(book: RuleBook) -> None:
    cm, primary, secondary = bcba(), payor("Acme Health"), payor("State Medicaid")
    coverages = [coverage(primary, 1), coverage(secondary, 2)]

    found = credentialing_findings(book, cm, coverages, [])

    by_severity = {f.severity: f for f in found}
    assert len(found) == 2
    assert "Acme Health" in by_severity[Severity.ERROR].message
    assert "State Medicaid" in by_severity[Severity.WARNING].message


def test_coverage_priority_not_listing_order_decides_the_primary(book: RuleBook) -> None:
    cm, listed_first, priority_one = bcba(), payor("Aardvark Care"), payor("Zenith Health")
    coverages = [coverage(listed_first, 2), coverage(priority_one, 1)]

    found = credentialing_findings(book, cm, coverages, [enrollment(cm, listed_first)])

    assert [(f.severity, "Zenith Health" in f.message) for f in found] == [(Severity.ERROR, True)]


def test_a_payor_covering_twice_is_judged_once_as_primary(book: RuleBook) -> None:
    cm, acme, state = bcba(), payor("Acme Health"), payor("State Medicaid")
    coverages = [coverage(acme, 1), coverage(state, 2), coverage(acme, 3)]

    found = credentialing_findings(book, cm, coverages, [enrollment(cm, state)])

    assert [(f.severity, "Acme Health" in f.message) for f in found] == [(Severity.ERROR, True)]


def test_a_coverage_ended_before_the_start_date_does_not_count(book: RuleBook) -> None:
    cm, old_primary, new_primary = bcba(), payor("Old Plan"), payor("New Plan")
    coverages = [
        coverage(old_primary, 1, LONG_AGO, d(START) - timedelta(days=1)),
        coverage(new_primary, 2, LONG_AGO),
    ]

    [found] = credentialing_findings(book, cm, coverages, [enrollment(cm, old_primary)])

    assert found.severity is Severity.ERROR
    assert "New Plan" in found.message


def test_a_client_without_coverage_needs_no_credentialing(book: RuleBook) -> None:
    assert credentialing_findings(book, bcba(), [], []) == []


def test_a_coverage_not_yet_effective_on_the_start_date_needs_no_credentialing(
    book: RuleBook,
) -> None:
    later = coverage(payor(), 1, d(START) + timedelta(days=1))

    assert credentialing_findings(book, bcba(), [later], []) == []


@pytest.mark.parametrize(
    ("effective_from", "effective_to", "credentialed"),
    [
        ("2026-03-07", None, True),  # enrolled from the start date itself
        ("2026-03-08", None, False),  # enrolled from the day after the start date
        ("2026-01-01", "2026-03-07", True),  # enrollment ends on the start date
        ("2026-01-01", "2026-03-06", False),  # enrollment ended the day before
    ],
)
def test_the_assignment_is_judged_on_its_start_date(
    book: RuleBook, effective_from: str, effective_to: str | None, credentialed: bool
) -> None:
    cm, acme = bcba(), payor()
    enrolled = enrollment(
        cm, acme, ENROLLED, d(effective_from), d(effective_to) if effective_to else None
    )

    found = credentialing_findings(book, cm, [coverage(acme)], [enrolled])

    assert (found == []) is credentialed


def test_a_terminated_enrollment_still_effective_on_the_start_date_counts(book: RuleBook) -> None:
    cm, acme = bcba(), payor()
    ending = enrollment(cm, acme, TERMINATED, LONG_AGO, d(START))

    assert credentialing_findings(book, cm, [coverage(acme)], [ending]) == []


@pytest.mark.parametrize("status", [EnrollmentStatus.PENDING, EnrollmentStatus.DENIED])
def test_a_pending_or_denied_enrollment_is_not_credentialed(
    book: RuleBook, status: EnrollmentStatus
) -> None:
    cm, acme = bcba(), payor()

    [found] = credentialing_findings(book, cm, [coverage(acme)], [enrollment(cm, acme, status)])

    assert found.severity is Severity.ERROR


# --- the session check (compliance report) ---


def test_session_check_judges_credentialing_on_the_date_of_service(book: RuleBook) -> None:
    cm, acme = bcba(), payor("Acme Health")
    cm_assignment = assignment(cm, "2026-01-01")
    terminated = enrollment(cm, acme, TERMINATED, LONG_AGO, d("2026-03-06"))
    last_day = appointment("2026-03-06T23:30-05:00", by=cm)  # 2026-03-07 in UTC
    next_day = appointment("2026-03-07T09:00-05:00", by=cm)

    def findings(session: Appointment) -> list[Finding]:
        check = session_check(
            book, session, cm_assignment, coverages=[coverage(acme)], enrollments=[terminated]
        )
        return only(book.check_session(check), CODE)

    assert findings(last_day) == []
    [found] = findings(next_day)
    assert found.severity is Severity.ERROR
    assert found.date == d("2026-03-07")
    assert found.appointment_id == next_day.id
    assert found.service_line == "ABA"
    assert "Acme Health" in found.message


def test_session_check_warns_about_a_secondary_payor_on_the_date_of_service(book: RuleBook) -> None:
    cm, primary, secondary = bcba(), payor("Acme Health"), payor("State Medicaid")
    session = appointment("2026-03-10T10:00-04:00", by=cm)
    check = session_check(
        book,
        session,
        assignment(cm, "2026-01-01"),
        coverages=[coverage(primary, 1), coverage(secondary, 2, d("2026-03-01"))],
        enrollments=[enrollment(cm, primary)],
    )

    [found] = only(book.check_session(check), CODE)

    assert found.severity is Severity.WARNING
    assert "State Medicaid" in found.message


def test_session_check_judges_the_case_manager_not_the_deliverer(book: RuleBook) -> None:
    cm, substitute, acme = bcba("Casey Manager"), bcba("Sam Substitute"), payor()
    session = appointment("2026-03-10T10:00-04:00", by=substitute)
    check = session_check(
        book,
        session,
        assignment(cm, "2026-01-01"),
        coverages=[coverage(acme)],
        enrollments=[enrollment(substitute, acme)],
    )

    assert [f.severity for f in only(book.check_session(check), CODE)] == [Severity.ERROR]


def test_session_without_case_manager_says_nothing_about_credentialing(book: RuleBook) -> None:
    session = appointment("2026-03-10T10:00-04:00", by=bcba())
    check = session_check(book, session, None, coverages=[coverage(payor())])

    assert only(book.check_session(check), CODE) == []
