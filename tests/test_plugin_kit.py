"""What a payor plugin can do, shown with the fixtures plugin authors get (cmgraph.testing):
each kind of hook changes outcomes for the payor that names the plugin and nobody else."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Generator
from datetime import datetime, timedelta
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from kit_support import _ok, add_cm, practice, session
from pytest import LogCaptureFixture

from cmgraph import hookimpl
from cmgraph.facts import (
    AssignmentCheck,
    Choice,
    CurrentAssignmentCheck,
    Enrollment,
    EnrollmentStatus,
    Finding,
    PayorKind,
    Payors,
    Provider,
    RemovalCheck,
    RuleInfo,
    ServiceLine,
    SessionCheck,
    Severity,
)
from cmgraph.facts import Payor as FactPayor
from cmgraph.logs import JsonFormatter
from cmgraph.plugins import RuleBook, build_plugin_manager
from cmgraph.testing import GraphQLClient
from cmgraph.testing import builders as b

CLAIMS = """query($client: ID) {
  claimLines(from: "2026-03-01", to: "2026-03-31", clientId: $client) { edges { node {
    renderingProvider { id } supervisingProvider { id } modifiers findings { code plugin }
  } } }
}"""


class SlowPayor:
    """Wants three days' notice of a new case manager."""

    name = "slow_payor"

    @hookimpl
    def cmgraph_lead_time(self, service_line: str, payor: FactPayor | None) -> timedelta | None:
        return timedelta(hours=72)


@pytest.mark.cmgraph_plugins(SlowPayor())
async def test_a_one_answer_hook_changes_the_lead_time_for_the_payor_naming_it(
    cmgraph_graphql: GraphQLClient,
) -> None:
    slow = await practice(cmgraph_graphql, ["slow_payor"])
    plain = await practice(cmgraph_graphql, [])
    for who in (slow, plain):  # 48 hours after the start
        await session(
            cmgraph_graphql, who, "2026-03-03T00:00-05:00", "2026-03-03T01:00-05:00", "SCHEDULED"
        )

    refused = await add_cm(cmgraph_graphql, slow)
    accepted = await add_cm(cmgraph_graphql, plain)

    assert [e["code"] for e in refused["userErrors"]] == ["LEAD_TIME"]
    assert accepted["userErrors"] == []


class AssistantsMayManage:
    name = "assistants_may_manage"

    @hookimpl
    def cmgraph_qualifying_credentials(
        self, service_line: str, payor: FactPayor | None
    ) -> frozenset[str] | None:
        return frozenset({"BCBA", "BCBA-D", "BCABA"}) if service_line == "ABA" else None

    @hookimpl
    def cmgraph_enrollment_qualifies(
        self, enrollment: Enrollment, service_line: str | None
    ) -> bool | None:
        if service_line == "ABA" and enrollment.status is EnrollmentStatus.PENDING:
            return True
        return None


@pytest.mark.cmgraph_plugins(AssistantsMayManage())
async def test_one_answer_hooks_widen_credentials_and_count_pending_enrollments(
    cmgraph_graphql: GraphQLClient,
) -> None:
    widened = await practice(cmgraph_graphql, ["assistants_may_manage"], cm_credential="BCaBA")
    plain = await practice(cmgraph_graphql, [], cm_credential="BCaBA")

    assert (await add_cm(cmgraph_graphql, widened))["userErrors"] == []
    assert [e["code"] for e in (await add_cm(cmgraph_graphql, plain))["userErrors"]] == [
        "DISCIPLINE_MISMATCH"
    ]


@pytest.mark.cmgraph_plugins(AssistantsMayManage())
async def test_a_pending_enrollment_counted_for_the_line_also_credentials_its_sessions(
    cmgraph_graphql: GraphQLClient,
) -> None:
    who = await practice(cmgraph_graphql, ["assistants_may_manage"], enrollment="PENDING")
    assert (await add_cm(cmgraph_graphql, who))["userErrors"] == []
    await session(cmgraph_graphql, who, "2026-03-10T09:00:00-05:00", "2026-03-10T10:00:00-05:00")

    report = await cmgraph_graphql(
        '{ complianceFindings(from: "2026-03-01", to: "2026-03-31") { edges { node { code } } } }'
    )

    # The session path asks the hook with the line too, as the write did.
    codes = [e["node"]["code"] for e in report["complianceFindings"]["edges"]]
    assert "NOT_CREDENTIALED" not in codes


