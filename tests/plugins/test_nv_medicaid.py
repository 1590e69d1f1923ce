"""Nevada Medicaid: the deliverer renders, the CM supervises, BCaBA and RBT lines carry UD."""

from __future__ import annotations

from dataclasses import dataclass

import practice as p
import pytest
from claims import claim_lines

from tests.support import Api

PLUGIN = "nv_medicaid"
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


async def a_case(api: Api, *, nv: bool = True) -> Case:
    """A client of Nevada Medicaid (or of a plain Medicaid plan) with an enrolled BCBA CM."""
    client = await p.client(api)
    payor = (
        await p.payor(api, "Nevada Medicaid", "MEDICAID", PLUGIN)
        if nv
        else await p.payor(api, "Plain Medicaid", "MEDICAID")
    )
    await p.coverage(api, client, payor)
    cm = await p.provider(api, "Casey", "Manager", "BCBA")
    await p.enroll(api, cm, payor)
    await p.case_manager(api, client, cm, "2026-03-01")
    return Case(client, payor, cm)


async def deliverer(api: Api, case: Case, *credentials: str, enrolled: bool = True) -> str:
    who = await p.provider(api, "Dee", "Liverer", *credentials)
    if enrolled:
        await p.enroll(api, who, case.payor)
    return who


async def one_session(api: Api, case: Case, who: str, code: str = "97153") -> dict:
    await p.session(
        api, case.client, who, "2026-03-10T09:00-04:00", "2026-03-10T11:00-04:00", code=code
    )
    [line] = await claim_lines(api, case.client, *MARCH)
    assert line["deliveredBy"]["id"] == who
    return line


def plugin_codes(line: dict) -> list[str]:
    return [f["code"] for f in line["findings"] if f["plugin"] == PLUGIN]


def assert_default(line: dict, case: Case) -> None:
    assert line["renderingProvider"]["id"] == case.cm
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == []
    assert plugin_codes(line) == []


# --- the deliverer renders, the CM supervises, UD for BCaBA and RBT -------------------------


@pytest.mark.parametrize(
    ("credentials", "code"), [(("RBT",), "97153"), (("BCaBA",), "97155")], ids=["RBT", "BCaBA"]
)
async def test_a_bcaba_or_rbt_renders_their_session_under_the_cm_with_ud(
    api: Api, credentials: tuple[str, ...], code: str
) -> None:
    case = await a_case(api)
    who = await deliverer(api, case, *credentials)

    line = await one_session(api, case, who, code)

    assert line["renderingProvider"]["id"] == who
    assert line["supervisingProvider"]["id"] == case.cm
    assert line["modifiers"] == ["UD"]
    assert line["findings"] == []


@pytest.mark.parametrize("credentials", [("RBT",), ("BCaBA",)], ids=["RBT", "BCaBA"])
async def test_the_same_session_of_another_payor_keeps_the_default(
    api: Api, credentials: tuple[str, ...]
) -> None:
    case = await a_case(api, nv=False)
    who = await deliverer(api, case, *credentials)

    line = await one_session(api, case, who)

    assert_default(line, case)
    assert line["findings"] == []


@pytest.mark.parametrize("credentials", [("BCBA",), ("BCBA-D",), ("BCBA", "RBT")])
async def test_a_substitute_analyst_renders_their_session_without_ud(
    api: Api, credentials: tuple[str, ...]
) -> None:
    case = await a_case(api)
    who = await deliverer(api, case, *credentials)

    line = await one_session(api, case, who, "97155")

    assert line["renderingProvider"]["id"] == who
    assert line["supervisingProvider"]["id"] == case.cm
    assert line["modifiers"] == []
    assert line["findings"] == []


async def test_a_technician_without_rbt_renders_without_a_modifier(api: Api) -> None:
    case = await a_case(api)
    who = await deliverer(api, case, "BT")

    line = await one_session(api, case, who)

    assert line["renderingProvider"]["id"] == who
    assert line["supervisingProvider"]["id"] == case.cm
    assert line["modifiers"] == []


