"""Rule 3: the case manager must hold a current qualifying credential (DISCIPLINE_MISMATCH)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import pytest
from rulefacts import (
    appointment,
    assignment,
    assignment_check,
    codes,
    coverage,
    credential,
    d,
    only,
    payor,
    provider,
    session_check,
)

from cmgraph import hookimpl
from cmgraph.facts import Coverage, Field, Finding, Payor, Payors, Provider, Severity
from cmgraph.plugins import RuleBook, build_plugin_manager

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


def qualification_findings(
    book: RuleBook, cm: Provider, service_line: str = "ABA", start: date = START
) -> list[Finding]:
    check = assignment_check(
        book, assignment(cm, start, service_line=service_line, saved=False), cm
    )
    return [f for f in book.check_assignment(check) if f.code in {CODE, INACTIVE}]


@pytest.mark.parametrize(("service_line", "expected"), sorted(DEFAULTS.items()))
def test_default_qualifying_credentials_per_line(
    book: RuleBook, service_line: str, expected: set[str]
) -> None:
    assert book.qualifying_credentials(service_line, Payors(primary=None)) == expected
    assert book.service_lines[service_line].qualifying_credentials == expected


def test_a_line_nobody_configured_has_no_qualifying_credential(book: RuleBook) -> None:
    assert book.qualifying_credentials("XYZ", Payors(primary=None)) == frozenset()


@pytest.mark.parametrize(("service_line", "kind"), QUALIFIED)
def test_each_default_credential_qualifies_for_its_line(
    book: RuleBook, service_line: str, kind: str
) -> None:
    assert qualification_findings(book, provider(kind), service_line) == []


@pytest.mark.parametrize(("service_line", "kind"), NOT_QUALIFIED)
def test_a_credential_of_another_discipline_or_level_does_not_qualify(
    book: RuleBook, service_line: str, kind: str
) -> None:
    [found] = qualification_findings(book, provider(kind, name="Pat Provider"), service_line)

    assert found.code == CODE
    assert found.severity is Severity.ERROR
    assert found.field == Field.PROVIDER
    assert found.service_line == service_line
    assert found.date == START
    assert found.rule == "qualification"
    assert found.plugin == "cmgraph"
    assert "Pat Provider" in found.message


def test_a_provider_without_credentials_does_not_qualify(book: RuleBook) -> None:
    assert codes(qualification_findings(book, provider())) == [CODE]


def test_one_qualifying_credential_among_others_is_enough(book: RuleBook) -> None:
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
def test_the_credential_must_be_current_on_the_start_date(
    book: RuleBook, issued_on: date | None, expires_on: date | None, current: bool
) -> None:
    cm = provider(credential("BCBA", issued_on=issued_on, expires_on=expires_on))

    assert (qualification_findings(book, cm) == []) is current


def test_an_expired_credential_does_not_count_even_beside_a_renewal_that_starts_later(
    book: RuleBook,
) -> None:
    cm = provider(
        credential("BCBA", expires_on=DAY_BEFORE),
        credential("BCBA", issued_on=DAY_AFTER),
    )

    assert codes(qualification_findings(book, cm)) == [CODE]


@pytest.mark.parametrize("kind", ["bcba", "Bcba-D", "bCbA"])
def test_credential_types_are_compared_case_insensitively(book: RuleBook, kind: str) -> None:
    assert qualification_findings(book, provider(kind)) == []


def test_an_inactive_provider_cannot_be_case_manager(book: RuleBook) -> None:
    [found] = qualification_findings(book, provider("BCBA", name="Pat Provider", active=False))

    assert found.code == INACTIVE
    assert found.severity is Severity.ERROR
    assert found.field == Field.PROVIDER
    assert found.rule == "qualification"
    assert "Pat Provider" in found.message


def test_an_inactive_unqualified_provider_gets_both_findings(book: RuleBook) -> None:
    assert codes(qualification_findings(book, provider("RBT", active=False))) == [CODE, INACTIVE]


def test_an_unknown_line_qualifies_nobody(book: RuleBook) -> None:
    assert codes(qualification_findings(book, provider("BCBA"), service_line="XYZ")) == [CODE]


# --- in hindsight: the licence on every date of service (cmgraph_check_session) ---------
# The issue's story: a BCBA valid until 2027-01-31, ABA case manager from 2026-12-01.

OPENED = d("2026-12-01")
LAPSES = d("2027-01-31")


def at_nine(day: str) -> str:
    """09:00 New York winter time on day (the rule facts' clock is New York)."""
    return f"{day}T09:00-05:00"


def session_findings(
    book: RuleBook,
    cm: Provider,
    when: str,
    *,
    opened: date = OPENED,
    coverages: Iterable[Coverage] = (),
    line: str = "ABA",
) -> list[Finding]:
    """Rule 3's findings about a session at `when` (ISO with offset) under cm's assignment."""
    session = appointment(when, by=cm, service_line=line)
    check = session_check(
        book, session, assignment(cm, opened, service_line=line), coverages=coverages, cm=cm
    )
    return only(book.check_session(check), CODE)


def flagged_days(book: RuleBook, cm: Provider, days: list[str], **kwargs: Any) -> list[str]:
    """The days among `days` whose 09:00 session gets a DISCIPLINE_MISMATCH."""
    return [day for day in days if session_findings(book, cm, at_nine(day), **kwargs)]


def test_a_session_on_the_expiry_date_itself_is_clean_and_the_day_after_is_a_finding(
    book: RuleBook,
) -> None:
    cm = provider(credential("BCBA", expires_on=LAPSES), name="Pat Lapsed")

    assert session_findings(book, cm, at_nine("2027-01-31")) == []
    [found] = session_findings(book, cm, at_nine("2027-02-01"))

    assert found.severity is Severity.ERROR
    assert found.date == d("2027-02-01")
    assert (found.rule, found.plugin) == ("qualification", "cmgraph")
    assert found.service_line == "ABA"
    assert found.field is None  # about a session, not an input
    assert "Pat Lapsed" in found.message
    assert "BCBA, BCBA-D" in found.message


def test_the_issues_session_of_2027_02_10_is_a_finding_about_that_appointment(
    book: RuleBook,
) -> None:
    cm = provider(credential("BCBA", expires_on=LAPSES))
    session = appointment(at_nine("2027-02-10"), by=cm)
    check = session_check(book, session, assignment(cm, OPENED), cm=cm)

    [found] = only(book.check_session(check), CODE)

    assert found.appointment_id == session.id
    assert found.client_id == session.client_id
    assert found.date == d("2027-02-10")


def test_the_date_of_service_is_the_date_in_the_organizations_zone(book: RuleBook) -> None:
    cm = provider(credential("BCBA", expires_on=LAPSES))

    # 23:30 in New York on the expiry date is already 2027-02-01 in UTC: still valid.
    assert session_findings(book, cm, "2027-01-31T23:30-05:00") == []
    # 00:30 on 2027-02-01 in New York is still 2027-01-31 in Los Angeles, not here.
    assert codes(session_findings(book, cm, "2027-01-31T21:30-08:00")) == [CODE]


def test_a_credential_renewed_without_a_gap_makes_no_finding(book: RuleBook) -> None:
    cm = provider(
        credential("BCBA", expires_on=LAPSES),
        credential("BCBA", issued_on=d("2027-02-01"), expires_on=d("2029-01-31")),
    )
    days = ["2027-01-31", "2027-02-01", "2027-02-10", "2029-01-31"]

    assert flagged_days(book, cm, days) == []
    assert flagged_days(book, cm, ["2029-02-01"]) == ["2029-02-01"]  # the renewal lapses too


def test_a_credential_renewed_after_a_gap_makes_findings_only_in_the_gap(book: RuleBook) -> None:
    cm = provider(
        credential("BCBA", expires_on=LAPSES),
        credential("BCBA", issued_on=d("2027-02-15")),
    )
    days = ["2027-01-31", "2027-02-01", "2027-02-10", "2027-02-14", "2027-02-15", "2027-03-01"]

    assert flagged_days(book, cm, days) == ["2027-02-01", "2027-02-10", "2027-02-14"]


def test_a_credential_issued_after_the_assignment_started_makes_findings_before_it(
    book: RuleBook,
) -> None:
    cm = provider(credential("BCBA", issued_on=d("2027-01-10")))
    days = ["2026-12-01", "2027-01-09", "2027-01-10", "2027-02-10"]

    assert flagged_days(book, cm, days) == ["2026-12-01", "2027-01-09"]


def test_a_session_on_the_start_date_of_an_unqualified_cm_is_a_finding_as_rule_2_does(
    book: RuleBook,
) -> None:
    """The assignment-time finding blocked the write; one that exists anyway (migrated
    history, a credential corrected later) is reported per session, like NOT_CREDENTIALED."""
    cm = provider("RBT")

    assert codes(session_findings(book, cm, at_nine("2026-12-01"))) == [CODE]


def test_another_qualifying_credential_covers_the_lapse(book: RuleBook) -> None:
    cm = provider(credential("BCBA", expires_on=LAPSES), credential("BCBA-D"))

    assert flagged_days(book, cm, ["2027-02-01", "2027-02-10"]) == []


def test_an_unqualifying_credential_does_not_cover_the_lapse(book: RuleBook) -> None:
    cm = provider(credential("BCBA", expires_on=LAPSES), credential("BCaBA"), credential("RBT"))

    assert flagged_days(book, cm, ["2027-02-01"]) == ["2027-02-01"]


def test_each_line_is_judged_by_its_own_list(book: RuleBook) -> None:
    cm = provider(credential("SLP", expires_on=LAPSES), credential("BCBA"))

    assert session_findings(book, cm, at_nine("2027-02-01"), line="ABA") == []
    assert codes(session_findings(book, cm, at_nine("2027-02-01"), line="ST")) == [CODE]


def test_a_date_billing_asks_about_without_a_session_is_judged_too(book: RuleBook) -> None:
    cm = provider(credential("BCBA", expires_on=LAPSES))
    check = session_check(book, None, assignment(cm, OPENED), day=d("2027-02-10"), cm=cm)

    [found] = only(book.check_session(check), CODE)

    assert found.appointment_id is None
    assert found.date == d("2027-02-10")


def test_a_session_without_a_case_manager_gets_no_discipline_finding(book: RuleBook) -> None:
    substitute = provider(credential("BCBA", expires_on=LAPSES))
    session = appointment(at_nine("2027-02-10"), by=substitute)

    assert only(book.check_session(session_check(book, session, None)), CODE) == []


def test_the_deliverer_is_not_judged_only_the_case_manager(book: RuleBook) -> None:
    cm, substitute = provider("BCBA"), provider(credential("BCBA", expires_on=LAPSES))
    session = appointment(at_nine("2027-02-10"), by=substitute)
    check = session_check(book, session, assignment(cm, OPENED), cm=cm)

    assert only(book.check_session(check), CODE) == []


# --- payor plugins narrow or widen the list on the date of service too ---


class AnalystsOrAssistants:
    """Widens ABA to BCaBA for the payors that name it."""

    name = "analysts_or_assistants"

    @hookimpl
    def cmgraph_qualifying_credentials(
        self, service_line: str, payor: Payor | None
    ) -> frozenset[str] | None:
        return frozenset({"BCBA", "BCBA-D", "BCABA"}) if service_line == "ABA" else None


class DoctoralOnly:
    """Narrows ABA to BCBA-D for the payors that name it."""

    name = "doctoral_only"

    @hookimpl
    def cmgraph_qualifying_credentials(
        self, service_line: str, payor: Payor | None
    ) -> frozenset[str] | None:
        return frozenset({"BCBA-D"}) if service_line == "ABA" else None


@pytest.fixture
def plugged() -> RuleBook:
    pm = build_plugin_manager()
    for plugin in (AnalystsOrAssistants(), DoctoralOnly()):
        pm.register(plugin, name=plugin.name)
    return RuleBook(pm)


WIDENING = payor("Wide Care", plugins=["analysts_or_assistants"])
NARROWING = payor("Doctoral Health", plugins=["doctoral_only"])
PLAIN = payor("Plain Plan")


def test_a_payor_widening_the_list_keeps_another_credential_qualifying(plugged: RuleBook) -> None:
    cm = provider(credential("BCBA", expires_on=LAPSES), credential("BCaBA"))

    widened = flagged_days(plugged, cm, ["2027-02-10"], coverages=[coverage(WIDENING)])
    plain = flagged_days(plugged, cm, ["2027-02-10"], coverages=[coverage(PLAIN)])

    assert widened == []
    assert plain == ["2027-02-10"]  # a payor not naming the plugin keeps the defaults


def test_a_payor_narrowing_the_list_makes_a_default_credential_a_finding(plugged: RuleBook) -> None:
    cm = provider("BCBA")

    narrowed = session_findings(plugged, cm, at_nine("2027-02-10"), coverages=[coverage(NARROWING)])

    assert codes(narrowed) == [CODE]
    assert "(qualifying: BCBA-D)" in narrowed[0].message


def test_the_payors_of_the_date_of_service_decide_not_those_of_the_start_date(
    plugged: RuleBook,
) -> None:
    """A BCaBA CM while the widening payor was primary; from 2027-02-01 the client's plan
    keeps the defaults, and the BCaBA no longer qualifies for its sessions."""
    cm = provider("BCaBA")
    coverages = [
        coverage(WIDENING, effective_from=d("2026-01-01"), effective_to=LAPSES),
        coverage(PLAIN, effective_from=d("2027-02-01")),
    ]
    days = ["2027-01-31", "2027-02-01"]

    assert flagged_days(plugged, cm, days, coverages=coverages) == ["2027-02-01"]


def test_across_the_payors_of_the_date_only_what_every_one_accepts_qualifies(
    plugged: RuleBook,
) -> None:
    """As on a write: a secondary payor that keeps the defaults still rules a BCaBA out."""
    cm = provider("BCaBA")
    both = [coverage(WIDENING, 1), coverage(PLAIN, 2)]

    assert flagged_days(plugged, cm, ["2027-02-10"], coverages=both) == ["2027-02-10"]
