"""Rule 5: one case manager per client and line at a time (OVERLAPPING_ASSIGNMENT)."""

from __future__ import annotations

import pytest
from rulefacts import assignment, assignment_check, bcba, d, only

from cmgraph.facts import Field, Finding, Severity
from cmgraph.plugins import RuleBook

CODE = "OVERLAPPING_ASSIGNMENT"


def overlaps(
    book: RuleBook, proposed_start: str, proposed_end: str | None, *others: tuple[str, str | None]
) -> list[Finding]:
    """OVERLAPPING_ASSIGNMENT findings of a proposed ABA assignment beside `others`."""
    cm, current_cm = bcba("Casey Manager"), bcba("Cur Rent")
    existing = [assignment(current_cm, start, end) for start, end in others]
    check = assignment_check(
        book, assignment(cm, proposed_start, proposed_end, saved=False), cm, others=existing
    )
    return only(book.check_assignment(check), CODE)


@pytest.mark.parametrize(
    ("proposed", "existing", "overlap"),
    [
        # an open-ended existing assignment covers every later date
        (("2027-01-01", None), ("2026-01-01", None), True),
        (("2027-01-01", "2027-01-31"), ("2026-01-01", None), True),
        # an open-ended proposal reaches every later assignment
        (("2026-01-01", None), ("2027-01-01", "2027-01-31"), True),
        (("2026-01-01", None), ("2027-01-01", None), True),
        # touching on the same day overlaps: the end date is inclusive
        (("2026-03-06", None), ("2026-01-01", "2026-03-06"), True),
        (("2026-02-01", "2026-03-01"), ("2026-03-01", None), True),
        # the day after the end does not
        (("2026-03-07", None), ("2026-01-01", "2026-03-06"), False),
        (("2026-02-01", "2026-02-28"), ("2026-03-01", None), False),
        # containing or contained
        (("2026-01-01", "2026-12-31"), ("2026-03-01", "2026-03-31"), True),
        (("2026-03-10", "2026-03-20"), ("2026-03-01", "2026-03-31"), True),
        # a one-day assignment
        (("2026-03-15", "2026-03-15"), ("2026-03-15", "2026-03-15"), True),
        (("2026-03-16", "2026-03-16"), ("2026-03-15", "2026-03-15"), False),
    ],
)
def test_overlap_of_periods(
    book: RuleBook,
    proposed: tuple[str, str | None],
    existing: tuple[str, str | None],
    overlap: bool,
) -> None:
    assert bool(overlaps(book, *proposed, existing)) is overlap


def test_an_overlap_is_an_error_on_the_start_date_field(book: RuleBook) -> None:
    [found] = overlaps(book, "2026-03-06", None, ("2026-01-01", "2026-03-06"))

    assert found.severity is Severity.ERROR
    assert found.field == Field.START_DATE
    assert found.date == d("2026-03-06")
    assert found.service_line == "ABA"
    assert found.rule == "no_overlap"
    assert found.plugin == "cmgraph"
    assert "2026-01-01" in found.message


def test_the_finding_dates_the_first_day_both_assignments_hold(book: RuleBook) -> None:
    [found] = overlaps(book, "2026-01-01", None, ("2026-05-01", "2026-05-31"))

    assert found.date == d("2026-05-01")


def test_each_overlapping_assignment_is_named(book: RuleBook) -> None:
    history = [("2025-01-01", "2025-12-31"), ("2026-01-01", "2026-02-28"), ("2026-03-01", None)]

    found = overlaps(book, "2025-06-01", None, *history)

    assert len(found) == 3


def test_no_other_assignment_no_overlap(book: RuleBook) -> None:
    assert overlaps(book, "2026-03-07", None) == []


def test_the_edited_assignment_itself_is_not_an_overlap(book: RuleBook) -> None:
    cm = bcba()
    saved = assignment(cm, "2026-01-01", None)
    edited = assignment(cm, "2026-01-01", "2026-06-30", assignment_id=saved.id)

    check = assignment_check(book, edited, cm, others=[saved])

    assert only(book.check_assignment(check), CODE) == []


def test_editing_into_another_assignment_still_overlaps(book: RuleBook) -> None:
    cm, successor = bcba("Casey Manager"), bcba("Sue Successor")
    saved = assignment(cm, "2026-01-01", "2026-03-31")
    following = assignment(successor, "2026-04-01", None)
    extended = assignment(cm, "2026-01-01", "2026-04-01", assignment_id=saved.id)

    check = assignment_check(book, extended, cm, others=[saved, following])

    [found] = only(book.check_assignment(check), CODE)
    assert found.date == d("2026-04-01")
