"""Loosening or reshaping a built-in rule for the payors that name a plugin: a payor's own
lead time is enforced in its plugin's name; `RuleInfo.replaces` stands in for a built-in rule;
an enrollment's application date reaches the facts."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import date, timedelta
from typing import Any

import pytest
from kit_support import _ok, add_cm, practice, session

from cmgraph import hookimpl
from cmgraph.facts import Enrollment, EnrollmentStatus, RuleInfo
from cmgraph.plugins import PluginError, RuleBook
from cmgraph.testing import GraphQLClient, Registrar
from cmgraph.testing import records as r


class AcmeHealth:
    """Acme wants 72 hours' notice of a new case manager."""

    name = "acme_health"

    @hookimpl
    def cmgraph_lead_time(self) -> timedelta | None:
        return timedelta(hours=72)


async def _first_session_48_hours_in(gql: GraphQLClient, who: dict[str, str]) -> None:
    await session(gql, who, "2026-03-03T00:00-05:00", "2026-03-03T01:00-05:00", "SCHEDULED")


@pytest.mark.cmgraph_plugins(AcmeHealth())
async def test_a_refusal_caused_by_a_payors_lead_time_names_its_plugin(
    cmgraph_graphql: GraphQLClient,
) -> None:
    acme = await practice(cmgraph_graphql, ["acme_health"])
    plain = await practice(cmgraph_graphql, [])
    await _first_session_48_hours_in(cmgraph_graphql, acme)
    await session(  # 9 hours in: short of the default 24
        cmgraph_graphql, plain, "2026-03-01T09:00-05:00", "2026-03-01T10:00-05:00", "SCHEDULED"
    )

    refused, default = await add_cm(cmgraph_graphql, acme), await add_cm(cmgraph_graphql, plain)

    assert [(e["code"], e["rule"], e["plugin"]) for e in refused["userErrors"]] == [
        ("LEAD_TIME", "lead_time", "acme_health")
    ]
    assert "at least 72 h" in refused["userErrors"][0]["message"]
    assert [(e["code"], e["plugin"]) for e in default["userErrors"]] == [("LEAD_TIME", "cmgraph")]


class NoLeadTime:
    """Stands in for the built-in lead_time rule and says nothing: no lead time at all."""

    name = "no_lead_time"

    @hookimpl
    def cmgraph_rules(self) -> list[RuleInfo]:
        return [RuleInfo("none", (), "No lead time.", False, replaces=("lead_time",))]


@pytest.mark.cmgraph_plugins(NoLeadTime(), AcmeHealth())
async def test_a_replaced_rule_is_off_for_its_payor_but_not_for_a_payor_demanding_more(
    cmgraph_graphql: GraphQLClient,
) -> None:
    replaced = await practice(cmgraph_graphql, ["no_lead_time"])
    await _first_session_48_hours_in(cmgraph_graphql, replaced)
    assert (await add_cm(cmgraph_graphql, replaced))["userErrors"] == []

    both = await practice(cmgraph_graphql, ["no_lead_time"])
    acme = await _ok(
        cmgraph_graphql,
        "mutation($input: CreatePayorInput!) { createPayor(input: $input) "
        "{ payor { id } userErrors { code } } }",
        "createPayor",
        {"name": "Acme", "kind": "COMMERCIAL", "plugins": ["acme_health"]},
    )
    await _ok(
        cmgraph_graphql,
        "mutation($input: AddCoverageInput!) { addCoverage(input: $input) "
        "{ coverage { id } userErrors { code } } }",
        "addCoverage",
        {"clientId": both["client"], "payorId": acme, "effectiveFrom": "2025-01-01", "priority": 2},
    )
    await _first_session_48_hours_in(cmgraph_graphql, both)

    refused = await add_cm(cmgraph_graphql, both)

    # The primary replaced the rule; the secondary's 72 hours are still enforced, in its name.
    assert [
        (e["code"], e["plugin"]) for e in refused["userErrors"] if e["code"] != "NOT_CREDENTIALED"
    ] == [("LEAD_TIME", "acme_health")]