class BillsTheDeliverer:
    name = "bills_the_deliverer"

    @hookimpl
    def cmgraph_rendering_provider(self, check: SessionCheck) -> Choice | None:
        return Choice(check.appointment.provider_id) if check.appointment else None

    @hookimpl
    def cmgraph_supervising_provider(self, check: SessionCheck) -> Choice | None:
        return Choice(check.case_manager.provider_id if check.case_manager else None)

    @hookimpl
    def cmgraph_modifiers(self, check: SessionCheck) -> list[str] | None:
        return ["HM"]

    @hookimpl
    def cmgraph_check_session(self, check: SessionCheck) -> list[Finding]:
        if check.deliverer_credentialed:
            return []
        return [
            Finding(
                code="DELIVERER_NOT_ENROLLED",
                severity=Severity.ERROR,
                message="The provider who delivered the session is not enrolled.",
                rule="deliverer_enrolled",
                client_id=check.client_id,
                service_line=check.service_line,
                appointment_id=check.appointment.id if check.appointment else None,
                date=check.date_of_service,
            )
        ]


@pytest.mark.cmgraph_plugins(BillsTheDeliverer())
async def test_claim_line_hooks_and_an_added_finding_apply_to_the_naming_payor_only(
    cmgraph_graphql: GraphQLClient,
) -> None:
    deliverer_billed = await practice(cmgraph_graphql, ["bills_the_deliverer"])
    plain = await practice(cmgraph_graphql, [])
    lines = {}
    for key, who in (("plugin", deliverer_billed), ("plain", plain)):
        assert (await add_cm(cmgraph_graphql, who))["userErrors"] == []
        await session(cmgraph_graphql, who, "2026-03-10T09:00-04:00", "2026-03-10T10:00-04:00")
        data = await cmgraph_graphql(CLAIMS, {"client": who["client"]})
        [lines[key]] = [e["node"] for e in data["claimLines"]["edges"]]

    assert lines["plugin"]["renderingProvider"]["id"] == deliverer_billed["rbt"]
    assert lines["plugin"]["supervisingProvider"]["id"] == deliverer_billed["cm"]
    assert lines["plugin"]["modifiers"] == ["HM"]
    assert lines["plugin"]["findings"] == [
        {"code": "DELIVERER_NOT_ENROLLED", "plugin": "bills_the_deliverer"}
    ]
    assert lines["plain"]["renderingProvider"]["id"] == plain["cm"]
    assert lines["plain"]["supervisingProvider"] is None
    assert lines["plain"]["modifiers"] == []
    assert lines["plain"]["findings"] == []


@pytest.mark.cmgraph_plugins(BillsTheDeliverer())
async def test_a_claim_line_knows_whether_its_deliverer_is_enrolled_with_the_primary(
    cmgraph_graphql: GraphQLClient,
) -> None:
    """The deliverer's enrollment with the primary payor is read with the CM's."""
    who = await practice(cmgraph_graphql, ["bills_the_deliverer"])
    await _ok(
        cmgraph_graphql,
        "mutation($input: RecordEnrollmentInput!) { recordEnrollment(input: $input) "
        "{ enrollment { id } userErrors { code } } }",
        "recordEnrollment",
        {"providerId": who["rbt"], "payorId": who["payor"], "status": "ENROLLED"},
    )
    assert (await add_cm(cmgraph_graphql, who))["userErrors"] == []
    await session(cmgraph_graphql, who, "2026-03-10T09:00-04:00", "2026-03-10T10:00-04:00")

    data = await cmgraph_graphql(CLAIMS, {"client": who["client"]})

    [line] = [e["node"] for e in data["claimLines"]["edges"]]
    assert line["renderingProvider"]["id"] == who["rbt"]
    assert line["findings"] == []


