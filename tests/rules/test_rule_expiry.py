"""Expiry warnings (CREDENTIAL_EXPIRING, ENROLLMENT_ENDING): counted from today."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import pytest
from rulefacts import (
    assignment,
    codes,
    coverage,
    credential,
    current_check,
    d,
    enrollment,
    payor,
    provider,
)

from cmgraph import hookimpl
from cmgraph.facts import (
    Coverage,
    Credential,
    Enrollment,
    EnrollmentStatus,
    ExpiryKind,
    Finding,
    Payor,
    Provider,
    Severity,
)
from cmgraph.plugins import RuleBook, build_plugin_manager

TODAY = "2026-03-10"
ACME = payor("Acme Health")


def cm_with(*credentials: str | Credential) -> Provider:
    return provider(*credentials, name="Casey Manager")


def findings(
    book: RuleBook,
    cm: Provider,
    *,
    end: str | None = None,
    coverages: Iterable[Coverage] = (),
    enrollments: Iterable[Enrollment] = (),
    today: str = TODAY,
) -> list[Finding]:
    current = assignment(cm, "2026-01-01", end)
    check = current_check(book, current, cm, today, coverages=coverages, enrollments=enrollments)
    return book.check_current_assignment(check)


@pytest.mark.parametrize(
    ("expires_on", "warned"),
    [("2026-03-10", True), ("2026-05-09", True), ("2026-05-10", False)],
    ids=["today", "day-60", "day-61"],
)
def test_a_qualifying_credential_expiring_within_60_days_warns(
    book: RuleBook, expires_on: str, warned: bool
) -> None:
    cm = cm_with(credential("BCBA", expires_on=d(expires_on)))

    found = findings(book, cm)

    assert codes(found) == (["CREDENTIAL_EXPIRING"] if warned else [])
    if warned:
        assert found[0].severity is Severity.WARNING
        assert found[0].date == d(expires_on)


def test_a_renewal_on_file_means_nothing_expires(book: RuleBook) -> None:
    cm = cm_with(
        credential("BCBA", expires_on=d("2026-03-31")),
        credential("BCBA", issued_on=d("2026-04-01"), expires_on=d("2028-03-31")),
    )

    assert findings(book, cm) == []


def test_a_renewal_after_a_gap_does_not_hide_the_expiry(book: RuleBook) -> None:
    cm = cm_with(
        credential("BCBA", expires_on=d("2026-03-31")),
        credential("BCBA", issued_on=d("2026-04-05"), expires_on=d("2028-03-31")),
    )

    [found] = findings(book, cm)

    assert (found.code, found.date) == ("CREDENTIAL_EXPIRING", d("2026-03-31"))


def test_a_credential_that_does_not_qualify_for_the_line_is_not_watched(book: RuleBook) -> None:
    cm = cm_with("BCBA", credential("RBT", expires_on=d("2026-03-20")))

    assert findings(book, cm) == []


def test_an_assignment_ending_before_the_expiry_needs_no_warning(book: RuleBook) -> None:
    cm = cm_with(credential("BCBA", expires_on=d("2026-04-01")))

    assert findings(book, cm, end="2026-03-31") == []
    assert codes(findings(book, cm, end="2026-04-02")) == ["CREDENTIAL_EXPIRING"]


@pytest.mark.parametrize(
    ("effective_to", "warned"), [("2026-05-09", True), ("2026-05-10", False), (None, False)]
)
def test_an_enrollment_with_the_clients_payor_ending_within_60_days_warns(
    book: RuleBook, effective_to: str | None, warned: bool
) -> None:
    cm = cm_with("BCBA")
    ending = enrollment(cm, ACME, effective_to=d(effective_to) if effective_to else None)

    found = findings(book, cm, coverages=[coverage(ACME)], enrollments=[ending])

    assert codes(found) == (["ENROLLMENT_ENDING"] if warned else [])
    if warned:
        assert "Acme Health" in found[0].message


def test_a_contiguous_renewal_of_the_enrollment_means_nothing_ends(book: RuleBook) -> None:
    cm = cm_with("BCBA")
    enrollments = [
        enrollment(cm, ACME, effective_to=d("2026-03-31")),
        enrollment(cm, ACME, effective_from=d("2026-04-01"), effective_to=None),
    ]

    assert findings(book, cm, coverages=[coverage(ACME)], enrollments=enrollments) == []


def test_a_pending_renewal_does_not_count(book: RuleBook) -> None:
    cm = cm_with("BCBA")
    enrollments = [
        enrollment(cm, ACME, effective_to=d("2026-03-31")),
        enrollment(cm, ACME, EnrollmentStatus.PENDING, effective_from=d("2026-04-01")),
    ]

    found = findings(book, cm, coverages=[coverage(ACME)], enrollments=enrollments)

    assert [(f.code, f.date) for f in found] == [("ENROLLMENT_ENDING", d("2026-03-31"))]


def test_an_enrollment_with_a_payor_the_client_does_not_have_is_not_watched(book: RuleBook) -> None:
    cm, other = cm_with("BCBA"), payor("Other Plan")
    ending = enrollment(cm, other, effective_to=d("2026-03-20"))

    assert findings(book, cm, coverages=[coverage(ACME)], enrollments=[ending]) == []


class LongNotice:
    """A payor that wants 120 days of notice before an enrollment ends."""

    name = "long_notice"

    @hookimpl
    def cmgraph_expiry_window(self, kind: ExpiryKind, payor: Payor | None) -> timedelta | None:
        if payor is not None and self.name in payor.plugins and kind == "enrollment":
            return timedelta(days=120)
        return None


def test_a_payor_plugin_may_widen_the_warning_window_for_its_payor_only() -> None:
    pm = build_plugin_manager()
    pm.register(LongNotice(), name=LongNotice.name)
    book = RuleBook(pm)
    cm = cm_with("BCBA")
    noticed, plain = payor("Noticed", plugins=["long_notice"]), payor("Plain")

    def warned(with_payor: Payor) -> list[str]:
        ending = enrollment(cm, with_payor, effective_to=d("2026-06-30"))  # 112 days ahead
        found = findings(book, cm, coverages=[coverage(with_payor)], enrollments=[ending])
        return codes(found)

    assert warned(noticed) == ["ENROLLMENT_ENDING"]
    assert warned(plain) == []
