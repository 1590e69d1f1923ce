"""MO HealthNet: analysts render their own sessions, technicians render under the CM (HM+)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cmgraph.testing import GraphQLClient
from cmgraph.testing import records as p

PLUGIN = "mo_healthnet"
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


async def a_case(
    cmgraph_graphql: GraphQLClient, *, mo: bool = True, cm_credentials: tuple[str, ...] = ("BCBA",)
) -> Case:
    """A client of MO HealthNet (or of a plain Medicaid plan) with an enrolled CM from March 1."""
    client = await p.client(cmgraph_graphql)
    payor = (
        await p.payor(cmgraph_graphql, "MO HealthNet", "MEDICAID", PLUGIN)
        if mo
        else await p.payor(cmgraph_graphql, "Plain Medicaid", "MEDICAID")
    )
    await p.coverage(cmgraph_graphql, client, payor)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", *cm_credentials)
    await p.enroll(cmgraph_graphql, cm, payor)
    await p.case_manager(cmgraph_graphql, client, cm, "2026-03-01")
    return Case(client, payor, cm)


async def only_line(cmgraph_graphql: GraphQLClient, case: Case) -> dict[str, Any]:
    [line] = await p.claim_lines(cmgraph_graphql, case.client, *MARCH)
    return line


def plugin_codes(line: dict[str, Any]) -> list[str]:
    return [f["code"] for f in line["findings"] if f["plugin"] == PLUGIN]


def assert_default(line: dict[str, Any], case: Case) -> None:
    assert line["renderingProvider"]["id"] == case.cm
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == []
    assert plugin_codes(line) == []


# --- technicians render under the supervising CM, with HM plus the supervisor's modifier ---


@pytest.mark.parametrize("credential", ["RBT", "BT"])
async def test_a_technician_session_renders_under_a_bcba_case_manager_with_hm_ho(
    cmgraph_graphql: GraphQLClient, credential: str
) -> None:
    case = await a_case(cmgraph_graphql)
    tech = await p.provider(cmgraph_graphql, "Robin", "Tech", credential)
    await p.session(
        cmgraph_graphql,
        case.client,
        tech,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97153",
    )

    line = await only_line(cmgraph_graphql, case)

    assert line["deliveredBy"]["id"] == tech
    assert line["renderingProvider"]["id"] == case.cm
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == ["HM", "HO"]
    assert line["findings"] == []


@pytest.mark.parametrize("credentials", [("BCBA-D",), ("BCaBA", "BCBA")])
async def test_a_bcba_d_supervisor_or_one_also_holding_bcaba_gives_ho(
    cmgraph_graphql: GraphQLClient, credentials: tuple[str, ...]
) -> None:
    case = await a_case(cmgraph_graphql, cm_credentials=credentials)
    rbt = await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT")
    await p.session(
        cmgraph_graphql,
        case.client,
        rbt,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97153",
    )

    line = await only_line(cmgraph_graphql, case)

    assert line["renderingProvider"]["id"] == case.cm
    assert line["modifiers"] == ["HM", "HO"]


async def test_a_technician_session_under_a_bcaba_case_manager_gets_hm_hn(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql, cm_credentials=("BCaBA",))
    rbt = await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT")
    await p.session(
        cmgraph_graphql,
        case.client,
        rbt,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97153",
    )

    line = await only_line(cmgraph_graphql, case)

    assert line["renderingProvider"]["id"] == case.cm
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == ["HM", "HN"]
    assert line["findings"] == []


async def test_a_technician_session_of_another_payor_keeps_the_default(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql, mo=False)
    rbt = await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT")
    await p.session(
        cmgraph_graphql,
        case.client,
        rbt,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97153",
    )

    line = await only_line(cmgraph_graphql, case)

    assert_default(line, case)
    assert line["findings"] == []


# --- a BCaBA may be the supervising CM for MO HealthNet -------------------------------------


async def test_a_bcaba_qualifies_as_case_manager_only_for_mo_healthnet(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client = await p.client(cmgraph_graphql)
    mo = await p.payor(cmgraph_graphql, "MO HealthNet", "MEDICAID", PLUGIN)
    await p.coverage(cmgraph_graphql, client, mo)
    bcaba = await p.provider(cmgraph_graphql, "Avery", "Assistant", "BCaBA")
    await p.enroll(cmgraph_graphql, bcaba, mo)
    added = await p.add_case_manager(cmgraph_graphql, client, bcaba, "2026-03-01")
    assert added["userErrors"] == []

    other = await p.client(cmgraph_graphql, "Grace", "Hopper")
    plain = await p.payor(cmgraph_graphql, "Plain Medicaid", "MEDICAID")
    await p.coverage(cmgraph_graphql, other, plain)
    await p.enroll(cmgraph_graphql, bcaba, plain)
    refused = await p.add_case_manager(cmgraph_graphql, other, bcaba, "2026-03-01")
    assert [e["code"] for e in refused["userErrors"]] == ["DISCIPLINE_MISMATCH"]


async def test_a_bcaba_is_no_case_manager_of_other_lines_for_mo_healthnet(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client = await p.client(cmgraph_graphql)
    mo = await p.payor(cmgraph_graphql, "MO HealthNet", "MEDICAID", PLUGIN)
    await p.coverage(cmgraph_graphql, client, mo)
    bcaba = await p.provider(cmgraph_graphql, "Avery", "Assistant", "BCaBA")
    await p.enroll(cmgraph_graphql, bcaba, mo)

    refused = await p.add_case_manager(cmgraph_graphql, client, bcaba, "2026-03-01", line="ST")

    assert [e["code"] for e in refused["userErrors"]] == ["DISCIPLINE_MISMATCH"]


async def a_lapsing_bcba_who_is_also_a_bcaba(
    cmgraph_graphql: GraphQLClient, payor: str
) -> tuple[str, str]:
    """(client, CM): a CM from March 1 whose BCBA lapses on March 15, holding a BCaBA."""
    client = await p.client(cmgraph_graphql)
    await p.coverage(cmgraph_graphql, client, payor)
    lapsing = {"type": "BCBA", "expiresOn": "2026-03-15"}
    cm = await p.provider(cmgraph_graphql, "Lee", "Lapsed", lapsing, "BCaBA")
    await p.enroll(cmgraph_graphql, cm, payor)
    await p.case_manager(cmgraph_graphql, client, cm, "2026-03-01")
    for day in ("2026-03-15", "2026-03-20"):
        await p.session(cmgraph_graphql, client, cm, f"{day}T09:00-04:00", f"{day}T10:00-04:00")
    return client, cm


def mismatch_days(lines: list[dict[str, Any]]) -> list[str]:
    return [
        line["dateOfService"]
        for line in lines
        if "DISCIPLINE_MISMATCH" in [f["code"] for f in line["findings"]]
    ]


async def test_after_the_bcba_lapses_the_bcaba_still_qualifies_for_mo_healthnet_only(
    cmgraph_graphql: GraphQLClient,
) -> None:
    """Rule 3 in hindsight follows the payor's widened list: the claim lines of a session
    after the BCBA lapsed are clean for MO HealthNet, a DISCIPLINE_MISMATCH for another plan."""
    mo = await p.payor(cmgraph_graphql, "MO HealthNet", "MEDICAID", PLUGIN)
    plain = await p.payor(cmgraph_graphql, "Plain Medicaid", "MEDICAID")
    widened, _ = await a_lapsing_bcba_who_is_also_a_bcaba(cmgraph_graphql, mo)
    defaults, _ = await a_lapsing_bcba_who_is_also_a_bcaba(cmgraph_graphql, plain)

    assert mismatch_days(await p.claim_lines(cmgraph_graphql, widened, *MARCH)) == []
    assert mismatch_days(await p.claim_lines(cmgraph_graphql, defaults, *MARCH)) == ["2026-03-20"]


# --- analysts render their own sessions, with their own level modifier ----------------------


async def test_an_enrolled_substitute_bcba_renders_their_own_session_with_ho(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql)
    substitute = await p.provider(cmgraph_graphql, "Sam", "Substitute", "BCBA")
    await p.enroll(cmgraph_graphql, substitute, case.payor)
    await p.session(
        cmgraph_graphql,
        case.client,
        substitute,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="97155",
    )

    line = await only_line(cmgraph_graphql, case)

    assert line["renderingProvider"]["id"] == substitute
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == ["HO"]
    assert line["findings"] == []


async def test_an_enrolled_bcaba_renders_their_own_session_with_hn(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql)
    bcaba = await p.provider(cmgraph_graphql, "Avery", "Assistant", "BCaBA")
    await p.enroll(cmgraph_graphql, bcaba, case.payor)
    await p.session(
        cmgraph_graphql,
        case.client,
        bcaba,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="97155",
    )

    line = await only_line(cmgraph_graphql, case)

    assert line["renderingProvider"]["id"] == bcaba
    assert line["modifiers"] == ["HN"]
    assert line["findings"] == []


async def test_a_bcba_d_case_manager_delivering_renders_with_ho(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql, cm_credentials=("BCBA-D",))
    await p.session(
        cmgraph_graphql,
        case.client,
        case.cm,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="97156",
    )

    line = await only_line(cmgraph_graphql, case)

    assert line["renderingProvider"]["id"] == case.cm
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == ["HO"]
    assert line["findings"] == []


async def test_an_analyst_also_holding_rbt_counts_as_the_analyst(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql)
    both = await p.provider(cmgraph_graphql, "Dana", "Dual", "RBT", "BCaBA")
    await p.enroll(cmgraph_graphql, both, case.payor)
    await p.session(
        cmgraph_graphql,
        case.client,
        both,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97153",
    )

    line = await only_line(cmgraph_graphql, case)

    assert line["renderingProvider"]["id"] == both
    assert line["modifiers"] == ["HN"]


async def test_a_substitute_analyst_of_another_payor_keeps_the_default(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql, mo=False)
    substitute = await p.provider(cmgraph_graphql, "Sam", "Substitute", "BCaBA")
    await p.enroll(cmgraph_graphql, substitute, case.payor)
    await p.session(
        cmgraph_graphql,
        case.client,
        substitute,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="97155",
    )

    line = await only_line(cmgraph_graphql, case)

    assert_default(line, case)
    assert line["findings"] == []


# --- the analyst who renders must be enrolled -----------------------------------------------


@pytest.mark.parametrize("enrollment", [None, "PENDING"])
async def test_an_analyst_rendering_without_enrollment_is_an_error(
    cmgraph_graphql: GraphQLClient, enrollment: str | None
) -> None:
    case = await a_case(cmgraph_graphql)
    substitute = await p.provider(cmgraph_graphql, "Sam", "Substitute", "BCBA")
    if enrollment:
        await p.enroll(cmgraph_graphql, substitute, case.payor, status=enrollment)
    await p.session(
        cmgraph_graphql,
        case.client,
        substitute,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="97155",
    )

    line = await only_line(cmgraph_graphql, case)

    assert line["renderingProvider"]["id"] == substitute
    [finding] = line["findings"]
    assert finding["code"] == "MO_HEALTHNET_RENDERING_NOT_ENROLLED"
    assert finding["severity"] == "ERROR"
    assert finding["rule"] == "mo_healthnet_rendering_enrollment"
    assert finding["plugin"] == PLUGIN
    assert "Sam Substitute" in finding["message"]
    assert finding["message"].endswith(".")


async def test_an_enrollment_ended_before_the_date_of_service_does_not_count(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql)
    bcaba = await p.provider(cmgraph_graphql, "Avery", "Assistant", "BCaBA")
    await p.enroll(cmgraph_graphql, bcaba, case.payor, until="2026-03-09")
    await p.session(
        cmgraph_graphql,
        case.client,
        bcaba,
        "2026-03-09T09:00-05:00",
        "2026-03-09T10:00-05:00",
        code="97155",
    )
    await p.session(
        cmgraph_graphql,
        case.client,
        bcaba,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="97155",
    )

    first, second = await p.claim_lines(cmgraph_graphql, case.client, *MARCH)

    assert (first["dateOfService"], plugin_codes(first)) == ("2026-03-09", [])
    assert (second["dateOfService"], plugin_codes(second)) == (
        "2026-03-10",
        ["MO_HEALTHNET_RENDERING_NOT_ENROLLED"],
    )


async def test_a_technician_needs_no_enrollment(cmgraph_graphql: GraphQLClient) -> None:
    case = await a_case(cmgraph_graphql)
    rbt = await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT")
    await p.session(
        cmgraph_graphql,
        case.client,
        rbt,
        "2026-03-10T09:00-04:00",
        "2026-03-10T11:00-04:00",
        code="97153",
    )

    line = await only_line(cmgraph_graphql, case)

    assert plugin_codes(line) == []


async def test_a_case_manager_not_enrolled_is_reported_once_by_the_core(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client = await p.client(cmgraph_graphql)
    mo = await p.payor(cmgraph_graphql, "MO HealthNet", "MEDICAID", PLUGIN)
    await p.coverage(cmgraph_graphql, client, mo)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, mo, until="2026-03-05")
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

    assert [f["code"] for f in line["findings"]] == ["NOT_CREDENTIALED"]


async def test_an_unenrolled_analyst_of_another_payor_has_no_plugin_finding(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql, mo=False)
    substitute = await p.provider(cmgraph_graphql, "Sam", "Substitute", "BCBA")
    await p.session(
        cmgraph_graphql,
        case.client,
        substitute,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="97155",
    )

    line = await only_line(cmgraph_graphql, case)

    assert_default(line, case)
    assert line["findings"] == []


# --- the payor that decides, and the line ----------------------------------------------------


async def test_mo_healthnet_as_secondary_payor_changes_nothing(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client = await p.client(cmgraph_graphql)
    plain = await p.payor(cmgraph_graphql, "Plain Plan", "COMMERCIAL")
    mo = await p.payor(cmgraph_graphql, "MO HealthNet", "MEDICAID", PLUGIN)
    await p.coverage(cmgraph_graphql, client, plain, priority=1)
    await p.coverage(cmgraph_graphql, client, mo, priority=2)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, plain)
    await p.enroll(cmgraph_graphql, cm, mo)
    await p.case_manager(cmgraph_graphql, client, cm, "2026-03-01")
    substitute = await p.provider(cmgraph_graphql, "Sam", "Substitute", "BCBA")
    rbt = await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT")
    await p.session(
        cmgraph_graphql,
        client,
        substitute,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="97155",
    )
    await p.session(
        cmgraph_graphql,
        client,
        rbt,
        "2026-03-11T09:00-04:00",
        "2026-03-11T11:00-04:00",
        code="97153",
    )

    lines = await p.claim_lines(cmgraph_graphql, client, *MARCH)

    assert len(lines) == 2
    for line in lines:
        assert line["payor"]["name"] == "Plain Plan"
        assert_default(line, Case(client, plain, cm))
        assert line["findings"] == []


async def test_other_service_lines_keep_the_default(cmgraph_graphql: GraphQLClient) -> None:
    client = await p.client(cmgraph_graphql)
    mo = await p.payor(cmgraph_graphql, "MO HealthNet", "MEDICAID", PLUGIN)
    await p.coverage(cmgraph_graphql, client, mo)
    slp = await p.provider(cmgraph_graphql, "Sky", "Speech", "SLP")
    await p.enroll(cmgraph_graphql, slp, mo)
    await p.case_manager(cmgraph_graphql, client, slp, "2026-03-01", line="ST")
    other_slp = await p.provider(cmgraph_graphql, "Sol", "Speech", "SLP", "BCBA")
    await p.session(
        cmgraph_graphql,
        client,
        other_slp,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="92507",
        line="ST",
    )

    [line] = await p.claim_lines(cmgraph_graphql, client, *MARCH)

    assert_default(line, Case(client, mo, slp))
    assert line["findings"] == []


# --- a rendering question without one session -----------------------------------------------


async def ask(cmgraph_graphql: GraphQLClient, case: Case, day: str) -> dict[str, Any]:
    data = await cmgraph_graphql(RENDERING, {"client": case.client, "line": "ABA", "day": day})
    return dict(data["renderingProvider"])


async def two_deliverers_on_march_10(cmgraph_graphql: GraphQLClient, case: Case) -> None:
    rbt = await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT")
    substitute = await p.provider(cmgraph_graphql, "Sam", "Substitute", "BCBA")
    await p.enroll(cmgraph_graphql, substitute, case.payor)
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
        substitute,
        "2026-03-10T13:00-04:00",
        "2026-03-10T14:00-04:00",
        code="97155",
    )


async def test_without_one_session_the_renderer_is_left_off_with_a_warning(
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
                "code": "MO_HEALTHNET_DELIVERER_UNKNOWN",
                "severity": "WARNING",
                "rule": "mo_healthnet_deliverer_unknown",
                "plugin": PLUGIN,
            }
        ]


async def test_a_date_with_one_deliverer_is_answered_by_that_session(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql)
    bcaba = await p.provider(cmgraph_graphql, "Avery", "Assistant", "BCaBA")
    await p.enroll(cmgraph_graphql, bcaba, case.payor)
    rbt = await p.provider(cmgraph_graphql, "Robin", "Tech", "RBT")
    await p.session(
        cmgraph_graphql,
        case.client,
        bcaba,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="97155",
    )
    await p.session(
        cmgraph_graphql,
        case.client,
        rbt,
        "2026-03-11T09:00-04:00",
        "2026-03-11T11:00-04:00",
        code="97153",
    )

    analyst_day, technician_day = (
        await ask(cmgraph_graphql, case, "2026-03-10"),
        await ask(cmgraph_graphql, case, "2026-03-11"),
    )

    assert (analyst_day["provider"], analyst_day["findings"]) == ({"id": bcaba}, [])
    assert (technician_day["provider"], technician_day["findings"]) == ({"id": case.cm}, [])


async def test_a_rendering_question_of_another_payor_gets_the_case_manager(
    cmgraph_graphql: GraphQLClient,
) -> None:
    case = await a_case(cmgraph_graphql, mo=False)
    await two_deliverers_on_march_10(cmgraph_graphql, case)

    for day in ("2026-03-10", "2026-03-12"):
        answer = await ask(cmgraph_graphql, case, day)
        assert answer["provider"] == {"id": case.cm}
        assert answer["findings"] == []


# --- the rules query --------------------------------------------------------------------------


async def test_the_rules_are_listed_with_the_payors_naming_the_plugin(
    cmgraph_graphql: GraphQLClient,
) -> None:
    await p.payor(cmgraph_graphql, "MO HealthNet", "MEDICAID", PLUGIN)
    await p.payor(cmgraph_graphql, "Plain Plan", "COMMERCIAL")

    rules = [r for r in (await cmgraph_graphql(RULES))["rules"] if r["plugin"] == PLUGIN]

    assert {r["name"] for r in rules} == {
        "mo_healthnet_rendering",
        "mo_healthnet_modifiers",
        "mo_healthnet_rendering_enrollment",
        "mo_healthnet_supervisor",
        "mo_healthnet_deliverer_unknown",
    }
    assert all(r["payors"] == [{"name": "MO HealthNet"}] for r in rules)
    codes = {code for r in rules for code in r["codes"]}
    assert codes == {"MO_HEALTHNET_RENDERING_NOT_ENROLLED", "MO_HEALTHNET_DELIVERER_UNKNOWN"}