class NoFamiliarityRule:
    """Switches the built-in familiarity warning off for its payor, with a wrapper."""

    name = "no_familiarity_rule"

    @hookimpl(wrapper=True)
    def cmgraph_check_assignment(
        self, check: AssignmentCheck
    ) -> Generator[None, list[Finding], list[Finding]]:
        findings = yield
        return [f for f in findings if f.code != "NOT_FAMILIAR"]


@pytest.mark.cmgraph_plugins(NoFamiliarityRule())
async def test_a_wrapper_drops_another_rules_findings_for_its_payor(
    cmgraph_graphql: GraphQLClient,
) -> None:
    quiet = await practice(cmgraph_graphql, ["no_familiarity_rule"])
    plain = await practice(cmgraph_graphql, [])
    for who in (quiet, plain):  # the RBT, not the CM, delivered the recent session
        await session(cmgraph_graphql, who, "2026-02-20T09:00-05:00", "2026-02-20T10:00-05:00")

    wrapped, unwrapped = await add_cm(cmgraph_graphql, quiet), await add_cm(cmgraph_graphql, plain)

    assert unwrapped["warnings"] == [{"code": "NOT_FAMILIAR"}]  # the finding, without it
    assert wrapped["userErrors"] == [] and wrapped["caseManager"] is not None
    assert wrapped["warnings"] == []  # ... gone with it, and the write went through


class OwnRuleAndWrapper:
    """A rule of its own beside a wrapper of the same hook, named apart by `specname` (as
    docs/plugins.md shows): both act."""

    name = "own_rule_and_wrapper"

    @hookimpl
    def cmgraph_check_assignment(self, check: AssignmentCheck) -> list[Finding]:
        return [Finding("OWN_NOTE", Severity.WARNING, "Noted.", "own_note")]

    @hookimpl(wrapper=True, specname="cmgraph_check_assignment")
    def familiarity_waived(
        self, check: AssignmentCheck
    ) -> Generator[None, list[Finding], list[Finding]]:
        findings = yield
        return [f for f in findings if f.code != "NOT_FAMILIAR"]


@pytest.mark.cmgraph_plugins(OwnRuleAndWrapper())
async def test_a_rule_and_a_wrapper_of_one_hook_live_in_one_plugin(
    cmgraph_graphql: GraphQLClient,
) -> None:
    who = await practice(cmgraph_graphql, ["own_rule_and_wrapper"])
    await session(cmgraph_graphql, who, "2026-02-20T09:00-05:00", "2026-02-20T10:00-05:00")

    payload = await add_cm(cmgraph_graphql, who)

    assert payload["userErrors"] == [] and payload["warnings"] == [{"code": "OWN_NOTE"}]


class KeepsSomething:
    """A wrapper that keeps what it is given: the flat list, unchanged."""

    name = "keeps_something"

    @hookimpl(wrapper=True)
    def cmgraph_check_assignment(
        self, check: AssignmentCheck
    ) -> Generator[None, list[Finding], list[Finding]]:
        findings = yield
        assert all(isinstance(f, Finding) for f in findings)  # one flat list
        return findings


@pytest.mark.cmgraph_plugins(KeepsSomething())
async def test_a_wrapper_that_keeps_findings_hands_them_on(cmgraph_graphql: GraphQLClient) -> None:
    who = await practice(cmgraph_graphql, ["keeps_something"])
    await session(cmgraph_graphql, who, "2026-02-20T09:00-05:00", "2026-02-20T10:00-05:00")

    payload = await add_cm(cmgraph_graphql, who)

    assert payload["userErrors"] == [] and payload["warnings"] == [{"code": "NOT_FAMILIAR"}]


class Broken:
    name = "broken_payor"

    @hookimpl
    def cmgraph_check_assignment(self, check: AssignmentCheck) -> list[Finding]:
        raise RuntimeError(f"no table for {check.provider.display_name}")