class ReplacesNothingKnown:
    name = "replaces_nothing_known"

    @hookimpl
    def cmgraph_rules(self) -> list[RuleInfo]:
        return [RuleInfo("x", (), "x", False, replaces=("lead_tme",))]


def test_replacing_a_rule_that_is_not_built_in_stops_start_up() -> None:
    registrar = Registrar()
    registrar.register(ReplacesNothingKnown())
    with pytest.raises(PluginError, match="replaces 'lead_tme', which is not a built-in rule"):
        RuleBook(registrar.manager())


class PendingWithinNinetyDays:
    """A pending enrollment counts for mental health within 90 days of its application."""

    name = "pending_90"

    @hookimpl
    def cmgraph_enrollment_qualifies(
        self, enrollment: Enrollment, day: date, service_line: str | None
    ) -> bool | None:
        if enrollment.status is EnrollmentStatus.PENDING and service_line == "MH":
            applied = enrollment.applied_on
            return applied is not None and applied <= day <= applied + timedelta(days=90)
        return None


@pytest.mark.cmgraph_plugins(PendingWithinNinetyDays())
async def test_an_application_date_reaches_the_plugin_through_the_facts(
    cmgraph_graphql: GraphQLClient,
) -> None:
    who = await practice(
        cmgraph_graphql, ["pending_90"], cm_credential="LCSW", enrollment="PENDING"
    )
    enrollment = await cmgraph_graphql(
        "query($id: ID!) { provider(id: $id) { enrollments { id appliedOn } } }", {"id": who["cm"]}
    )
    [row] = enrollment["provider"]["enrollments"]
    assert row["appliedOn"] is None
    updated = await cmgraph_graphql(
        "mutation($input: UpdateEnrollmentInput!) { updateEnrollment(input: $input) "
        "{ enrollment { appliedOn } userErrors { code } } }",
        {"input": {"id": row["id"], "appliedOn": "2026-01-15"}},
    )
    assert updated["updateEnrollment"]["enrollment"] == {"appliedOn": "2026-01-15"}

    def check(start: date) -> Coroutine[Any, Any, Any]:
        return cmgraph_graphql(
            "query($i: AddCaseManagerInput!) { checkCaseManager(input: $i) { code } }",
            {
                "i": {
                    "clientId": who["client"],
                    "serviceLine": "MH",
                    "providerId": who["cm"],
                    "startDate": start.isoformat(),
                }
            },
        )

    within = await check(date(2026, 4, 15))  # day 90
    beyond = await check(date(2026, 4, 16))
    assert "NOT_CREDENTIALED" not in [f["code"] for f in within["checkCaseManager"]]
    assert "NOT_CREDENTIALED" in [f["code"] for f in beyond["checkCaseManager"]]


class BcbaDOnly:
    """A payor whose ABA case managers must be doctoral analysts (BCBA-D)."""

    name = "bcba_d_only"

    @hookimpl
    def cmgraph_qualifying_credentials(self, service_line: str) -> frozenset[str] | None:
        return frozenset({"BCBA-D"}) if service_line == "ABA" else None


def _mismatches(findings: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f["rule"], f["plugin"]) for f in findings if f["code"] == "DISCIPLINE_MISMATCH"]


