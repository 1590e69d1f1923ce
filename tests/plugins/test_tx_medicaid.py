"""tx_medicaid: the supervising analyst renders, modifiers by deliverer, code and hour limits.

Each scenario runs twice: with a Texas Medicaid payor naming the plugin, and with a plain
payor that does not (the core's defaults: the CM renders, no supervisor, no modifiers, no
Texas Medicaid findings).
"""

from __future__ import annotations

from typing import Any

import practice as p
import pytest
from claims import claim_lines

from tests.support import Api

PLUGIN = "tx_medicaid"
TEXAS = ("Texas Medicaid", "MEDICAID", PLUGIN)
PLAIN = ("Plain Plan", "COMMERCIAL")
BOTH = pytest.mark.parametrize("payor", [TEXAS, PLAIN], ids=["texas", "plain"])


async def _practice(api: Any, payor: tuple[str, ...]) -> dict[str, str]:
    """A client covered by `payor`, a BCBA case manager on ABA from 2026-03-01, and staff."""
    client = await p.client(api)
    plan = await p.payor(api, *payor)
    await p.coverage(api, client, plan)
    cm = await p.provider(api, "Casey", "Manager", "BCBA")
    await p.enroll(api, cm, plan)
    await p.case_manager(api, client, cm, "2026-03-01")
    return {
        "client": client,
        "plan": plan,
        "cm": cm,
        "bcba_d": await p.provider(api, "Dana", "Doctor", "BCBA-D"),
        "bcaba": await p.provider(api, "Ash", "Assistant", "BCaBA"),
        "rbt": await p.provider(api, "Robin", "Tech", "RBT"),
        "bt": await p.provider(api, "Blair", "Tech", "BT"),
        "aide": await p.provider(api, "Alex", "Aide"),
    }


async def _lines(api: Any, client: str) -> dict[str, dict[str, Any]]:
    """Claim lines by appointment id."""
    lines = await claim_lines(api, client, "2026-03-01", "2026-03-31")
    return {line["appointment"]["id"]: line for line in lines}


def _codes(line: dict[str, Any]) -> list[str]:
    return [f["code"] for f in line["findings"]]


async def _on_day(api: Any, s: dict[str, str], who: str, day: int, code: str, **kwargs: Any) -> str:
    """A two-hour session on 2026-03-<day> (after the DST change: -04:00)."""
    return await p.session(
        api,
        s["client"],
        s[who],
        f"2026-03-{day:02d}T09:00-04:00",
        f"2026-03-{day:02d}T11:00-04:00",
        code=code,
        **kwargs,
    )


@BOTH
async def test_the_case_manager_renders_and_the_modifier_says_who_delivered(
    api: Api, payor
) -> None:
    s = await _practice(api, payor)
    sessions = {
        "cm": await _on_day(api, s, "cm", 10, "97155"),
        "bcba_d": await _on_day(api, s, "bcba_d", 11, "97155"),
        "bcaba": await _on_day(api, s, "bcaba", 12, "97153"),
        "rbt": await _on_day(api, s, "rbt", 13, "97153"),
        "bt": await _on_day(api, s, "bt", 14, "97153"),
        "aide": await _on_day(api, s, "aide", 15, "97153"),
    }

    lines = await _lines(api, s["client"])

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
async def test_97151_only_with_ho(api: Api, payor) -> None:
    s = await _practice(api, payor)
    by_cm = await _on_day(api, s, "cm", 10, "97151")
    by_bcaba = await _on_day(api, s, "bcaba", 11, "97151")
    by_rbt = await _on_day(api, s, "rbt", 12, "97151")

    lines = await _lines(api, s["client"])

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
async def test_97155_97156_97158_only_with_ho_or_hn(api: Api, payor) -> None:
    s = await _practice(api, payor)
    allowed, refused = [], []
    day = 9
    for code in ("97155", "97156", "97158"):
        for who, bucket in (("cm", allowed), ("bcaba", allowed), ("rbt", refused)):
            day += 1
            bucket.append(await _on_day(api, s, who, day, code))
    by_aide = await _on_day(api, s, "aide", 20, "97156")

    lines = await _lines(api, s["client"])

    expected = ["TX_MEDICAID_CODE_REQUIRES_HO_OR_HN"] if payor is TEXAS else []
    for appointment in allowed:
        assert _codes(lines[appointment]) == []
    for appointment in (*refused, by_aide):
        assert _codes(lines[appointment]) == expected


@BOTH
async def test_at_most_eight_hours_a_day_across_the_capped_codes(api: Api, payor) -> None:
    s = await _practice(api, payor)
    client, rbt, cm = s["client"], s["rbt"], s["cm"]

    async def at(who: str, start: str, end: str, code: str, **kwargs: Any) -> str:
        return await p.session(
            api,
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
        api, client, rbt, "2026-03-11T08:00-04:00", "2026-03-11T16:00-04:00", code="97153"
    )

    lines = await _lines(api, client)

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


async def test_the_daily_limit_counts_real_hours_across_the_dst_change(api: Api) -> None:
    s = await _practice(api, TEXAS)
    # 2026-03-08 01:00 EST to 05:00 EDT is 3 real hours (4 on the wall clock).
    await p.session(
        api, s["client"], s["rbt"], "2026-03-08T01:00-05:00", "2026-03-08T05:00-04:00", code="97153"
    )
    late = await p.session(
        api, s["client"], s["rbt"], "2026-03-08T05:00-04:00", "2026-03-08T10:00-04:00", code="97153"
    )

    lines = await _lines(api, s["client"])

    assert _codes(lines[late]) == []  # 3 h + 5 h = 8 h, within the limit


@BOTH
async def test_telehealth_only_for_97151_97155_97156_97158(api: Api, payor) -> None:
    s = await _practice(api, payor)
    allowed = [
        await _on_day(api, s, "cm", day, code, telehealth=True)
        for day, code in ((10, "97151"), (11, "97155"), (12, "97156"), (13, "97158"))
    ]
    refused = [
        await _on_day(api, s, "rbt", day, code, telehealth=True)
        for day, code in ((16, "97153"), (17, "97154"))
    ]
    refused.append(await _on_day(api, s, "rbt", 19, None, telehealth=True))  # no code
    in_person = await _on_day(api, s, "rbt", 18, "97153")

    lines = await _lines(api, s["client"])

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


async def test_other_service_lines_keep_the_defaults(api: Api) -> None:
    s = await _practice(api, TEXAS)
    slp = await p.provider(api, "Sam", "Speech", "SLP", "BCBA")  # dual-certified
    await p.enroll(api, slp, s["plan"])
    await p.case_manager(api, s["client"], slp, "2026-03-01", line="ST")
    speech = await p.session(
        api,
        s["client"],
        slp,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="92507",
        telehealth=True,
        line="ST",
    )

    line = (await _lines(api, s["client"]))[speech]

    assert line["renderingProvider"]["id"] == slp
    assert line["modifiers"] == []
    assert line["findings"] == []
