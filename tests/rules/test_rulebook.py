"""The RuleBook: rule listing, findings' provenance and combining payor plugins' answers."""

from __future__ import annotations

import re
from collections.abc import Generator
from datetime import date, timedelta
from uuid import UUID

import pytest
from rulefacts import (
    appointment,
    assignment,
    assignment_check,
    bcba,
    codes,
    coverage,
    credential,
    current_check,
    d,
    enrollment,
    only,
    payor,
    provider,
    removal_check,
    session_check,
)

from cmgraph import hookimpl
from cmgraph.facts import (
    AppointmentStatus,
    Choice,
    Enrollment,
    EnrollmentStatus,
    Field,
    Finding,
    Payor,
    PayorRole,
    Payors,
    Provider,
    RuleInfo,
    SessionCheck,
    Severity,
)
from cmgraph.plugins import RuleBook, build_plugin_manager

BUILT_IN_CODES = {
    "NOT_CREDENTIALED",
    "DISCIPLINE_MISMATCH",
    "PROVIDER_INACTIVE",
    "LEAD_TIME",
    "OVERLAPPING_ASSIGNMENT",
    "NO_CASE_MANAGER",
    "NOT_FAMILIAR",
    "ASSIGNMENT_IN_USE",
    "CREDENTIAL_EXPIRING",
    "ENROLLMENT_ENDING",
}
DEFAULT_ABA = {"BCBA", "BCBA-D"}


# --- two payor plugins, each applying only to payors whose `plugins` name it ---


class StrictPayor:
    """Wants 48 h of lead time and a doctoral BCBA for ABA."""

    name = "strict_payor"

    def _mine(self, payor: Payor | None) -> bool:
        return payor is not None and self.name in payor.plugins

    @hookimpl
    def cmgraph_rules(self) -> list[RuleInfo]:
        return [
            RuleInfo(
                name="strict_lead_time",
                plugin=self.name,
                codes=("LEAD_TIME",),
                description="48 hours of lead time; ABA case managers must be BCBA-D.",
                applies_to_all_payors=False,
            )
        ]

    @hookimpl
    def cmgraph_lead_time(self, service_line: str, payor: Payor | None) -> timedelta | None:
        return timedelta(hours=48) if self._mine(payor) else None

    @hookimpl
    def cmgraph_qualifying_credentials(
        self, service_line: str, payor: Payor | None
    ) -> frozenset[str] | None:
        if self._mine(payor) and service_line == "ABA":
            return frozenset({"BCBA-D"})
        return None


class LenientPayor:
    """No lead time, BCaBAs may manage ABA, pending enrollments count, the deliverer renders."""

    name = "lenient_payor"

    def _mine(self, payor: Payor | None) -> bool:
        return payor is not None and self.name in payor.plugins

    @hookimpl
    def cmgraph_lead_time(self, service_line: str, payor: Payor | None) -> timedelta | None:
        return timedelta(0) if self._mine(payor) else None

    @hookimpl
    def cmgraph_qualifying_credentials(
        self, service_line: str, payor: Payor | None
    ) -> frozenset[str] | None:
        if self._mine(payor) and service_line == "ABA":
            return frozenset({"bcba", "bcba-d", "bcaba"})  # any case: the book upper-cases
        return None

    @hookimpl
    def cmgraph_enrollment_qualifies(
        self, enrollment: Enrollment, day: date, payor: Payor
    ) -> bool | None:
        if self._mine(payor) and enrollment.status is EnrollmentStatus.PENDING:
            return True
        return None

    @hookimpl
    def cmgraph_rendering_provider(self, check: SessionCheck) -> Choice | None:
        if any(self._mine(p) for p in check.payors.all) and check.appointment is not None:
            return Choice(check.appointment.provider_id)
        return None


@pytest.fixture
def plugged() -> RuleBook:
    pm = build_plugin_manager()
    pm.register(StrictPayor(), name=StrictPayor.name)
    pm.register(LenientPayor(), name=LenientPayor.name)
    return RuleBook(pm)


STRICT = payor("Strict Health", plugins=["strict_payor"])
LENIENT = payor("Lenient Care", plugins=["lenient_payor"])
PLAIN = payor("Plain Plan")
UNRELATED = payor("Unrelated Plan", plugins=["some_other_plugin"])


