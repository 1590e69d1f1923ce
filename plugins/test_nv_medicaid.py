"""Nevada Medicaid: the deliverer renders, the CM supervises, BCaBA and RBT lines carry UD."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cmgraph.testing import GraphQLClient
from cmgraph.testing import records as p

PLUGIN = "nv_medicaid"
pytestmark = pytest.mark.cmgraph_plugins(Path(__file__).with_name(f"{PLUGIN}.py"))
MARCH = ("2026-03-01", "2026-03-31")

RENDERING = """query($client: ID!, $line: String!, $day: Date!) {
  renderingProvider(clientId: $client, serviceLine: $line, dateOfService: $day) {
    provider { id } assignment { id } findings { code severity rule plugin }
  }
}"""

RULES = "{ rules { name plugin codes description payors { name } } }"


@dataclass
class Case:
    client: str
    payor: str
    cm: str


async def a_case(cmgraph_graphql: GraphQLClient, *, nv: bool = True) -> Case:
    """A client of Nevada Medicaid (or of a plain Medicaid plan) with an enrolled BCBA CM."""
    client = await p.client(cmgraph_graphql)
    payor = (
        await p.payor(cmgraph_graphql, "Nevada Medicaid", "MEDICAID", PLUGIN)
        if nv
        else await p.payor(cmgraph_graphql, "Plain Medicaid", "MEDICAID")
    )
    await p.coverage(cmgraph_graphql, client, payor)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, payor)
    await p.case_manager(cmgraph_graphql, client, cm, "2026-03-01")
    return Case(client, payor, cm)


async def deliverer(
    cmgraph_graphql: GraphQLClient, case: Case, *credentials: str, enrolled: bool = True
) -> str:
    who = await p.provider(cmgraph_graphql, "Dee", "Liverer", *credentials)
    if enrolled:
        await p.enroll(cmgraph_graphql, who, case.payor)
    return who


async def one_session(
    cmgraph_graphql: GraphQLClient, case: Case, who: str, code: str = "97153"
) -> dict[str, Any]:
    await p.session(
        cmgraph_graphql,
        case.client,
        who,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code=code,
    )
    [line] = await p.claim_lines(cmgraph_graphql, case.client, *MARCH)
    assert line["deliveredBy"]["id"] == who
    return line


def plugin_codes(line: dict[str, Any]) -> list[str]:
    return [f["code"] for f in line["findings"] if f["plugin"] == PLUGIN]


def assert_default(line: dict[str, Any], case: Case) -> None:
    assert line["renderingProvider"]["id"] == case.cm
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == []
    assert plugin_codes(line) == []


# --- the deliverer renders, the CM supervises, UD for BCaBA and RBT -------------------------


@pytest.mark.parametrize(
    ("credentials", "code"), [(("RBT",), "97153"), (("BCaBA",), "97155")], ids=["RBT", "BCaBA"]
)
async def test_a_bcaba_or_rbt_renders_their_session_under_the_cm_with_ud(
    cmgraph_graphql: GraphQLClient, credentials: tuple[str, ...], code: str
) -> None:
    case = await a_case(cmgraph_graphql)
    who = await deliverer(cmgraph_graphql, case, *credentials)

    line = await one_session(cmgraph_graphql, case, who, code)

    assert line["renderingProvider"]["id"] == who
    assert line["supervisingProvider"]["id"] == case.cm
    assert line["modifiers"] == ["UD"]
    assert line["findings"] == []


@pytest.mark.parametrize("credentials", [("RBT",), ("BCaBA",)], ids=["RBT", "BCaBA"])
async def test_the_same_session_of_another_payor_keeps_the_default(
    cmgraph_graphql: GraphQLClient, credentials: tuple[str, ...]
) -> None:
    case = await a_case(cmgraph_graphql, nv=False)
    who = await deliverer(cmgraph_graphql, case, *credentials)

    line = await one_session(cmgraph_graphql, case, who)

    assert_default(line, case)
    assert line["findings"] == []


@pytest.mark.parametrize("credentials", [("BCBA",), ("BCBA-D",), ("BCBA", "RBT")])
async def test_a_substitute_analyst_renders_their_session_without_ud(
    cmgraph_graphql: GraphQLClient, credentials: tuple[str, ...]
) -> None:
    case = await a_case(cmgraph_graphql)
    who = await deliverer(cmgraph_graphql, case, *credentials)

    line = await one_session(cmgraph_graphql, case, who, "97155")

    assert line["renderingProvider"]["id"] == who
    assert line["supervisingProvider"]["id"] == case.cm
    assert line["modifiers"] == []
    assert line["findings"] == []


async def test_a_technician_without_rbt_renders_without_a_modifier(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql)
    who = await deliverer(cmgraph_graphql, case, "BT")

    line = await one_session(cmgraph_graphql, case, who)

    assert line["renderingProvider"]["id"] == who
    assert line["supervisingProvider"]["id"] == case.cm
    assert line["modifiers"] == []


async def test_the_case_manager_delivering_renders_without_supervising_themselves(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql)

    line = await one_session(cmgraph_graphql, case, case.cm, "97155")

    assert line["renderingProvider"]["id"] == case.cm
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == []
    assert line["findings"] == []


async def test_without_a_case_manager_the_deliverer_still_renders_unsupervised(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client = await p.client(cmgraph_graphql)
    nv = await p.payor(cmgraph_graphql, "Nevada Medicaid", "MEDICAID", PLUGIN)
    await p.coverage(cmgraph_graphql, client, nv)
    rbt = await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT")
    await p.enroll(cmgraph_graphql, rbt, nv)
    await p.session(
        cmgraph_graphql,
        client,
        rbt,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97153",
    )

    [line] = await p.claim_lines(cmgraph_graphql, client, *MARCH)

    assert line["renderingProvider"]["id"] == rbt
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == ["UD"]
    assert [f["code"] for f in line["findings"]] == ["NO_CASE_MANAGER"]


# --- the deliverer must be enrolled ---------------------------------------------------------


@pytest.mark.parametrize("status", [None, "PENDING", "DENIED"])
async def test_a_deliverer_not_enrolled_is_an_error(
    cmgraph_graphql: GraphQLClient, status: str | None
) -> None:
    case = await a_case(cmgraph_graphql)
    rbt = await deliverer(cmgraph_graphql, case, "RBT", enrolled=False)
    if status:
        await p.enroll(cmgraph_graphql, rbt, case.payor, status=status)

    line = await one_session(cmgraph_graphql, case, rbt)

    assert line["renderingProvider"]["id"] == rbt
    [finding] = line["findings"]
    assert finding["code"] == "NV_MEDICAID_RENDERING_NOT_ENROLLED"
    assert finding["severity"] == "ERROR"
    assert finding["rule"] == "nv_medicaid_rendering_enrollment"
    assert finding["plugin"] == PLUGIN
    assert "Dee Liverer" in finding["message"]
    assert finding["message"].endswith(".")


async def test_an_enrollment_starting_after_the_date_of_service_does_not_count(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql)
    rbt = await deliverer(cmgraph_graphql, case, "RBT", enrolled=False)
    await p.enroll(cmgraph_graphql, rbt, case.payor, since="2026-03-11")

    line = await one_session(cmgraph_graphql, case, rbt)

    assert plugin_codes(line) == ["NV_MEDICAID_RENDERING_NOT_ENROLLED"]


async def test_a_deliverer_not_enrolled_with_another_payor_has_no_plugin_finding(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql, nv=False)
    rbt = await deliverer(cmgraph_graphql, case, "RBT", enrolled=False)

    line = await one_session(cmgraph_graphql, case, rbt)

    assert_default(line, case)
    assert line["findings"] == []


async def test_a_case_manager_not_enrolled_is_reported_once_by_the_core(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client = await p.client(cmgraph_graphql)
    nv = await p.payor(cmgraph_graphql, "Nevada Medicaid", "MEDICAID", PLUGIN)
    await p.coverage(cmgraph_graphql, client, nv)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, nv, until="2026-03-05")
    await p.case_manager(cmgraph_graphql, client, cm, "2026-03-01")
    await p.session(
        cmgraph_graphql,
        client,
        cm,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="97155",
    )

    [line] = await p.claim_lines(cmgraph_graphql, client, *MARCH)

    assert line["renderingProvider"]["id"] == cm
    assert [f["code"] for f in line["findings"]] == ["NOT_CREDENTIALED"]


# --- the payor that decides, and the line ----------------------------------------------------


async def test_nevada_medicaid_as_secondary_payor_changes_nothing(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client = await p.client(cmgraph_graphql)
    plain = await p.payor(cmgraph_graphql, "Plain Plan", "COMMERCIAL")
    nv = await p.payor(cmgraph_graphql, "Nevada Medicaid", "MEDICAID", PLUGIN)
    await p.coverage(cmgraph_graphql, client, plain, priority=1)
    await p.coverage(cmgraph_graphql, client, nv, priority=2)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, plain)
    await p.enroll(cmgraph_graphql, cm, nv)
    await p.case_manager(cmgraph_graphql, client, cm, "2026-03-01")
    rbt = await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT")  # enrolled with neither
    await p.session(
        cmgraph_graphql,
        client,
        rbt,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97153",
    )

    [line] = await p.claim_lines(cmgraph_graphql, client, *MARCH)

    assert line["payor"]["name"] == "Plain Plan"
    assert_default(line, Case(client, plain, cm))
    assert line["findings"] == []


async def test_other_service_lines_keep_the_default(cmgraph_graphql: GraphQLClient) -> None:
    client = await p.client(cmgraph_graphql)
    nv = await p.payor(cmgraph_graphql, "Nevada Medicaid", "MEDICAID", PLUGIN)
    await p.coverage(cmgraph_graphql, client, nv)
    slp = await p.provider(cmgraph_graphql, "Sky", "Speech", "SLP")
    await p.enroll(cmgraph_graphql, slp, nv)
    await p.case_manager(cmgraph_graphql, client, slp, "2026-03-01", line="ST")
    assistant = await p.provider(cmgraph_graphql, "Sol", "Assistant", "SLPA", "RBT")
    await p.session(
        cmgraph_graphql,
        client,
        assistant,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="92507",
        line="ST",
    )

    [line] = await p.claim_lines(cmgraph_graphql, client, *MARCH)

    assert_default(line, Case(client, nv, slp))
    assert line["findings"] == []


# --- a rendering question without one session -----------------------------------------------


async def ask(cmgraph_graphql: GraphQLClient, case: Case, day: str) -> dict[str, Any]:
    data = await cmgraph_graphql(RENDERING, {"client": case.client, "line": "ABA", "day": day})
    return dict(data["renderingProvider"])


async def two_deliverers_on_march_10(cmgraph_graphql: GraphQLClient, case: Case) -> None:
    rbt = await deliverer(cmgraph_graphql, case, "RBT")
    await p.session(
        cmgraph_graphql,
        case.client,
        rbt,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97153",
    )
    await p.session(
        cmgraph_graphql,
        case.client,
        case.cm,
        "2026-03-10T13:00-04:00",
        "2026-03-10T14:00-04:00",
        code="97155",
    )


async def test_without_one_session_there_is_no_deliverer_to_bill(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql)
    await two_deliverers_on_march_10(cmgraph_graphql, case)

    for day in ("2026-03-10", "2026-03-12"):  # two deliverers; no session at all
        answer = await ask(cmgraph_graphql, case, day)
        assert answer["provider"] is None
        assert answer["assignment"] is not None
        assert answer["findings"] == [
            {
                "code": "NV_MEDICAID_DELIVERER_UNKNOWN",
                "severity": "WARNING",
                "rule": "nv_medicaid_deliverer_unknown",
                "plugin": PLUGIN,
            }
        ]


async def test_a_date_with_one_deliverer_is_answered_with_that_deliverer(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql)
    rbt = await deliverer(cmgraph_graphql, case, "RBT")
    await p.session(
        cmgraph_graphql,
        case.client,
        rbt,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97153",
    )
    await p.session(
        cmgraph_graphql,
        case.client,
        rbt,
        "2026-03-10T13:00-04:00",
        "2026-03-10T15:00-04:00",
        code="97153",
    )

    answer = await ask(cmgraph_graphql, case, "2026-03-10")

    assert answer["provider"] == {"id": rbt}
    assert answer["findings"] == []


async def test_a_rendering_question_of_another_payor_gets_the_case_manager(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql, nv=False)
    await two_deliverers_on_march_10(cmgraph_graphql, case)

    for day in ("2026-03-10", "2026-03-12"):
        answer = await ask(cmgraph_graphql, case, day)
        assert answer["provider"] == {"id": case.cm}
        assert answer["findings"] == []


# --- the rules query --------------------------------------------------------------------------


async def test_the_rules_are_listed_as_unverified_with_the_payors_naming_the_plugin(
    cmgraph_graphql: GraphQLClient,
) -> None:
    await p.payor(cmgraph_graphql, "Nevada Medicaid", "MEDICAID", PLUGIN)
    await p.payor(cmgraph_graphql, "Plain Plan", "COMMERCIAL")

    rules = [r for r in (await cmgraph_graphql(RULES))["rules"] if r["plugin"] == PLUGIN]

    assert {r["name"] for r in rules} == {
        "nv_medicaid_rendering",
        "nv_medicaid_supervising",
        "nv_medicaid_modifiers",
        "nv_medicaid_rendering_enrollment",
        "nv_medicaid_deliverer_unknown",
    }
    assert all(r["payors"] == [{"name": "Nevada Medicaid"}] for r in rules)
    sourced = [r for r in rules if r["name"] != "nv_medicaid_deliverer_unknown"]
    assert all("Unverified" in r["description"] for r in sourced)
    codes = {code for r in rules for code in r["codes"]}
    assert codes == {"NV_MEDICAID_RENDERING_NOT_ENROLLED", "NV_MEDICAID_DELIVERER_UNKNOWN"}
