"""Changing the CM, the everyday task: its dry run, suggestions judged as the change the screen
would make, and refused writes that still show their warnings.

The organization's time zone is America/New_York.
"""

from __future__ import annotations

from typing import Any, cast

from helpers import (
    ADD,
    CHANGE,
    FINDINGS,
    Case,
    assign,
    case_managers,
    cm_input,
    create_provider,
    credential,
    credentialed_bcba,
    credentialed_case,
    schedule,
)

from tests.support import Api

CHECK_CHANGE = f"""query($input: ChangeCaseManagerInput!) {{
  checkChangeCaseManager(input: $input) {{ {FINDINGS} }}
}}"""

SUGGEST = """query($client: ID!, $line: String!, $start: Date!, $blocked: Boolean) {
  suggestCaseManagers(
    clientId: $client, serviceLine: $line, startDate: $start, includeBlocked: $blocked
  ) {
    provider { id } findings { code severity }
  }
}"""


def codes(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(f["code"] for f in findings)


async def check_change(api: Api, input: dict[str, Any]) -> list[dict[str, Any]]:
    return cast(
        "list[dict[str, Any]]",
        (await api(CHECK_CHANGE, {"input": input}))["checkChangeCaseManager"],
    )


async def change(api: Api, input: dict[str, Any]) -> dict[str, Any]:
    return cast("dict[str, Any]", (await api(CHANGE, {"input": input}))["changeCaseManager"])


async def suggest(api: Api, case: Case, start: str, blocked: bool = False) -> list[dict[str, Any]]:
    variables = {"client": case.client, "line": "ABA", "start": start, "blocked": blocked}
    return cast("list[dict[str, Any]]", (await api(SUGGEST, variables))["suggestCaseManagers"])


async def _unfamiliar_stranger(api: Api, case: Case) -> str:
    """A BCBA not enrolled with the payor, who delivered none of the client's recent
    sessions (a technician delivered one on 2026-03-10)."""
    rbt = await create_provider(api, "Tech", "Nician", credentials=[credential("RBT")])
    await schedule(api, case.client, rbt, "2026-03-10T09:00:00-04:00", status="COMPLETED")
    return await create_provider(api, "Not", "Enrolled")


# --- checkChangeCaseManager -------------------------------------------------------------


async def test_the_dry_run_of_a_change_meets_what_the_change_meets_and_writes_nothing(
    api: Api,
) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-01-01"))
    stranger = await _unfamiliar_stranger(api, case)
    # A completed session of the current CM after the new start: the change would move it.
    await schedule(api, case.client, case.bcba, "2026-03-20T09:00:00-04:00", status="COMPLETED")
    before = await case_managers(api, case.client)
    input = cm_input(case, "2026-03-15", stranger)

    found = await check_change(api, input)

    # The current CM is not an overlap: it ends the day before.
    assert codes(found) == ["ASSIGNMENT_IN_USE", "NOT_CREDENTIALED", "NOT_FAMILIAR"]
    by_code = {f["code"]: f for f in found}
    assert by_code["ASSIGNMENT_IN_USE"]["field"] == ["input", "startDate"]
    assert by_code["NOT_CREDENTIALED"]["field"] == ["input", "providerId"]
    assert await case_managers(api, case.client) == before

    refused = await change(api, input)
    errors = [f for f in found if f["severity"] == "ERROR"]
    assert sorted((e["code"], e["field"], e["message"]) for e in refused["userErrors"]) == sorted(
        (f["code"], f["field"], f["message"]) for f in errors
    )
    assert await case_managers(api, case.client) == before


async def test_the_dry_run_of_an_acceptable_change_finds_nothing_and_the_change_then_succeeds(
    api: Api,
) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-01-01"))
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")
    input = cm_input(case, "2026-03-15", successor)

    assert await check_change(api, input) == []
    assert (await change(api, input))["userErrors"] == []


async def test_the_dry_run_judges_only_the_rest_of_a_planned_period(api: Api) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-01-01", end_date="2026-03-31"))
    later = await credentialed_bcba(api, case.payor, "Later", "Analyst")
    await assign(api, cm_input(case, "2026-04-01", later))
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")

    # The successor takes over until 2026-03-31, so the CM from April is no overlap.
    assert await check_change(api, cm_input(case, "2026-03-15", successor)) == []


async def test_the_dry_run_refuses_what_the_change_refuses(api: Api) -> None:
    case = await credentialed_case(api)
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")

    answer = await api.raw(CHECK_CHANGE, {"input": cm_input(case, "2026-03-15", successor)})

    [error] = answer["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "use addCaseManager" in error["message"]


# --- refused writes answer their warnings ------------------------------------------------


async def test_a_refused_change_answers_its_warnings_too(api: Api) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-01-01"))
    stranger = await _unfamiliar_stranger(api, case)

    payload = await change(api, cm_input(case, "2026-03-15", stranger))

    assert [e["code"] for e in payload["userErrors"]] == ["NOT_CREDENTIALED"]
    assert codes(payload["warnings"]) == ["NOT_FAMILIAR"]
    assert payload["caseManager"] is None


async def test_a_refused_add_answers_its_warnings_too(api: Api) -> None:
    case = await credentialed_case(api)
    stranger = await _unfamiliar_stranger(api, case)

    payload = (await api(ADD, {"input": cm_input(case, "2026-03-15", stranger)}))["addCaseManager"]

    assert [e["code"] for e in payload["userErrors"]] == ["NOT_CREDENTIALED"]
    assert codes(payload["warnings"]) == ["NOT_FAMILIAR"]
    assert await case_managers(api, case.client) == []


# --- suggestCaseManagers on a line that has a CM -----------------------------------------


async def test_suggestions_for_a_line_with_a_case_manager_are_judged_as_a_change(api: Api) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-01-01"))
    zimmer = await credentialed_bcba(api, case.payor, "Pat", "Zimmer")
    young = await credentialed_bcba(api, case.payor, "Pat", "Young")
    await schedule(api, case.client, zimmer, "2026-03-20T09:00:00-04:00", status="COMPLETED")

    suggested = await suggest(api, case, "2026-04-01")

    # The current CM (case.bcba) is who is being replaced: not a suggestion.
    assert [s["provider"]["id"] for s in suggested] == [zimmer, young]
    assert all(f["code"] != "OVERLAPPING_ASSIGNMENT" for s in suggested for f in s["findings"])
    assert codes(suggested[1]["findings"]) == ["NOT_FAMILIAR"]


async def test_suggested_changes_carry_what_ending_the_current_case_manager_meets(api: Api) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-01-01"))
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")
    await schedule(api, case.client, case.bcba, "2026-04-10T09:00:00-04:00", status="COMPLETED")

    assert await suggest(api, case, "2026-04-01") == []
    [blocked] = await suggest(api, case, "2026-04-01", blocked=True)

    assert blocked["provider"]["id"] == successor
    assert codes(blocked["findings"]) == ["ASSIGNMENT_IN_USE"]


async def test_suggestions_for_a_date_no_case_manager_covers_are_judged_as_an_add(api: Api) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-01-01", end_date="2026-03-31"))
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")

    suggested = await suggest(api, case, "2026-04-01")

    # The previous CM's period is over: they may be assigned again, as may anyone.
    assert {s["provider"]["id"] for s in suggested} == {case.bcba, successor}
