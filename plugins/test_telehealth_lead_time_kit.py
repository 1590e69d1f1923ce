"""telehealth_lead_time with the plugin kit alone (cmgraph.testing): these tests run in the
repo and, in ./scripts/kit-check, from an installed wheel in a clean virtualenv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cmgraph.plugins import RuleBook
from cmgraph.testing import GraphQLClient
from cmgraph.testing import builders as b

PLUGIN = Path(__file__).with_name("telehealth_lead_time.py")
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


async def test_the_rules_query_lists_it_for_the_payor_naming_it(
    cmgraph_graphql: GraphQLClient,
) -> None:
    await cmgraph_graphql(
        'mutation { createPayor(input: {name: "Acme", kind: COMMERCIAL, '
        'plugins: ["telehealth_lead_time"]}) { payor { id } } }'
    )

    data = await cmgraph_graphql("{ rules { name plugin payors { name } } }")

    [rule] = [r for r in data["rules"] if r["plugin"] == "telehealth_lead_time"]
    assert rule == {
        "name": "telehealth_lead_time",
        "plugin": "telehealth_lead_time",
        "payors": [{"name": "Acme"}],
    }
