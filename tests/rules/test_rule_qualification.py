"""Rule 3: the case manager must hold a current qualifying credential (DISCIPLINE_MISMATCH)."""

from __future__ import annotations

import pytest
from rulefacts import assignment, assignment_check, codes, credential, d, provider

from cmgraph.facts import Payors, Severity

CODE = "DISCIPLINE_MISMATCH"
INACTIVE = "PROVIDER_INACTIVE"
START = d("2026-03-07")
DAY_BEFORE, DAY_AFTER = d("2026-03-06"), d("2026-03-08")

DEFAULTS = {
    "ABA": {"BCBA", "BCBA-D"},
    "ST": {"SLP"},
    "OT": {"OTR"},
    "PT": {"PT"},
    "MH": {"LPC", "LCSW", "LMFT", "PSYCHOLOGIST"},
}
QUALIFIED = [(line, kind) for line, kinds in DEFAULTS.items() for kind in sorted(kinds)]
NOT_QUALIFIED = [
    ("ABA", "BCaBA"),
    ("ABA", "RBT"),
    ("ABA", "SLP"),
    ("ST", "SLPA"),
    ("ST", "BCBA"),
    ("OT", "COTA"),
    ("OT", "PT"),
    ("PT", "PTA"),
    ("PT", "OTR"),
    ("MH", "LMSW"),
    ("MH", "BCBA"),
]


def qualification_findings(book, cm, service_line="ABA", start=START):
    check = assignment_check(
        book, assignment(cm, start, service_line=service_line, saved=False), cm
    )
    return [f for f in book.check_assignment(check) if f.code in {CODE, INACTIVE}]


@pytest.mark.parametrize(("service_line", "expected"), sorted(DEFAULTS.items()))
def test_default_qualifying_credentials_per_line(book, service_line, expected):
    assert book.qualifying_credentials(service_line, Payors(primary=None)) == expected
    assert book.service_lines[service_line].qualifying_credentials == expected


def test_a_line_nobody_configured_has_no_qualifying_credential(book):
    assert book.qualifying_credentials("XYZ", Payors(primary=None)) == frozenset()


@pytest.mark.parametrize(("service_line", "kind"), QUALIFIED)
def test_each_default_credential_qualifies_for_its_line(book, service_line, kind):
    assert qualification_findings(book, provider(kind), service_line) == []


@pytest.mark.parametrize(("service_line", "kind"), NOT_QUALIFIED)
def test_a_credential_of_another_discipline_or_level_does_not_qualify(book, service_line, kind):
    [found] = qualification_findings(book, provider(kind, name="Pat Provider"), service_line)

    assert found.code == CODE
    assert found.severity is Severity.ERROR
    assert found.field == ("input", "providerId")
    assert found.service_line == service_line
    assert found.date == START
    assert found.rule == "qualification"
    assert found.plugin == "cmgraph"
    assert "Pat Provider" in found.message


def test_a_provider_without_credentials_does_not_qualify(book):
    assert codes(qualification_findings(book, provider())) == [CODE]


def test_one_qualifying_credential_among_others_is_enough(book):
    assert qualification_findings(book, provider("RBT", "BCaBA", "BCBA")) == []


@pytest.mark.parametrize(
    ("issued_on", "expires_on", "current"),
    [
        (None, DAY_BEFORE, False),  # expired the day before the start date
        (None, START, True),  # expires on the start date: still current that day
        (None, DAY_AFTER, True),
        (DAY_AFTER, None, False),  # issued after the start date
        (START, None, True),  # issued on the start date
        (DAY_BEFORE, DAY_AFTER, True),
    ],
)
def test_the_credential_must_be_current_on_the_start_date(book, issued_on, expires_on, current):
    cm = provider(credential("BCBA", issued_on=issued_on, expires_on=expires_on))

    assert (qualification_findings(book, cm) == []) is current


def test_an_expired_credential_does_not_count_even_beside_a_renewal_that_starts_later(book):
    cm = provider(
        credential("BCBA", expires_on=DAY_BEFORE),
        credential("BCBA", issued_on=DAY_AFTER),
    )

    assert codes(qualification_findings(book, cm)) == [CODE]


@pytest.mark.parametrize("kind", ["bcba", "Bcba-D", "bCbA"])
def test_credential_types_are_compared_case_insensitively(book, kind):
    assert qualification_findings(book, provider(kind)) == []


def test_an_inactive_provider_cannot_be_case_manager(book):
    [found] = qualification_findings(book, provider("BCBA", name="Pat Provider", active=False))

    assert found.code == INACTIVE
    assert found.severity is Severity.ERROR
    assert found.field == ("input", "providerId")
    assert found.rule == "qualification"
    assert "Pat Provider" in found.message


def test_an_inactive_unqualified_provider_gets_both_findings(book):
    assert codes(qualification_findings(book, provider("RBT", active=False))) == [CODE, INACTIVE]


def test_an_unknown_line_qualifies_nobody(book):
    assert codes(qualification_findings(book, provider("BCBA"), service_line="XYZ")) == [CODE]
