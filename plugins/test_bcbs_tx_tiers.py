"""bcbs_tx_tiers: 97153 lines carry HO/HN/HM by who delivered them, from 2021-04-01."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmgraph.testing import GraphQLClient, RuleBook
from cmgraph.testing import records as p

PLUGIN = "bcbs_tx_tiers"
pytestmark = pytest.mark.cmgraph_plugins(Path(__file__).with_name(f"{PLUGIN}.py"))


async def _practice(
    cmgraph_graphql: GraphQLClient, *plugins: str, since: str = "2025-01-01"
) -> tuple[str, str]:
    """A client covered by a payor naming `plugins`, with a BCBA case manager enrolled."""
    client = await p.client(cmgraph_graphql)
    plan = await p.payor(
        cmgraph_graphql, "BCBS Texas" if plugins else "Plain Plan", "COMMERCIAL", *plugins
    )
    await p.coverage(cmgraph_graphql, client, plan, since=since)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, plan, since=since)
    await p.case_manager(cmgraph_graphql, client, cm, since)
    return client, cm


async def _tiers_by_deliverer(
    cmgraph_graphql: GraphQLClient, *plugins: str
) -> tuple[str, dict[str, list[str]]]:
    """One 97153 session in March 2026 by each kind of staff; modifiers by deliverer name."""
    client, cm = await _practice(cmgraph_graphql, *plugins)
    staff = {
        "BCBA": cm,
        "BCBA-D": await p.provider(cmgraph_graphql, "Dana", "Doctor", "BCBA-D"),
        "RBT": await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT"),
        "BCaBA": await p.provider(cmgraph_graphql, "Ash", "Assistant", "BCaBA"),
        "Bachelors": await p.provider(cmgraph_graphql, "Bea", "Graduate", "BACHELORS"),
        "BT": await p.provider(cmgraph_graphql, "Bo", "Tech", "BT"),
        "None": await p.provider(cmgraph_graphql, "Nel", "Aide"),
        "BCBA+RBT": await p.provider(cmgraph_graphql, "Max", "Both", "RBT", "BCBA"),
    }
    for day, provider in enumerate(staff.values(), start=10):
        await p.session(
            cmgraph_graphql,
            client,
            provider,
            f"2026-03-{day}T09:00-04:00",
            f"2026-03-{day}T11:00-04:00",
            code="97153",
        )
    lines = await p.claim_lines(cmgraph_graphql, client, "2026-03-01", "2026-03-31")
    assert len(lines) == len(staff)
    by_id = {line["deliveredBy"]["id"]: line for line in lines}
    for line in lines:
        assert line["renderingProvider"]["id"] == cm
        assert line["supervisingProvider"] is None
        assert line["findings"] == []
    return cm, {kind: by_id[provider]["modifiers"] for kind, provider in staff.items()}


async def test_97153_carries_the_tier_of_whoever_delivered_it(
    cmgraph_graphql: GraphQLClient,
) -> None:
    _, tiers = await _tiers_by_deliverer(cmgraph_graphql, PLUGIN)

    assert tiers == {
        "BCBA": ["HO"],
        "BCBA-D": ["HO"],
        "RBT": ["HN"],
        "BCaBA": ["HN"],
        "Bachelors": ["HN"],
        "BT": ["HM"],
        "None": ["HM"],
        "BCBA+RBT": ["HO"],
    }


async def test_a_payor_without_the_plugin_gets_no_tier_modifiers(
    cmgraph_graphql: GraphQLClient,
) -> None:
    _, tiers = await _tiers_by_deliverer(cmgraph_graphql)

    assert set(map(tuple, tiers.values())) == {()}


async def test_the_tier_follows_the_credentials_current_on_the_date_of_service(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client, _ = await _practice(cmgraph_graphql, PLUGIN)
    rbt = await p.provider(
        cmgraph_graphql, "Robin", "Lapsed", {"type": "RBT", "expiresOn": "2026-03-15"}
    )
    for day in ("10", "20"):
        await p.session(
            cmgraph_graphql,
            client,
            rbt,
            f"2026-03-{day}T09:00-04:00",
            f"2026-03-{day}T11:00-04:00",
            code="97153",
        )

    lines = await p.claim_lines(cmgraph_graphql, client, "2026-03-01", "2026-03-31")

    assert [(line["dateOfService"], line["modifiers"]) for line in lines] == [
        ("2026-03-10", ["HN"]),
        ("2026-03-20", ["HM"]),
    ]


async def _other_codes(cmgraph_graphql: GraphQLClient, *plugins: str) -> list[list[str]]:
    client, cm = await _practice(cmgraph_graphql, *plugins)
    rbt = await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT")
    sessions = [(cm, "97155"), (cm, "97151"), (rbt, "97154"), (rbt, "97152"), (rbt, None)]
    for day, (provider, code) in enumerate(sessions, start=10):
        await p.session(
            cmgraph_graphql,
            client,
            provider,
            f"2026-03-{day}T09:00-04:00",
            f"2026-03-{day}T10:00-04:00",
            code=code,
        )
    lines = await p.claim_lines(cmgraph_graphql, client, "2026-03-01", "2026-03-31")
    assert len(lines) == len(sessions)
    return [line["modifiers"] for line in lines]


async def test_only_97153_is_tiered(cmgraph_graphql: GraphQLClient) -> None:
    assert await _other_codes(cmgraph_graphql, PLUGIN) == [[]] * 5


async def test_other_codes_without_the_plugin_have_no_modifiers_either(
    cmgraph_graphql: GraphQLClient,
) -> None:
    assert await _other_codes(cmgraph_graphql) == [[]] * 5


async def _around_the_effective_date(
    cmgraph_graphql: GraphQLClient, *plugins: str
) -> list[tuple[str, list[str]]]:
    client, _ = await _practice(cmgraph_graphql, *plugins, since="2021-01-01")
    rbt = await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT")
    # 23:30 on March 31 and 00:30 on April 1, New York time (EDT since 2021-03-14).
    for starts, ends in (
        ("2021-03-31T23:30-04:00", "2021-03-31T23:59-04:00"),
        ("2021-04-01T00:30-04:00", "2021-04-01T01:30-04:00"),
    ):
        await p.session(cmgraph_graphql, client, rbt, starts, ends, code="97153")
    lines = await p.claim_lines(cmgraph_graphql, client, "2021-03-01", "2021-04-30")
    return [(line["dateOfService"], line["modifiers"]) for line in lines]


async def test_no_tier_modifier_before_2021_04_01(cmgraph_graphql: GraphQLClient) -> None:
    assert await _around_the_effective_date(cmgraph_graphql, PLUGIN) == [
        ("2021-03-31", []),
        ("2021-04-01", ["HN"]),
    ]


async def test_without_the_plugin_neither_date_has_a_modifier(
    cmgraph_graphql: GraphQLClient,
) -> None:
    assert await _around_the_effective_date(cmgraph_graphql) == [
        ("2021-03-31", []),
        ("2021-04-01", []),
    ]


async def test_the_rule_is_listed_for_the_payor_only(cmgraph_book: RuleBook) -> None:
    [info] = [r for r in cmgraph_book.rules() if r.plugin == PLUGIN]
    assert info.name == "tiered_97153_modifiers"
    assert info.applies_to_all_payors is False
