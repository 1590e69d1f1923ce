"""Claim lines without payor plugins: the CM renders, no supervisor, no modifiers."""

from __future__ import annotations

from cmgraph.testing import records as p
from tests.support import Api


async def test_the_default_claim_line_renders_under_the_case_manager(api: Api) -> None:
    client = await p.client(api)
    plan = await p.payor(api, "Plain Plan", "COMMERCIAL")
    await p.coverage(api, client, plan)
    bcba = await p.provider(api, "Casey", "Manager", "BCBA")
    rbt = await p.provider(api, "Robin", "Tech", "RBT")
    await p.enroll(api, bcba, plan)
    await p.case_manager(api, client, bcba, "2026-03-01")
    await p.session(
        api, client, rbt, "2026-03-10T09:00-05:00", "2026-03-10T11:00-05:00", code="97153"
    )

    [line] = await p.claim_lines(api, client, "2026-03-01", "2026-03-31")

    assert line["renderingProvider"]["id"] == bcba
    assert line["deliveredBy"]["id"] == rbt
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == []
    assert line["serviceCode"] == "97153"
    assert line["payor"]["name"] == "Plain Plan"
    assert line["findings"] == []


async def test_a_session_without_a_case_manager_has_no_rendering_provider(api: Api) -> None:
    client = await p.client(api)
    rbt = await p.provider(api, "Robin", "Tech", "RBT")
    await p.session(api, client, rbt, "2026-03-10T09:00-05:00", "2026-03-10T10:00-05:00")

    [line] = await p.claim_lines(api, client, "2026-03-01", "2026-03-31")

    assert line["renderingProvider"] is None
    assert line["payor"] is None
    assert [f["code"] for f in line["findings"]] == ["NO_CASE_MANAGER"]


async def test_cancelled_sessions_have_no_claim_line_unless_asked_for(api: Api) -> None:
    client = await p.client(api)
    rbt = await p.provider(api, "Robin", "Tech", "RBT")
    await p.session(
        api,
        client,
        rbt,
        "2026-03-10T09:00-05:00",
        "2026-03-10T10:00-05:00",
        status="CANCELLED",
    )

    assert await p.claim_lines(api, client, "2026-03-01", "2026-03-31") == []
    data = await api(
        'query($c: ID) { claimLines(from: "2026-03-01", to: "2026-03-31", clientId: $c, '
        "statuses: [CANCELLED]) { totalCount } }",
        {"c": client},
    )
    assert data["claimLines"]["totalCount"] == 1