@pytest.mark.cmgraph_plugins(Broken())
async def test_a_plugin_that_raises_fails_closed_names_itself_and_writes_nothing(
    cmgraph_graphql: GraphQLClient, caplog: LogCaptureFixture
) -> None:
    who = await practice(cmgraph_graphql, ["broken_payor"])

    with caplog.at_level(logging.ERROR, logger="cmgraph.plugins"):
        payload = await add_cm(cmgraph_graphql, who)

    assert payload["caseManager"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["plugin"]) == ("PLUGIN_FAILED", "broken_payor")
    data = await cmgraph_graphql(
        "query($id: ID!) { client(id: $id) { caseManagers { id } } }", {"id": who["client"]}
    )
    assert data["client"]["caseManagers"] == []
    assert "no table for cm X" in caplog.text  # the exception, for the developer
    # ... but the JSON log lines (production) never carry an exception's message, which
    # may quote health data (here a provider's name).
    logged = [JsonFormatter().format(r) for r in caplog.records if r.name == "cmgraph.plugins"]
    assert logged and not any("cm X" in line for line in logged)
    body = await cmgraph_graphql.raw(
        "query($i: AddCaseManagerInput!) { checkCaseManager(input: $i) { code } }",
        {
            "i": {
                "clientId": who["client"],
                "serviceLine": "ABA",
                "providerId": who["cm"],
                "startDate": "2026-03-01",
            }
        },
    )
    assert body["errors"][0]["extensions"] == {
        "code": "PLUGIN_FAILED",
        "plugin": "broken_payor",
        "hook": "cmgraph_check_assignment",
    }


class FortyEight:
    name = "forty_eight"

    @hookimpl
    def cmgraph_lead_time(self, service_line: str, payor: FactPayor | None) -> timedelta | None:
        return timedelta(hours=48)


@pytest.mark.cmgraph_plugins(SlowPayor(), FortyEight())
async def test_with_several_payors_the_longest_lead_time_wins(
    cmgraph_graphql: GraphQLClient,
) -> None:
    who = await practice(cmgraph_graphql, ["forty_eight"])
    second = await _ok(
        cmgraph_graphql,
        "mutation($input: CreatePayorInput!) { createPayor(input: $input) "
        "{ payor { id } userErrors { code } } }",
        "createPayor",
        {"name": "Slow secondary", "kind": "MEDICAID", "plugins": ["slow_payor"]},
    )
    await _ok(
        cmgraph_graphql,
        "mutation($input: AddCoverageInput!) { addCoverage(input: $input) "
        "{ coverage { id } userErrors { code } } }",
        "addCoverage",
        {
            "clientId": who["client"],
            "payorId": second,
            "effectiveFrom": "2025-01-01",
            "priority": 2,
        },
    )
    # 60 hours after the start: enough for 48 hours, not for 72.
    await session(
        cmgraph_graphql, who, "2026-03-03T12:00-05:00", "2026-03-03T13:00-05:00", "SCHEDULED"
    )

    payload = await add_cm(cmgraph_graphql, who)

    [error] = payload["userErrors"]
    assert error["code"] == "LEAD_TIME" and "72 h" in error["message"]


class Listed:
    name = "listed"

    @hookimpl
    def cmgraph_rules(self) -> list[RuleInfo]:
        return [RuleInfo("listed_rule", ("LISTED",), "A listed rule.", False)]


@pytest.mark.cmgraph_plugins(Listed())
async def test_the_rules_query_lists_a_payor_rule_with_the_payors_naming_it(
    cmgraph_graphql: GraphQLClient,
) -> None:
    await practice(cmgraph_graphql, ["listed"])
    await practice(cmgraph_graphql, [])
    rules = (await cmgraph_graphql("{ rules { name plugin codes payors { name } } }"))["rules"]

    [listed] = [r for r in rules if r["name"] == "listed_rule"]
    assert listed["plugin"] == "listed"  # stamped by the core: the plugin never wrote it
    assert listed["payors"] == [{"name": "Payor listed"}]
    assert {p["name"] for p in next(r for r in rules if r["name"] == "lead_time")["payors"]} == {
        "Payor listed",
        "Payor plain",
    }


