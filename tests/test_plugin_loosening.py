"""Loosening or reshaping a built-in rule for the payors that name a plugin: a payor's own
lead time is enforced in its plugin's name; `RuleInfo.replaces` stands in for a built-in rule;
an enrollment's application date reaches the facts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from kit_support import _ok, add_cm, practice, session

from cmgraph import hookimpl
from cmgraph.facts import EnrollmentStatus, RuleInfo
from cmgraph.plugins import PluginError, RuleBook
from cmgraph.testing import Registrar


class AcmeHealth:
    """Acme wants 72 hours' notice of a new case manager."""

    name = "acme_health"

    @hookimpl
    def cmgraph_lead_time(self):
        return timedelta(hours=72)


async def _first_session_48_hours_in(gql, who):
    await session(gql, who, "2026-03-03T00:00-05:00", "2026-03-03T01:00-05:00", "SCHEDULED")


@pytest.mark.cmgraph_plugins(AcmeHealth())
async def test_a_refusal_caused_by_a_payors_lead_time_names_its_plugin(cmgraph_graphql):
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
    def cmgraph_rules(self):
        return [RuleInfo("none", (), "No lead time.", False, replaces=("lead_time",))]


@pytest.mark.cmgraph_plugins(NoLeadTime(), AcmeHealth())
async def test_a_replaced_rule_is_off_for_its_payor_but_not_for_a_payor_demanding_more(
    cmgraph_graphql,
):
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
    def cmgraph_rules(self):
        return [RuleInfo("x", (), "x", False, replaces=("lead_tme",))]


def test_replacing_a_rule_that_is_not_built_in_stops_start_up():
    registrar = Registrar()
    registrar.register(ReplacesNothingKnown())
    with pytest.raises(PluginError, match="replaces 'lead_tme', which is not a built-in rule"):
        RuleBook(registrar.manager())


class PendingWithinNinetyDays:
    """A pending enrollment counts for mental health within 90 days of its application."""

    name = "pending_90"

    @hookimpl
    def cmgraph_enrollment_qualifies(self, enrollment, day, service_line):
        if enrollment.status is EnrollmentStatus.PENDING and service_line == "MH":
            applied = enrollment.applied_on
            return applied is not None and applied <= day <= applied + timedelta(days=90)
        return None


@pytest.mark.cmgraph_plugins(PendingWithinNinetyDays())
async def test_an_application_date_reaches_the_plugin_through_the_facts(cmgraph_graphql):
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

    def check(start: date):
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