async def test_the_case_manager_delivering_renders_without_supervising_themselves(api: Api) -> None:
    case = await a_case(api)

    line = await one_session(api, case, case.cm, "97155")

    assert line["renderingProvider"]["id"] == case.cm
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == []
    assert line["findings"] == []


async def test_without_a_case_manager_the_deliverer_still_renders_unsupervised(api: Api) -> None:
    client = await p.client(api)
    nv = await p.payor(api, "Nevada Medicaid", "MEDICAID", PLUGIN)
    await p.coverage(api, client, nv)
    rbt = await p.provider(api, "Robin", "Tech", "RBT")
    await p.enroll(api, rbt, nv)
    await p.session(
        api, client, rbt, "2026-03-10T09:00-04:00", "2026-03-10T11:00-04:00", code="97153"
    )

    [line] = await claim_lines(api, client, *MARCH)

    assert line["renderingProvider"]["id"] == rbt
    assert line["supervisingProvider"] is None
    assert line["modifiers"] == ["UD"]
    assert [f["code"] for f in line["findings"]] == ["NO_CASE_MANAGER"]


# --- the deliverer must be enrolled ---------------------------------------------------------


@pytest.mark.parametrize("status", [None, "PENDING", "DENIED"])
async def test_a_deliverer_not_enrolled_is_an_error(api: Api, status: str | None) -> None:
    case = await a_case(api)
    rbt = await deliverer(api, case, "RBT", enrolled=False)
    if status:
        await p.enroll(api, rbt, case.payor, status=status)

    line = await one_session(api, case, rbt)

    assert line["renderingProvider"]["id"] == rbt
    [finding] = line["findings"]
    assert finding["code"] == "NV_MEDICAID_RENDERING_NOT_ENROLLED"
    assert finding["severity"] == "ERROR"
    assert finding["rule"] == "nv_medicaid_rendering_enrollment"
    assert finding["plugin"] == PLUGIN
    assert "Dee Liverer" in finding["message"]
    assert finding["message"].endswith(".")


async def test_an_enrollment_starting_after_the_date_of_service_does_not_count(api: Api) -> None:
    case = await a_case(api)
    rbt = await deliverer(api, case, "RBT", enrolled=False)
    await p.enroll(api, rbt, case.payor, since="2026-03-11")

    line = await one_session(api, case, rbt)

    assert plugin_codes(line) == ["NV_MEDICAID_RENDERING_NOT_ENROLLED"]


async def test_a_deliverer_not_enrolled_with_another_payor_has_no_plugin_finding(api: Api) -> None:
    case = await a_case(api, nv=False)
    rbt = await deliverer(api, case, "RBT", enrolled=False)

    line = await one_session(api, case, rbt)

    assert_default(line, case)
    assert line["findings"] == []


async def test_a_case_manager_not_enrolled_is_reported_once_by_the_core(api: Api) -> None:
    client = await p.client(api)
    nv = await p.payor(api, "Nevada Medicaid", "MEDICAID", PLUGIN)
    await p.coverage(api, client, nv)
    cm = await p.provider(api, "Casey", "Manager", "BCBA")
    await p.enroll(api, cm, nv, until="2026-03-05")
    await p.case_manager(api, client, cm, "2026-03-01")
    await p.session(
        api, client, cm, "2026-03-10T09:00-04:00", "2026-03-10T10:00-04:00", code="97155"
    )

    [line] = await claim_lines(api, client, *MARCH)

    assert line["renderingProvider"]["id"] == cm
    assert [f["code"] for f in line["findings"]] == ["NOT_CREDENTIALED"]


# --- the payor that decides, and the line ----------------------------------------------------