def payors(*chosen: Payor) -> Payors:
    return Payors(primary=chosen[0], secondary=chosen[1:]) if chosen else Payors(primary=None)


# --- lead time: the longest wins ---


@pytest.mark.parametrize(
    ("chosen", "hours"),
    [
        ((), 24),
        ((PLAIN,), 24),
        ((UNRELATED,), 24),
        ((STRICT,), 48),
        ((PLAIN, STRICT), 48),  # a secondary payor's stricter lead time still applies
        ((STRICT, PLAIN), 48),
        ((LENIENT,), 0),  # a plugin's answer beats the trylast default
        ((LENIENT, PLAIN), 24),  # ... but not another payor's longer lead time
        ((LENIENT, STRICT), 48),
    ],
)
def test_the_longest_lead_time_across_payors_wins(
    plugged: RuleBook, chosen: tuple[Payor, ...], hours: int
) -> None:
    assert plugged.lead_time("ABA", payors(*chosen)) == timedelta(hours=hours)


def test_a_payor_listing_its_plugins_in_a_list_is_answered_alike(plugged: RuleBook) -> None:
    """Payor.plugins is a tuple, but a plugin author's test may well write a list."""
    listed = Payor(id=STRICT.id, name=STRICT.name, kind=STRICT.kind, plugins=["strict_payor"])  # type: ignore[arg-type]
    assert plugged.lead_time("ABA", payors(listed)) == timedelta(hours=48)


def test_a_payor_plugin_does_not_change_the_built_in_book(book: RuleBook) -> None:
    assert book.lead_time("ABA", payors(STRICT)) == timedelta(hours=24)
    assert book.lead_time("ABA", payors(LENIENT)) == timedelta(hours=24)


# --- qualifying credentials: only what every payor accepts ---


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        ((), DEFAULT_ABA),
        ((PLAIN,), DEFAULT_ABA),
        ((UNRELATED,), DEFAULT_ABA),
        ((STRICT,), {"BCBA-D"}),  # narrowed
        ((PLAIN, STRICT), {"BCBA-D"}),
        ((LENIENT,), {"BCBA", "BCBA-D", "BCABA"}),  # widened, and upper-cased
        ((LENIENT, PLAIN), DEFAULT_ABA),  # widening for one payor only
        ((LENIENT, STRICT), {"BCBA-D"}),
    ],
)
def test_the_narrowest_credentials_across_payors_win(
    plugged: RuleBook, chosen: tuple[Payor, ...], expected: set[str]
) -> None:
    assert plugged.qualifying_credentials("ABA", payors(*chosen)) == expected


def test_a_plugin_narrowing_one_line_leaves_the_others_alone(plugged: RuleBook) -> None:
    assert plugged.qualifying_credentials("ST", payors(STRICT)) == {"SLP"}
    assert plugged.qualifying_credentials("MH", payors(LENIENT, STRICT)) == {
        "LPC",
        "LCSW",
        "LMFT",
        "PSYCHOLOGIST",
    }


# --- the same scenario under different payors ---


def scenario(
    book: RuleBook, with_payor: Payor, cm: Provider, first_session: str = "2026-03-08T09:00-05:00"
) -> list[Finding]:
    """A new ABA assignment from 2026-03-07 (New York), the client covered by `with_payor`."""
    check = assignment_check(
        book,
        assignment(cm, "2026-03-07", saved=False),
        cm,
        coverages=[coverage(with_payor)],
        enrollments=[enrollment(cm, with_payor)],
        appointments=[appointment(first_session, by=cm, status=AppointmentStatus.SCHEDULED)],
    )
    return book.check_assignment(check)


def test_a_strict_payor_rejects_what_the_defaults_accept(plugged: RuleBook) -> None:
    # A BCBA starting 33 h before the first session.
    found = scenario(plugged, STRICT, bcba())

    assert codes(found) == ["DISCIPLINE_MISMATCH", "LEAD_TIME"]
    [lead_time] = only(found, "LEAD_TIME")
    assert "48 h" in lead_time.message


@pytest.mark.parametrize("other", [PLAIN, UNRELATED])
def test_the_same_scenario_for_another_payor_is_untouched(plugged: RuleBook, other: Payor) -> None:
    assert scenario(plugged, other, bcba()) == []


