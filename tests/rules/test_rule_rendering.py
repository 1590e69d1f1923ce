"""Rule 1: the case manager on the date of service is the rendering provider."""

from __future__ import annotations

from rulefacts import appointment, assignment, bcba, d, session_check

from cmgraph.plugins import RuleBook


def test_case_manager_renders_a_session_they_delivered(book: RuleBook) -> None:
    cm = bcba()
    session = appointment("2026-03-10T09:00-04:00", by=cm)

    check = session_check(book, session, assignment(cm, "2026-03-01"))

    assert book.claim(check).rendering_provider_id == cm.id


def test_case_manager_renders_a_session_a_substitute_delivered(book: RuleBook) -> None:
    cm, substitute = bcba("Casey Manager"), bcba("Sam Substitute")
    session = appointment("2026-03-10T09:00-04:00", by=substitute)

    check = session_check(book, session, assignment(cm, "2026-03-01"))

    assert book.claim(check).rendering_provider_id == cm.id
    assert book.claim(check).rendering_provider_id != substitute.id


def test_a_substitute_session_asks_for_no_change_of_case_manager(book: RuleBook) -> None:
    cm, substitute = bcba("Casey Manager"), bcba("Sam Substitute")
    session = appointment("2026-03-10T09:00-04:00", by=substitute)

    check = session_check(book, session, assignment(cm, "2026-03-01"))

    assert book.check_session(check) == []


def test_nobody_renders_when_no_case_manager_covers_the_date(book: RuleBook) -> None:
    session = appointment("2026-03-10T09:00-04:00", by=bcba())

    check = session_check(book, session, None)

    assert book.claim(check).rendering_provider_id is None


def test_billing_may_ask_about_a_date_without_naming_a_session(book: RuleBook) -> None:
    cm = bcba()
    cm_assignment = assignment(cm, "2026-03-01", "2026-03-31")

    check = session_check(book, None, cm_assignment, day=d("2026-03-15"))

    assert book.claim(check).rendering_provider_id == cm.id
    uncovered = session_check(book, None, None, day=d("2026-04-01"))
    assert book.claim(uncovered).rendering_provider_id is None


def test_a_claim_line_has_no_supervising_provider_and_no_modifiers_by_default(
    book: RuleBook,
) -> None:
    cm, substitute = bcba("Casey Manager"), bcba("Sam Substitute")
    session = appointment("2026-03-10T09:00-04:00", by=substitute)

    claim = book.claim(session_check(book, session, assignment(cm, "2026-03-01")))

    assert (claim.supervising_provider_id, claim.modifiers) == (None, ())
