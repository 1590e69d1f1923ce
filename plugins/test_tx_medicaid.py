"""tx_medicaid: the supervising analyst renders, modifiers by deliverer, code and hour limits.

Each scenario runs twice: with a Texas Medicaid payor naming the plugin, and with a plain
payor that does not (the core's defaults: the CM renders, no supervisor, no modifiers, no
Texas Medicaid findings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cmgraph.testing import GraphQLClient
from cmgraph.testing import records as p

PLUGIN = "tx_medicaid"
pytestmark = pytest.mark.cmgraph_plugins(Path(__file__).with_name(f"{PLUGIN}.py"))
TEXAS = ("Texas Medicaid", "MEDICAID", PLUGIN)
PLAIN = ("Plain Plan", "COMMERCIAL")
BOTH = pytest.mark.parametrize("payor", [TEXAS, PLAIN], ids=["texas", "plain"])


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
        "bcba_d": await p.provider(cmgraph_graphql, "Dana", "Doctor", "BCBA-D"),
        "bcaba": await p.provider(cmgraph_graphql, "Ash", "Assistant", "BCaBA"),
        "rbt": await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT"),
        "bt": await p.provider(cmgraph_graphql, "Blair", "Tech", "BT"),
        "aide": await p.provider(cmgraph_graphql, "Alex", "Aide"),
    }


async def _lines(cmgraph_graphql: GraphQLClient, client: str) -> dict[str, dict[str, Any]]:
    """Claim lines by appointment id."""
    lines = await p.claim_lines(cmgraph_graphql, client, "2026-03-01", "2026-03-31")
    return {line["appointment"]["id"]: line for line in lines}


def _codes(line: dict[str, Any]) -> list[str]:
    return [f["code"] for f in line["findings"]]


async def _on_day(
    cmgraph_graphql: GraphQLClient,
    s: dict[str, str],
    who: str,
    day: int,
    code: str | None,
    **kwargs: Any,
) -> str:
    """A two-hour session on 2026-03-<day> (after the DST change: -04:00)."""
    return await p.session(
        cmgraph_graphql,
        s["client"],
        s[who],
        f"2026-03-{day:02d}T09:00-04:00",
        f"2026-03-{day:02d}T11:00-04:00",
        code=code,
        **kwargs,
    )


@BOTH
async def test_the_case_manager_renders_and_the_modifier_says_who_delivered(
    cmgraph_graphql: GraphQLClient, payor: tuple[str, ...]
) -> None:
    s = await _practice(cmgraph_graphql, payor)
    sessions = {
        "cm": await _on_day(cmgraph_graphql, s, "cm", 10, "97155"),
        "bcba_d": await _on_day(cmgraph_graphql, s, "bcba_d", 11, "97155"),
        "bcaba": await _on_day(cmgraph_graphql, s, "bcaba", 12, "97153"),
        "rbt": await _on_day(cmgraph_graphql, s, "rbt", 13, "97153"),
        "bt": await _on_day(cmgraph_graphql, s, "bt", 14, "97153"),
        "aide": await _on_day(cmgraph_graphql, s, "aide", 15, "97153"),
    }

    lines = await _lines(cmgraph_graphql, s["client"])

    texas = payor is TEXAS
    expected = {
        "cm": ["HO"] if texas else [],
        "bcba_d": ["HO"] if texas else [],
        "bcaba": ["HN"] if texas else [],
        "rbt": ["HM"] if texas else [],
        "bt": ["HM"] if texas else [],
        "aide": [],  # no level credential: no modifier
    }
    for who, appointment in sessions.items():
        line = lines[appointment]
        assert line["deliveredBy"]["id"] == s[who]
        assert line["renderingProvider"]["id"] == s["cm"], who
        assert line["supervisingProvider"] is None
        assert line["modifiers"] == expected[who], who
        assert line["findings"] == [], who


@BOTH
async def test_97151_only_with_ho(cmgraph_graphql: GraphQLClient, payor: tuple[str, ...]) -> None:
    s = await _practice(cmgraph_graphql, payor)
    by_cm = await _on_day(cmgraph_graphql, s, "cm", 10, "97151")
    by_bcaba = await _on_day(cmgraph_graphql, s, "bcaba", 11, "97151")
    by_rbt = await _on_day(cmgraph_graphql, s, "rbt", 12, "97151")

    lines = await _lines(cmgraph_graphql, s["client"])

    expected = ["TX_MEDICAID_97151_REQUIRES_HO"] if payor is TEXAS else []
    assert _codes(lines[by_cm]) == []
    assert _codes(lines[by_bcaba]) == expected
    assert _codes(lines[by_rbt]) == expected
    if payor is TEXAS:
        [finding] = lines[by_bcaba]["findings"]
        assert (finding["severity"], finding["rule"], finding["plugin"]) == (
            "ERROR",
            "tx_medicaid_code_levels",
            PLUGIN,
        )
        assert "carries HN (Ash Assistant)" in finding["message"]


@BOTH
async def test_97155_97156_97158_only_with_ho_or_hn(
    cmgraph_graphql: GraphQLClient, payor: tuple[str, ...]
) -> None:
    s = await _practice(cmgraph_graphql, payor)
    allowed: list[str] = []
    refused: list[str] = []
    day = 9
    for code in ("97155", "97156", "97158"):
        for who, bucket in (("cm", allowed), ("bcaba", allowed), ("rbt", refused)):
            day += 1
            bucket.append(await _on_day(cmgraph_graphql, s, who, day, code))
    by_aide = await _on_day(cmgraph_graphql, s, "aide", 20, "97156")

    lines = await _lines(cmgraph_graphql, s["client"])

    expected = ["TX_MEDICAID_CODE_REQUIRES_HO_OR_HN"] if payor is TEXAS else []
    for appointment in allowed:
        assert _codes(lines[appointment]) == []
    for appointment in (*refused, by_aide):
        assert _codes(lines[appointment]) == expected


@BOTH
async def test_at_most_eight_hours_a_day_across_the_capped_codes(
    cmgraph_graphql: GraphQLClient, payor: tuple[str, ...]
) -> None:
    s = await _practice(cmgraph_graphql, payor)
    client, rbt, cm = s["client"], s["rbt"], s["cm"]

    async def at(who: str, start: str, end: str, code: str, **kwargs: Any) -> str:
        return await p.session(
            cmgraph_graphql,
            client,
            who,
            f"2026-03-10T{start}-04:00",
            f"2026-03-10T{end}-04:00",
            code=code,
            **kwargs,
        )

    no_show = await at(rbt, "06:00", "08:00", "97153", status="NO_SHOW")  # not counted
    first = await at(rbt, "08:00", "12:00", "97153")  # 4 h
    guidance = await at(cm, "12:00", "15:00", "97156")  # not a capped code
    group = await at(rbt, "12:00", "15:00", "97154")  # 7 h
    crossing = await at(cm, "15:00", "17:00", "97158")  # 9 h: past the limit
    after = await at(rbt, "17:00", "18:00", "97153")  # 10 h
    # Another day at exactly 8 hours is within the limit.
    await p.session(
        cmgraph_graphql,
        client,
        rbt,
        "2026-03-11T08:00-04:00",
        "2026-03-11T16:00-04:00",
        code="97153",
    )

    lines = await _lines(cmgraph_graphql, client)

    over = ["TX_MEDICAID_DAILY_LIMIT"] if payor is TEXAS else []
    for appointment in (no_show, first, guidance, group):
        assert _codes(lines[appointment]) == []
    assert _codes(lines[crossing]) == over
    assert _codes(lines[after]) == over
    eleventh = [line for line in lines.values() if line["dateOfService"] == "2026-03-11"]
    assert [_codes(line) for line in eleventh] == [[]]
    if payor is TEXAS:
        [finding] = lines[crossing]["findings"]
        assert finding["severity"] == "ERROR"
        assert "total 10 h" in finding["message"]


async def test_the_daily_limit_counts_real_hours_across_the_dst_change(
    cmgraph_graphql: GraphQLClient,
) -> None:
    s = await _practice(cmgraph_graphql, TEXAS)
    # 2026-03-08 01:00 EST to 05:00 EDT is 3 real hours (4 on the wall clock).
    await p.session(
        cmgraph_graphql,
        s["client"],
        s["rbt"],
        "2026-03-08T01:00-05:00",
        "2026-03-08T05:00-04:00",
        code="97153",
    )
    late = await p.session(
        cmgraph_graphql,
        s["client"],
        s["rbt"],
        "2026-03-08T05:00-04:00",
        "2026-03-08T10:00-04:00",
        code="97153",
    )

    lines = await _lines(cmgraph_graphql, s["client"])

    assert _codes(lines[late]) == []  # 3 h + 5 h = 8 h, within the limit


@BOTH
async def test_telehealth_only_for_97151_97155_97156_97158(
    cmgraph_graphql: GraphQLClient, payor: tuple[str, ...]
) -> None:
    s = await _practice(cmgraph_graphql, payor)
    allowed = [
        await _on_day(cmgraph_graphql, s, "cm", day, code, telehealth=True)
        for day, code in ((10, "97151"), (11, "97155"), (12, "97156"), (13, "97158"))
    ]
    refused = [
        await _on_day(cmgraph_graphql, s, "rbt", day, code, telehealth=True)
        for day, code in ((16, "97153"), (17, "97154"))
    ]
    refused.append(await _on_day(cmgraph_graphql, s, "rbt", 19, None, telehealth=True))  # no code
    in_person = await _on_day(cmgraph_graphql, s, "rbt", 18, "97153")

    lines = await _lines(cmgraph_graphql, s["client"])

    expected = ["TX_MEDICAID_TELEHEALTH_CODE"] if payor is TEXAS else []
    for appointment in (*allowed, in_person):
        assert _codes(lines[appointment]) == []
    for appointment in refused:
        assert _codes(lines[appointment]) == expected
    if payor is TEXAS:
        assert (
            "97153 on 2026-03-16 was delivered by telehealth"
            in (lines[refused[0]]["findings"][0]["message"])
        )


async def test_other_service_lines_keep_the_defaults(cmgraph_graphql: GraphQLClient) -> None:
    s = await _practice(cmgraph_graphql, TEXAS)
    slp = await p.provider(cmgraph_graphql, "Sam", "Speech", "SLP", "BCBA")  # dual-certified
    await p.enroll(cmgraph_graphql, slp, s["plan"])
    await p.case_manager(cmgraph_graphql, s["client"], slp, "2026-03-01", line="ST")
    speech = await p.session(
        cmgraph_graphql,
        s["client"],
        slp,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="92507",
        telehealth=True,
        line="ST",
    )

    line = (await _lines(cmgraph_graphql, s["client"]))[speech]

    assert line["renderingProvider"]["id"] == slp
    assert line["modifiers"] == []
    assert line["findings"] == []