@pytest.mark.cmgraph_plugins(BcbaDOnly())
@pytest.mark.parametrize(
    ("plugins", "credential", "decided_by"),
    [
        (["bcba_d_only"], "BCBA", "bcba_d_only"),  # the default accepts a BCBA: the payor's no
        ([], "SLP", "cmgraph"),
        (["bcba_d_only"], "SLP", "cmgraph"),  # the default refuses an SLP too
    ],
    ids=["narrowed", "default", "refused-by-both"],
)
async def test_a_refusal_caused_by_a_payors_narrower_credentials_names_its_plugin(
    cmgraph_graphql: GraphQLClient, plugins: list[str], credential: str, decided_by: str
) -> None:
    who = await cmgraph_graphql.practice(plugins, cm_credential=credential)

    payload = await cmgraph_graphql.add_case_manager(who, "2026-03-01")
    checked = await cmgraph_graphql(
        "query($i: AddCaseManagerInput!) { checkCaseManager(input: $i) "
        "{ code rule plugin payor { id } } }",
        {
            "i": {
                "clientId": who.client,
                "serviceLine": "ABA",
                "providerId": who.cm,
                "startDate": "2026-03-01",
            }
        },
    )

    assert payload["caseManager"] is None
    assert _mismatches(payload["userErrors"]) == [("qualification", decided_by)]
    [finding] = [f for f in checked["checkCaseManager"] if f["code"] == "DISCIPLINE_MISMATCH"]
    assert finding["plugin"] == decided_by
    assert finding["payor"] == ({"id": who.payor} if decided_by != "cmgraph" else None)


@pytest.mark.cmgraph_plugins(BcbaDOnly())
@pytest.mark.parametrize(
    ("credential", "april_payor_plugins", "decided_by"),
    [
        ("BCBA", ["bcba_d_only"], "bcba_d_only"),  # April's payor wants a BCBA-D
        ({"type": "BCBA", "expiresOn": "2026-03-31"}, [], "cmgraph"),  # the licence lapses
    ],
    ids=["narrowed", "lapsed"],
)
async def test_a_session_the_narrowing_disqualifies_names_the_plugin_everywhere_it_shows(
    cmgraph_graphql: GraphQLClient,
    credential: r.CredentialSpec,
    april_payor_plugins: list[str],
    decided_by: str,
) -> None:
    """A BCBA case manager from March 1; from April 1 the client is covered by a payor
    naming the plugin (or, without it, the CM's licence lapses): the April session's
    DISCIPLINE_MISMATCH says who decided it on the claim line, in the compliance report and
    among the client's findings; March's session has none."""
    client = await r.client(cmgraph_graphql)
    march = await r.payor(cmgraph_graphql, "Plain", "COMMERCIAL")
    april = await r.payor(cmgraph_graphql, "April", "COMMERCIAL", *april_payor_plugins)
    await r.coverage(cmgraph_graphql, client, march, until="2026-03-31")
    await r.coverage(cmgraph_graphql, client, april, since="2026-04-01")
    cm = await r.provider(cmgraph_graphql, "Casey", "Manager", credential)
    rbt = await r.provider(cmgraph_graphql, "Robin", "Tech", "RBT")
    for each_payor in (march, april):
        await r.enroll(cmgraph_graphql, cm, each_payor)
    await r.case_manager(cmgraph_graphql, client, cm, "2026-03-01")
    for day in ("2026-03-10", "2026-04-10"):
        await r.session(cmgraph_graphql, client, rbt, f"{day}T09:00-04:00", f"{day}T10:00-04:00")
    payor = {"id": april} if decided_by != "cmgraph" else None

    lines = await r.claim_lines(cmgraph_graphql, client, "2026-03-01", "2026-04-30")
    report = await r.compliance_findings(cmgraph_graphql, "2026-03-01", "2026-04-30")
    stored = await r.client_findings(cmgraph_graphql, client)

    by_day = {line["dateOfService"]: line["findings"] for line in lines}
    assert by_day["2026-03-10"] == []
    assert _mismatches(by_day["2026-04-10"]) == [("qualification", decided_by)]
    assert [f["payor"] for f in by_day["2026-04-10"]] == [payor]
    assert [
        (f["date"], f["plugin"], f["payor"])
        for f in report
        if f["code"] == "DISCIPLINE_MISMATCH" and f["client"]["id"] == client
    ] == [("2026-04-10", decided_by, payor)]
    assert [(f["date"], f["plugin"]) for f in stored if f["code"] == "DISCIPLINE_MISMATCH"] == [
        ("2026-04-10", decided_by)
    ]