class FeedingTherapy:
    """Adds a service line, for every payor."""

    name = "feeding_therapy"
    CMGRAPH_ALL_PAYORS = True

    @hookimpl
    def cmgraph_service_lines(self) -> list[ServiceLine]:
        return [ServiceLine("FT", "Feeding therapy", frozenset({"SLP", "OTR"}))]

    @hookimpl
    def cmgraph_check_removal(self, check: RemovalCheck) -> list[Finding]:
        return [
            Finding(
                code="NEVER_REMOVE",
                severity=Severity.ERROR,
                message="This practice never deletes assignments.",
                rule="never_remove",
                plugin=self.name,
            )
        ]

    @hookimpl
    def cmgraph_check_current_assignment(self, check: CurrentAssignmentCheck) -> list[Finding]:
        return [
            Finding(
                code="REVIEW_DUE",
                severity=Severity.WARNING,
                message="Review the case manager this quarter.",
                rule="quarterly_review",
                plugin=self.name,
                client_id=check.assignment.client_id,
                service_line=check.assignment.service_line,
            )
        ]


@pytest.mark.cmgraph_plugins(FeedingTherapy())
def test_a_line_a_plugin_adds_is_qualified_for_by_the_credentials_it_declares(
    cmgraph_book: RuleBook,
) -> None:
    slp, rbt = b.provider("SLP"), b.provider("RBT")
    payor = b.payor()

    def codes(who: Provider) -> list[str]:
        check = b.assignment_check(
            cmgraph_book,
            b.assignment(who, "2026-03-01", service_line="FT", saved=False),
            who,
            coverages=[b.coverage(payor)],
            enrollments=[b.enrollment(who, payor)],
        )
        return b.codes(cmgraph_book.check_assignment(check))

    assert cmgraph_book.qualifying_credentials("FT", Payors(primary=payor)) == {"SLP", "OTR"}
    assert codes(slp) == []
    assert codes(rbt) == ["DISCIPLINE_MISMATCH"]


@pytest.mark.cmgraph_plugins(FeedingTherapy())
async def test_an_all_payor_plugin_adds_a_line_a_removal_rule_and_a_current_finding(
    cmgraph_graphql: GraphQLClient,
) -> None:
    who = await practice(cmgraph_graphql, [])
    lines = (await cmgraph_graphql("{ serviceLines { code qualifyingCredentials } }"))[
        "serviceLines"
    ]
    assert {"code": "FT", "qualifyingCredentials": ["OTR", "SLP"]} in lines
    today = datetime.now(ZoneInfo("America/New_York")).date().isoformat()
    added = await add_cm(cmgraph_graphql, who, start=today)
    assert added["userErrors"] == []

    removal = await cmgraph_graphql(
        "mutation($i: RemoveCaseManagerInput!) { removeCaseManager(input: $i) "
        "{ removedId userErrors { code plugin } } }",
        {"i": {"id": added["caseManager"]["id"], "version": 1}},
    )
    found = await cmgraph_graphql(
        "query($id: ID!) { client(id: $id) { findings { code plugin } } }", {"id": who["client"]}
    )

    assert removal["removeCaseManager"] == {
        "removedId": None,
        "userErrors": [{"code": "NEVER_REMOVE", "plugin": "feeding_therapy"}],
    }
    assert {"code": "REVIEW_DUE", "plugin": "feeding_therapy"} in found["client"]["findings"]


def test_the_example_plugin_loads_and_applies_to_the_payor_naming_it(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[1] / "docs"
    shutil.copy(docs / "example_plugin.py", tmp_path / "example_health.py")
    book = RuleBook(build_plugin_manager(tmp_path))
    example = FactPayor(uuid4(), "Example Health", PayorKind.COMMERCIAL, ("example_health",))
    plain = FactPayor(uuid4(), "Plain", PayorKind.COMMERCIAL, ())

    assert book.lead_time("ABA", Payors(primary=example)) == timedelta(hours=48)
    assert book.lead_time("ABA", Payors(primary=plain)) == timedelta(hours=24)
    assert {r.name for r in book.rules() if r.plugin == "example_health"} == {
        "notice_48h",
        "no_telehealth_assessment",
    }