def test_a_lenient_payor_accepts_what_the_defaults_reject(
    plugged: RuleBook, book: RuleBook
) -> None:
    bcaba = provider("BCaBA")
    same_day = "2026-03-07T15:00-05:00"

    assert scenario(plugged, LENIENT, bcaba, same_day) == []
    assert codes(scenario(plugged, PLAIN, bcaba, same_day)) == ["DISCIPLINE_MISMATCH", "LEAD_TIME"]
    assert codes(scenario(book, LENIENT, bcaba, same_day)) == ["DISCIPLINE_MISMATCH", "LEAD_TIME"]


# --- one-answer hooks: a plugin's answer beats the trylast default ---


def test_a_plugin_may_count_an_enrollment_the_default_would_not(
    plugged: RuleBook, book: RuleBook
) -> None:
    cm = bcba()
    pending_lenient = enrollment(cm, LENIENT, EnrollmentStatus.PENDING)
    pending_plain = enrollment(cm, PLAIN, EnrollmentStatus.PENDING)

    assert plugged.credentialed([pending_lenient], cm.id, LENIENT, d("2026-03-07"))
    assert not plugged.credentialed([pending_plain], cm.id, PLAIN, d("2026-03-07"))
    assert not book.credentialed([pending_lenient], cm.id, LENIENT, d("2026-03-07"))


def test_a_plugin_may_make_the_deliverer_the_rendering_provider(
    plugged: RuleBook, book: RuleBook
) -> None:
    cm, substitute = bcba("Casey Manager"), bcba("Sam Substitute")
    session = appointment("2026-03-10T09:00-04:00", by=substitute)
    cm_assignment = assignment(cm, "2026-03-01")

    def renders(rule_book: RuleBook, with_payor: Payor | None) -> UUID | None:
        coverages = [coverage(with_payor)] if with_payor else []
        return rule_book.claim(
            session_check(rule_book, session, cm_assignment, coverages=coverages)
        ).rendering_provider_id

    assert renders(plugged, LENIENT) == substitute.id
    assert renders(plugged, PLAIN) == cm.id
    assert renders(plugged, None) == cm.id
    assert renders(book, LENIENT) == cm.id


def test_payor_plugins_are_listed_and_built_in_rules_are_not(plugged: RuleBook) -> None:
    names = plugged.plugin_names()

    assert {"strict_payor", "lenient_payor"} <= names
    assert not any(name.startswith("cmgraph.") for name in names)


def test_a_payor_rule_is_listed_as_not_applying_to_all_payors(plugged: RuleBook) -> None:
    [strict] = [info for info in plugged.rules() if info.plugin == "strict_payor"]

    assert strict.applies_to_all_payors is False


# --- switching a built-in rule off ---


def test_a_disabled_built_in_rule_neither_fires_nor_is_listed() -> None:
    without_lead_time = RuleBook(build_plugin_manager(disabled=["cmgraph.lead_time"]))
    cm = bcba()

    assert scenario(without_lead_time, PLAIN, cm, "2026-03-07T15:00-05:00") == []
    assert "LEAD_TIME" not in {c for info in without_lead_time.rules() for c in info.codes}


# --- the rules listing ---


def test_every_built_in_rule_is_well_formed(book: RuleBook) -> None:
    infos = book.rules()

    assert infos
    for info in infos:
        assert isinstance(info, RuleInfo)
        assert re.fullmatch(r"[a-z][a-z_]*", info.name), info
        assert info.plugin == "cmgraph", info
        assert isinstance(info.codes, tuple), info
        assert all(re.fullmatch(r"[A-Z][A-Z_]*", code) for code in info.codes), info
        assert len(info.description) > 20, info
        assert info.applies_to_all_payors is True, info
    names = [info.name for info in infos]
    assert len(names) == len(set(names))


def test_the_built_in_rules_list_every_code_of_the_domain_once(book: RuleBook) -> None:
    listed = [code for info in book.rules() for code in info.codes]

    assert set(listed) == BUILT_IN_CODES
    assert len(listed) == len(set(listed))


def test_the_built_in_service_lines(book: RuleBook) -> None:
    assert set(book.service_lines) == {"ABA", "ST", "OT", "PT", "MH"}
    for code, line in book.service_lines.items():
        assert line.code == code
        assert line.name
        assert line.qualifying_credentials


