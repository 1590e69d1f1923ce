"""telehealth_lead_time: the built-in lead time, waived for a first session by telehealth,
for the payors naming the plugin; its refusals are its own (plugin name, same code).

With the plugin kit alone (cmgraph.testing): these tests run in the repo and, in
./scripts/kit-check, from an installed wheel in a clean virtualenv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cmgraph.testing import GraphQLClient, RuleBook
from cmgraph.testing import builders as b
from cmgraph.testing import records as p

PLUGIN_NAME = "telehealth_lead_time"
PLUGIN = Path(__file__).with_name(f"{PLUGIN_NAME}.py")
pytestmark = pytest.mark.cmgraph_plugins(PLUGIN)

CM = b.bcba()
PAYOR = b.payor("Acme", plugins=["telehealth_lead_time"])


def _check(book: Any, telehealth: bool) -> Any:
    first = b.appointment("2026-03-02T09:00-05:00", by=CM, telehealth=telehealth)  # 9 h in
    return b.assignment_check(
        book,
        b.assignment(CM, "2026-03-02", saved=False),
        CM,
        coverages=[b.coverage(PAYOR)],
        enrollments=[b.enrollment(CM, PAYOR)],
        appointments=[first],
    )


def test_a_first_session_by_telehealth_needs_no_lead_time(cmgraph_book: RuleBook) -> None:
    assert b.codes(cmgraph_book.check_assignment(_check(cmgraph_book, telehealth=True))) == []


def test_an_in_person_first_session_is_refused_in_the_plugins_name(
    cmgraph_book: RuleBook,
) -> None:
    [finding] = cmgraph_book.check_assignment(_check(cmgraph_book, telehealth=False))

    assert (finding.code, finding.rule, finding.plugin) == (
        "LEAD_TIME",
        "telehealth_lead_time",
        "telehealth_lead_time",
    )
    assert finding.payor_id == PAYOR.id


async def _setup(
    cmgraph_graphql: GraphQLClient, plugins: tuple[str, ...], telehealth: bool
) -> tuple[str, str]:
    """A client whose first ABA session is 2026-03-02 09:00 (9 h after 00:00), and a BCBA."""
    client = await p.client(cmgraph_graphql)
    cm = await p.provider(cmgraph_graphql, "Grace", "Hopper", "BCBA")
    rbt = await p.provider(cmgraph_graphql, "Tech", "Nician", "RBT")
    payor = await p.payor(cmgraph_graphql, "Acme", "COMMERCIAL", *plugins)
    await p.coverage(cmgraph_graphql, client, payor)
    await p.enroll(cmgraph_graphql, cm, payor)
    await p.session(
        cmgraph_graphql,
        client,
        rbt,
        "2026-03-02T09:00-05:00",
        "2026-03-02T10:00-05:00",
        code="97153",
        telehealth=telehealth,
        status="SCHEDULED",
    )
    return client, cm


async def test_a_telehealth_first_session_needs_no_lead_time_with_the_plugin(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client, cm = await _setup(cmgraph_graphql, (PLUGIN_NAME,), telehealth=True)

    payload = await p.add_case_manager(cmgraph_graphql, client, cm, "2026-03-02")

    assert payload["userErrors"] == []
    assert payload["caseManager"] is not None


async def test_without_the_plugin_the_built_in_rule_refuses_the_same_start(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client, cm = await _setup(cmgraph_graphql, (), telehealth=True)

    payload = await p.add_case_manager(cmgraph_graphql, client, cm, "2026-03-02")

    assert [(e["code"], e["rule"], e["plugin"]) for e in payload["userErrors"]] == [
        ("LEAD_TIME", "lead_time", "cmgraph")
    ]


async def test_an_in_person_first_session_is_refused_by_the_plugin_with_the_stable_code(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client, cm = await _setup(cmgraph_graphql, (PLUGIN_NAME,), telehealth=False)

    payload = await p.add_case_manager(cmgraph_graphql, client, cm, "2026-03-02")

    assert payload["caseManager"] is None
    assert [(e["code"], e["rule"], e["plugin"]) for e in payload["userErrors"]] == [
        ("LEAD_TIME", "telehealth_lead_time", PLUGIN_NAME)
    ]
    assert "9 h before" in payload["userErrors"][0]["message"]


async def test_the_rules_query_lists_it_for_the_payor_naming_it(
    cmgraph_graphql: GraphQLClient,
) -> None:
    await cmgraph_graphql(
        'mutation { createPayor(input: {name: "Acme", kind: COMMERCIAL, '
        'plugins: ["telehealth_lead_time"]}) { payor { id } } }'
    )

    data = await cmgraph_graphql("{ rules { name plugin codes payors { name } } }")

    [rule] = [r for r in data["rules"] if r["plugin"] == "telehealth_lead_time"]
    assert rule == {
        "name": "telehealth_lead_time",
        "plugin": "telehealth_lead_time",
        "codes": ["LEAD_TIME"],
        "payors": [{"name": "Acme"}],
    }
