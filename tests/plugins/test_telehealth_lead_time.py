"""telehealth_lead_time: the built-in lead time, waived for a first session by telehealth,
for the payors naming the plugin; its refusals are its own (plugin name, same code)."""

from __future__ import annotations

from typing import Any

import practice as p

PLUGIN = "telehealth_lead_time"


async def _setup(api: Any, plugins: tuple[str, ...], telehealth: bool) -> tuple[str, str]:
    """A client whose first ABA session is 2026-03-02 09:00 (9 h after 00:00), and a BCBA."""
    client, cm = await p.client(api), await p.provider(api, "Grace", "Hopper", "BCBA")
    rbt = await p.provider(api, "Tech", "Nician", "RBT")
    payor = await p.payor(api, "Acme", "COMMERCIAL", *plugins)
    await p.coverage(api, client, payor)
    await p.enroll(api, cm, payor)
    await p.session(
        api,
        client,
        rbt,
        "2026-03-02T09:00-05:00",
        "2026-03-02T10:00-05:00",
        code="97153",
        telehealth=telehealth,
        status="SCHEDULED",
    )
    return client, cm


async def test_a_telehealth_first_session_needs_no_lead_time_with_the_plugin(api):
    client, cm = await _setup(api, (PLUGIN,), telehealth=True)

    payload = await p.add_case_manager(api, client, cm, "2026-03-02")

    assert payload["userErrors"] == []
    assert payload["caseManager"] is not None


async def test_without_the_plugin_the_built_in_rule_refuses_the_same_start(api):
    client, cm = await _setup(api, (), telehealth=True)

    payload = await p.add_case_manager(api, client, cm, "2026-03-02")

    assert [(e["code"], e["rule"], e["plugin"]) for e in payload["userErrors"]] == [
        ("LEAD_TIME", "lead_time", "cmgraph")
    ]


async def test_an_in_person_first_session_is_refused_by_the_plugin_with_the_stable_code(api):
    client, cm = await _setup(api, (PLUGIN,), telehealth=False)

    payload = await p.add_case_manager(api, client, cm, "2026-03-02")

    assert payload["caseManager"] is None
    assert [(e["code"], e["rule"], e["plugin"]) for e in payload["userErrors"]] == [
        ("LEAD_TIME", "telehealth_lead_time", PLUGIN)
    ]
    assert "9 h before" in payload["userErrors"][0]["message"]


async def test_the_rules_query_says_what_it_replaces(api):
    data = await api("{ rules { name plugin codes payors { name } } }")
    [rule] = [r for r in data["rules"] if r["name"] == "telehealth_lead_time"]
    assert (rule["plugin"], rule["codes"]) == (PLUGIN, ["LEAD_TIME"])