# --- every finding says what it is and where it came from ---


def every_kind_of_finding(book: RuleBook) -> list[Finding]:
    cm, other = provider("RBT", name="Casey Manager", active=False), bcba("Other Therapist")
    primary, secondary = payor("Acme Health"), payor("State Medicaid")
    coverages = [coverage(primary, 1), coverage(secondary, 2)]
    earlier = assignment(other, "2026-01-01", None)
    proposed = assignment(cm, "2026-03-07", saved=False)
    before = appointment("2026-03-01T10:00-05:00", by=other)
    too_soon = appointment("2026-03-07T15:00-05:00", by=other)
    sessions = [before, too_soon]

    on_assignment = book.check_assignment(
        assignment_check(
            book, proposed, cm, coverages=coverages, appointments=sessions, others=[earlier]
        )
    )
    on_session = book.check_session(
        session_check(book, too_soon, assignment(cm, "2026-03-07"), coverages=coverages)
    )
    gap = book.check_session(session_check(book, too_soon, None))
    on_removal = book.check_removal(removal_check(earlier, appointments=sessions))
    expiring = provider(credential("BCBA", expires_on=d("2026-04-01")), name="Casey Manager")
    ending = enrollment(expiring, primary, effective_to=d("2026-04-15"))
    ahead = book.check_current_assignment(
        current_check(
            book,
            assignment(expiring, "2026-01-01"),
            expiring,
            "2026-03-10",
            coverages=coverages,
            enrollments=[ending],
        )
    )
    return on_assignment + on_session + gap + on_removal + ahead


def test_the_scenario_produces_every_built_in_code(book: RuleBook) -> None:
    assert {f.code for f in every_kind_of_finding(book)} == BUILT_IN_CODES


def test_every_finding_carries_code_severity_message_rule_and_plugin(book: RuleBook) -> None:
    listed = {(info.name, info.plugin): set(info.codes) for info in book.rules()}

    for found in every_kind_of_finding(book):
        assert found.code in BUILT_IN_CODES, found
        assert isinstance(found.severity, Severity), found
        assert found.message.strip() and found.message[0].isupper(), found
        assert found.message.endswith("."), found
        assert found.plugin == "cmgraph", found
        assert found.code in listed[(found.rule, found.plugin)], found
        assert found.client_id is not None, found
        assert found.service_line == "ABA", found
        assert found.date is not None, found
        # Built-in rules name the fact they concern, never a GraphQL input path.
        assert found.field is None or isinstance(found.field, Field), found


# --- a payor plugin is told which payor it is reached for, and in what role ---


class SecondaryWrapper:
    """Drops every NOT_CREDENTIALED finding it is handed, and says who it was asked for."""

    name = "secondary_wrapper"

    def __init__(self) -> None:
        self.asked: list[tuple[str, PayorRole]] = []

    @hookimpl(specname="cmgraph_check_session")
    def record(
        self, check: SessionCheck, payor: Payor | None, role: PayorRole | None
    ) -> list[Finding]:
        assert payor is not None and role is not None  # reached for a named payor only
        self.asked.append((payor.name, role))
        return []

    @hookimpl(wrapper=True)
    def cmgraph_check_session(
        self, check: SessionCheck
    ) -> Generator[None, list[Finding], list[Finding]]:
        findings = yield
        return [f for f in findings if f.code != "NOT_CREDENTIALED"]


def test_a_wrapper_reached_for_a_secondary_payor_keeps_the_primarys_findings() -> None:
    wrapper, plain = SecondaryWrapper(), payor("Primary Plan")
    naming = payor("Secondary Plan", plugins=["secondary_wrapper"])
    pm = build_plugin_manager()
    pm.register(wrapper, name=wrapper.name)
    book = RuleBook(pm)
    cm = bcba()
    check = session_check(
        book,
        appointment("2026-03-10T09:00-04:00", by=cm),
        assignment(cm, "2026-03-01"),
        coverages=[coverage(plain, 1), coverage(naming, 2)],
    )

    found = book.check_session(check)

    assert [(f.code, f.payor_id) for f in found] == [("NOT_CREDENTIALED", plain.id)]
    assert wrapper.asked == [("Secondary Plan", PayorRole.SECONDARY)]
