"""bcbs_tx_tiers: 97153 lines carry HO/HN/HM by who delivered them, from 2021-04-01."""

from __future__ import annotations

from typing import Any, cast

import practice as p
from claims import claim_lines

from cmgraph.plugins import RuleBook
from tests.support import Api

PLUGIN = "bcbs_tx_tiers"


async def _provider_with(api: Any, first: str, last: str, *credentials: dict[str, Any]) -> str:
    data = await api(
        "mutation($input: CreateProviderInput!) { createProvider(input: $input) "
        "{ provider { id } userErrors { code field message } } }",
        {
            "input": {
                "firstName": first,
                "lastName": last,
                "npi": p.new_npi(),
                "credentials": list(credentials),
            }
        },
    )
    assert data["createProvider"]["userErrors"] == []
    return cast("str", data["createProvider"]["provider"]["id"])


async def _practice(api: Any, *plugins: str, since: str = "2025-01-01") -> tuple[str, str]:
    """A client covered by a payor naming `plugins`, with a BCBA case manager enrolled."""
    client = await p.client(api)
    plan = await p.payor(api, "BCBS Texas" if plugins else "Plain Plan", "COMMERCIAL", *plugins)
    await p.coverage(api, client, plan, since=since)
    cm = await p.provider(api, "Casey", "Manager", "BCBA")
    await p.enroll(api, cm, plan, since=since)
    await p.case_manager(api, client, cm, since)
    return client, cm


async def _tiers_by_deliverer(api: Any, *plugins: str) -> tuple[str, dict[str, list[str]]]:
    """One 97153 session in March 2026 by each kind of staff; modifiers by deliverer name."""
    client, cm = await _practice(api, *plugins)
    staff = {
        "BCBA": cm,
        "BCBA-D": await p.provider(api, "Dana", "Doctor", "BCBA-D"),
        "RBT": await p.provider(api, "Robin", "Tech", "RBT"),
        "BCaBA": await p.provider(api, "Ash", "Assistant", "BCaBA"),
        "Bachelors": await p.provider(api, "Bea", "Graduate", "BACHELORS"),
        "BT": await p.provider(api, "Bo", "Tech", "BT"),
        "None": await p.provider(api, "Nel", "Aide"),
        "BCBA+RBT": await p.provider(api, "Max", "Both", "RBT", "BCBA"),
    }
    for day, provider in enumerate(staff.values(), start=10):
        await p.session(
            api,
            client,
            provider,
            f"2026-03-{day}T09:00-04:00",
            f"2026-03-{day}T11:00-04:00",
            code="97153",
        )
    lines = await claim_lines(api, client, "2026-03-01", "2026-03-31")
    assert len(lines) == len(staff)
    by_id = {line["deliveredBy"]["id"]: line for line in lines}
    for line in lines:
        assert line["renderingProvider"]["id"] == cm
        assert line["supervisingProvider"] is None
        assert line["findings"] == []
    return cm, {kind: by_id[provider]["modifiers"] for kind, provider in staff.items()}


async def test_97153_carries_the_tier_of_whoever_delivered_it(api: Api) -> None:
    _, tiers = await _tiers_by_deliverer(api, PLUGIN)

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


async def test_a_payor_without_the_plugin_gets_no_tier_modifiers(api: Api) -> None:
    _, tiers = await _tiers_by_deliverer(api)

    assert set(map(tuple, tiers.values())) == {()}


async def test_the_tier_follows_the_credentials_current_on_the_date_of_service(api: Api) -> None:
    client, _ = await _practice(api, PLUGIN)
    rbt = await _provider_with(api, "Robin", "Lapsed", {"type": "RBT", "expiresOn": "2026-03-15"})
    for day in ("10", "20"):
        await p.session(
            api,
            client,
            rbt,
            f"2026-03-{day}T09:00-04:00",
            f"2026-03-{day}T11:00-04:00",
            code="97153",
        )

    lines = await claim_lines(api, client, "2026-03-01", "2026-03-31")

    assert [(line["dateOfService"], line["modifiers"]) for line in lines] == [
        ("2026-03-10", ["HN"]),
        ("2026-03-20", ["HM"]),
    ]


async def _other_codes(api: Any, *plugins: str) -> list[list[str]]:
    client, cm = await _practice(api, *plugins)
    rbt = await p.provider(api, "Robin", "Tech", "RBT")
    sessions = [(cm, "97155"), (cm, "97151"), (rbt, "97154"), (rbt, "97152"), (rbt, None)]
    for day, (provider, code) in enumerate(sessions, start=10):
        await p.session(
            api,
            client,
            provider,
            f"2026-03-{day}T09:00-04:00",
            f"2026-03-{day}T10:00-04:00",
            code=code,
        )
    lines = await claim_lines(api, client, "2026-03-01", "2026-03-31")
    assert len(lines) == len(sessions)
    return [line["modifiers"] for line in lines]


async def test_only_97153_is_tiered(api: Api) -> None:
    assert await _other_codes(api, PLUGIN) == [[]] * 5


async def test_other_codes_without_the_plugin_have_no_modifiers_either(api: Api) -> None:
    assert await _other_codes(api) == [[]] * 5


async def _around_the_effective_date(api: Any, *plugins: str) -> list[tuple[str, list[str]]]:
    client, _ = await _practice(api, *plugins, since="2021-01-01")
    rbt = await p.provider(api, "Robin", "Tech", "RBT")
    # 23:30 on March 31 and 00:30 on April 1, New York time (EDT since 2021-03-14).
    for starts, ends in (
        ("2021-03-31T23:30-04:00", "2021-03-31T23:59-04:00"),
        ("2021-04-01T00:30-04:00", "2021-04-01T01:30-04:00"),
    ):
        await p.session(api, client, rbt, starts, ends, code="97153")
    lines = await claim_lines(api, client, "2021-03-01", "2021-04-30")
    return [(line["dateOfService"], line["modifiers"]) for line in lines]


async def test_no_tier_modifier_before_2021_04_01(api: Api) -> None:
    assert await _around_the_effective_date(api, PLUGIN) == [
        ("2021-03-31", []),
        ("2021-04-01", ["HN"]),
    ]


async def test_without_the_plugin_neither_date_has_a_modifier(api: Api) -> None:
    assert await _around_the_effective_date(api) == [("2021-03-31", []), ("2021-04-01", [])]


async def test_the_rule_is_listed_for_the_payor_only(book: RuleBook) -> None:
    [info] = [r for r in book.rules() if r.plugin == PLUGIN]
    assert info.name == "tiered_97153_modifiers"
    assert info.applies_to_all_payors is False