async def test_nevada_medicaid_as_secondary_payor_changes_nothing(api: Api) -> None:
    client = await p.client(api)
    plain = await p.payor(api, "Plain Plan", "COMMERCIAL")
    nv = await p.payor(api, "Nevada Medicaid", "MEDICAID", PLUGIN)
    await p.coverage(api, client, plain, priority=1)
    await p.coverage(api, client, nv, priority=2)
    cm = await p.provider(api, "Casey", "Manager", "BCBA")
    await p.enroll(api, cm, plain)
    await p.enroll(api, cm, nv)
    await p.case_manager(api, client, cm, "2026-03-01")
    rbt = await p.provider(api, "Robin", "Tech", "RBT")  # enrolled with neither
    await p.session(
        api, client, rbt, "2026-03-10T09:00-04:00", "2026-03-10T11:00-04:00", code="97153"
    )

    [line] = await claim_lines(api, client, *MARCH)

    assert line["payor"]["name"] == "Plain Plan"
    assert_default(line, Case(client, plain, cm))
    assert line["findings"] == []


async def test_other_service_lines_keep_the_default(api: Api) -> None:
    client = await p.client(api)
    nv = await p.payor(api, "Nevada Medicaid", "MEDICAID", PLUGIN)
    await p.coverage(api, client, nv)
    slp = await p.provider(api, "Sky", "Speech", "SLP")
    await p.enroll(api, slp, nv)
    await p.case_manager(api, client, slp, "2026-03-01", line="ST")
    assistant = await p.provider(api, "Sol", "Assistant", "SLPA", "RBT")
    await p.session(
        api,
        client,
        assistant,
        "2026-03-10T09:00-04:00",
        "2026-03-10T10:00-04:00",
        code="92507",
        line="ST",
    )

    [line] = await claim_lines(api, client, *MARCH)

    assert_default(line, Case(client, nv, slp))
    assert line["findings"] == []


# --- a rendering question without one session -----------------------------------------------


async def ask(api: Api, case: Case, day: str) -> dict:
    data = await api(RENDERING, {"client": case.client, "line": "ABA", "day": day})
    return data["renderingProvider"]


async def two_deliverers_on_march_10(api: Api, case: Case) -> None:
    rbt = await deliverer(api, case, "RBT")
    await p.session(
        api, case.client, rbt, "2026-03-10T09:00-04:00", "2026-03-10T11:00-04:00", code="97153"
    )
    await p.session(
        api, case.client, case.cm, "2026-03-10T13:00-04:00", "2026-03-10T14:00-04:00", code="97155"
    )


async def test_without_one_session_there_is_no_deliverer_to_bill(api: Api) -> None:
    case = await a_case(api)
    await two_deliverers_on_march_10(api, case)

    for day in ("2026-03-10", "2026-03-12"):  # two deliverers; no session at all
        answer = await ask(api, case, day)
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


async def test_a_date_with_one_deliverer_is_answered_with_that_deliverer(api: Api) -> None:
    case = await a_case(api)
    rbt = await deliverer(api, case, "RBT")
    await p.session(
        api, case.client, rbt, "2026-03-10T09:00-04:00", "2026-03-10T11:00-04:00", code="97153"
    )
    await p.session(
        api, case.client, rbt, "2026-03-10T13:00-04:00", "2026-03-10T15:00-04:00", code="97153"
    )

    answer = await ask(api, case, "2026-03-10")

    assert answer["provider"] == {"id": rbt}
    assert answer["findings"] == []


async def test_a_rendering_question_of_another_payor_gets_the_case_manager(api: Api) -> None:
    case = await a_case(api, nv=False)
    await two_deliverers_on_march_10(api, case)

    for day in ("2026-03-10", "2026-03-12"):
        answer = await ask(api, case, day)
        assert answer["provider"] == {"id": case.cm}
        assert answer["findings"] == []


# --- the rules query --------------------------------------------------------------------------


async def test_the_rules_are_listed_as_unverified_with_the_payors_naming_the_plugin(
    api: Api,
) -> None:
    await p.payor(api, "Nevada Medicaid", "MEDICAID", PLUGIN)
    await p.payor(api, "Plain Plan", "COMMERCIAL")

    rules = [r for r in (await api(RULES))["rules"] if r["plugin"] == PLUGIN]

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
