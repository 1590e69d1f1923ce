"""What the API tells about plugins: the payor a finding concerns, and which hook of which
plugin failed."""

from __future__ import annotations

from typing import Any

import pytest
from kit_support import add_cm, practice, session

from cmgraph import hookimpl
from cmgraph.facts import Finding, SessionCheck, Severity
from cmgraph.testing import GraphQLClient

CHECK = """query($i: AddCaseManagerInput!) {
  checkCaseManager(input: $i) { code plugin payor { id name } }
}"""
CLAIMS = """query($client: ID) {
  claimLines(from: "2026-03-01", to: "2026-03-31", clientId: $client) { edges { node {
    findings { code plugin payor { id } }
  } } }
}"""


def _check_input(who: dict[str, str]) -> dict[str, Any]:
    return {
        "clientId": who["client"],
        "serviceLine": "ABA",
        "providerId": who["cm"],
        "startDate": "2026-03-01",
    }


async def test_a_built_in_finding_carries_the_payor_it_concerns(
    cmgraph_graphql: GraphQLClient,
) -> None:
    who = await practice(cmgraph_graphql, [], enrollment="PENDING")

    data = await cmgraph_graphql(CHECK, {"i": _check_input(who)})

    [finding] = [f for f in data["checkCaseManager"] if f["code"] == "NOT_CREDENTIALED"]
    assert finding["plugin"] == "cmgraph"
    assert finding["payor"] == {"id": who["payor"], "name": "Payor plain"}


class FlagsEverySession:
    name = "flags_every_session"

    @hookimpl
    def cmgraph_check_session(self, check: SessionCheck) -> list[Finding]:
        return [check.finding("FLAGGED", Severity.WARNING, "Flagged.", rule="flag")]


@pytest.mark.cmgraph_plugins(FlagsEverySession())
async def test_a_payor_plugin_finding_carries_the_payor_it_was_reached_for(
    cmgraph_graphql: GraphQLClient,
) -> None:
    who = await practice(cmgraph_graphql, ["flags_every_session"])
    assert (await add_cm(cmgraph_graphql, who))["userErrors"] == []
    await session(cmgraph_graphql, who, "2026-03-10T09:00-04:00", "2026-03-10T10:00-04:00")

    data = await cmgraph_graphql(CLAIMS, {"client": who["client"]})

    [line] = [e["node"] for e in data["claimLines"]["edges"]]
    assert line["findings"] == [
        {"code": "FLAGGED", "plugin": "flags_every_session", "payor": {"id": who["payor"]}}
    ]


class SaysSeventyTwo:
    """Answers a number of hours where a timedelta is due."""

    name = "says_seventy_two"

    @hookimpl
    def cmgraph_lead_time(self) -> int:
        return 72


@pytest.mark.cmgraph_plugins(SaysSeventyTwo())
async def test_a_wrong_answer_is_plugin_failed_naming_the_plugin_and_the_hook(
    cmgraph_graphql: GraphQLClient,
) -> None:
    who = await practice(cmgraph_graphql, ["says_seventy_two"])

    body = await cmgraph_graphql.raw(CHECK, {"i": _check_input(who)})
    payload = await add_cm(cmgraph_graphql, who)

    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {
        "code": "PLUGIN_FAILED",
        "plugin": "says_seventy_two",
        "hook": "cmgraph_lead_time",
    }
    assert payload["caseManager"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["plugin"]) == ("PLUGIN_FAILED", "says_seventy_two")
    assert "cmgraph_lead_time" in error["message"]
