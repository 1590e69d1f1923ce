"""tricare_acd: the authorized ABA supervisor (the CM) bills every ABA line; 97151 rules.

Each scenario runs twice: with a TRICARE payor naming the plugin, and with a plain payor
that does not (the core's defaults: the CM renders, no supervisor, no modifiers, no
TRICARE findings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cmgraph.testing import GraphQLClient
from cmgraph.testing import records as p

PLUGIN = "tricare_acd"
pytestmark = pytest.mark.cmgraph_plugins(Path(__file__).with_name(f"{PLUGIN}.py"))
TRICARE = ("TRICARE East", "TRICARE", PLUGIN)
PLAIN = ("Plain Plan", "COMMERCIAL")
BOTH = pytest.mark.parametrize("payor", [TRICARE, PLAIN], ids=["tricare", "plain"])


async def _practice(cmgraph_graphql: GraphQLClient, payor: tuple[str, ...]) -> dict[str, str]:
    """A client covered by `payor`, a BCBA case manager on ABA from 2026-03-01, and staff."""
    client = await p.client(cmgraph_graphql)
    plan = await p.payor(cmgraph_graphql, *payor)
    await p.coverage(cmgraph_graphql, client, plan)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, plan)
    await p.case_manager(cmgraph_graphql, client, cm, "2026-03-01")
    return {
        "client": client,
        "plan": plan,
        "cm": cm,
        "other_bcba": await p.provider(cmgraph_graphql, "Olive", "Analyst", "BCBA"),
        "bcaba": await p.provider(cmgraph_graphql, "Ash", "Assistant", "BCaBA"),
        "rbt": await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT"),
    }


async def _lines(cmgraph_graphql: GraphQLClient, client: str) -> dict[str, dict[str, Any]]:
    """Claim lines by appointment id."""
    lines = await p.claim_lines(cmgraph_graphql, client, "2026-03-01", "2026-03-31")
    return {line["appointment"]["id"]: line for line in lines}


def _plugin_codes(line: dict[str, Any]) -> list[str]:
    return [f["code"] for f in line["findings"] if f["plugin"] == PLUGIN]


@BOTH
async def test_the_aba_case_manager_must_be_a_bcba_or_bcba_d(
    cmgraph_graphql: GraphQLClient, payor: tuple[str, ...]
) -> None:
    client = await p.client(cmgraph_graphql)
    plan = await p.payor(cmgraph_graphql, *payor)
    await p.coverage(cmgraph_graphql, client, plan)
    bcba_d = await p.provider(cmgraph_graphql, "Dana", "Doctor", "BCBA-D")
    bcaba = await p.provider(cmgraph_graphql, "Ash", "Assistant", "BCaBA")
    for provider in (bcba_d, bcaba):
        await p.enroll(cmgraph_graphql, provider, plan)

    refused = await p.add_case_manager(cmgraph_graphql, client, bcaba, "2026-03-01")
    accepted = await p.add_case_manager(cmgraph_graphql, client, bcba_d, "2026-03-01")

    # TRICARE's authorized ABA supervisor is the core's default list: BCBA or BCBA-D.
    assert [e["code"] for e in refused["userErrors"]] == ["DISCIPLINE_MISMATCH"]
    assert "BCBA, BCBA-D" in refused["userErrors"][0]["message"]
    assert accepted["userErrors"] == []


async def test_one_authorized_aba_supervisor_at_a_time_is_the_cores_overlap_rule(
    cmgraph_graphql: GraphQLClient,
) -> None:
    setup = await _practice(cmgraph_graphql, TRICARE)
    await p.enroll(cmgraph_graphql, setup["other_bcba"], setup["plan"])
    slp = await p.provider(cmgraph_graphql, "Sam", "Speech", "SLP")
    await p.enroll(cmgraph_graphql, slp, setup["plan"])

    second = await p.add_case_manager(
        cmgraph_graphql, setup["client"], setup["other_bcba"], "2026-03-15"
    )
    speech = await p.add_case_manager(
        cmgraph_graphql, setup["client"], slp, "2026-03-15", line="ST"
    )

    assert [e["code"] for e in second["userErrors"]] == ["OVERLAPPING_ASSIGNMENT"]
    assert speech["userErrors"] == []  # another line's CM is no ABA supervisor


@BOTH
async def test_every_aba_line_renders_under_the_supervisor_whoever_delivered(
    cmgraph_graphql: GraphQLClient, payor: tuple[str, ...]
) -> None:
    s = await _practice(cmgraph_graphql, payor)
    by_rbt = await p.session(
        cmgraph_graphql,
        s["client"],
        s["rbt"],
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97153",
    )
    by_analyst = await p.session(
        cmgraph_graphql,
        s["client"],
        s["other_bcba"],
        "2026-03-11T09:00-04:00",
        "2026-03-11T10:00-04:00",
        code="97155",
    )

    lines = await _lines(cmgraph_graphql, s["client"])

    for appointment, deliverer in ((by_rbt, s["rbt"]), (by_analyst, s["other_bcba"])):
        line = lines[appointment]
        assert line["deliveredBy"]["id"] == deliverer
        assert line["renderingProvider"]["id"] == s["cm"]
        assert line["supervisingProvider"] is None
        assert line["modifiers"] == []
        assert line["findings"] == []


@BOTH
async def test_97151_only_by_the_supervisor_or_an_assistant(
    cmgraph_graphql: GraphQLClient, payor: tuple[str, ...]
) -> None:
    s = await _practice(cmgraph_graphql, payor)
    sessions = {}
    for day, who in enumerate(("cm", "bcaba", "other_bcba", "rbt"), start=10):
        sessions[who] = await p.session(
            cmgraph_graphql,
            s["client"],
            s[who],
            f"2026-03-{day}T09:00-04:00",
            f"2026-03-{day}T11:00-04:00",
            code="97151",
        )

    lines = await _lines(cmgraph_graphql, s["client"])

    expected = ["TRICARE_97151_DELIVERER"] if payor is TRICARE else []
    assert _plugin_codes(lines[sessions["cm"]]) == []
    assert _plugin_codes(lines[sessions["bcaba"]]) == []
    assert _plugin_codes(lines[sessions["other_bcba"]]) == expected
    assert _plugin_codes(lines[sessions["rbt"]]) == expected
    for line in lines.values():
        assert line["renderingProvider"]["id"] == s["cm"]
    if payor is TRICARE:
        [finding] = lines[sessions["rbt"]]["findings"]
        assert finding["severity"] == "ERROR"
        assert finding["rule"] == "tricare_97151"
        assert finding["message"].startswith("Robin Tech delivered 97151 on 2026-03-13")
    else:
        assert all(line["findings"] == [] for line in lines.values())


@BOTH
async def test_97151_is_never_delivered_by_telehealth(
    cmgraph_graphql: GraphQLClient, payor: tuple[str, ...]
) -> None:
    s = await _practice(cmgraph_graphql, payor)
    remote = await p.session(
        cmgraph_graphql,
        s["client"],
        s["cm"],
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97151",
        telehealth=True,
    )
    in_person = await p.session(
        cmgraph_graphql,
        s["client"],
        s["cm"],
        "2026-03-11T09:00-04:00",
        "2026-03-11T11:00-04:00",
        code="97151",
    )
    remote_guidance = await p.session(
        cmgraph_graphql,
        s["client"],
        s["cm"],
        "2026-03-12T09:00-04:00",
        "2026-03-12T10:00-04:00",
        code="97156",
        telehealth=True,
    )

    lines = await _lines(cmgraph_graphql, s["client"])

    if payor is TRICARE:
        [finding] = lines[remote]["findings"]
        assert (finding["code"], finding["severity"], finding["plugin"]) == (
            "TRICARE_97151_TELEHEALTH",
            "ERROR",
            PLUGIN,
        )
        assert "TRICARE East" in finding["message"]
    else:
        assert lines[remote]["findings"] == []
    assert lines[in_person]["findings"] == []
    assert lines[remote_guidance]["findings"] == []


async def test_a_secondary_tricare_coverage_checks_97151_but_the_primary_bills(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client = await p.client(cmgraph_graphql)
    plain = await p.payor(cmgraph_graphql, *PLAIN)
    tricare = await p.payor(cmgraph_graphql, *TRICARE)
    await p.coverage(cmgraph_graphql, client, plain, priority=1)
    await p.coverage(cmgraph_graphql, client, tricare, priority=2)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, plain)
    await p.enroll(cmgraph_graphql, cm, tricare)
    await p.case_manager(cmgraph_graphql, client, cm, "2026-03-01")
    remote = await p.session(
        cmgraph_graphql,
        client,
        cm,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97151",
        telehealth=True,
    )

    line = (await _lines(cmgraph_graphql, client))[remote]

    assert line["payor"]["name"] == "Plain Plan"
    assert line["renderingProvider"]["id"] == cm
    assert _plugin_codes(line) == ["TRICARE_97151_TELEHEALTH"]
