"""The case-manager workflow over HTTP: add, check, change, update, remove, suggest, and who
renders a session. Every test builds its own practice (a fresh organization) through the API.

The organization's time zone is America/New_York unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from helpers import (
    ADD,
    CHANGE,
    CHECK,
    REMOVE,
    UPDATE,
    Case,
    add_case_manager,
    add_coverage,
    assign,
    case_managers,
    cm_input,
    create_client,
    create_payor,
    create_provider,
    credential,
    credentialed_bcba,
    credentialed_case,
    record_enrollment,
    schedule,
)
from sqlalchemy import text

from cmgraph.api import ids
from cmgraph.db.engine import Database
from tests.support import Api

PLUGIN = "cmgraph"


def only_error(payload: dict[str, Any]) -> dict[str, Any]:
    """The one userError of a refused write (whose object must be absent)."""
    assert payload.get("caseManager") is None, payload
    [error] = payload["userErrors"]
    return cast("dict[str, Any]", error)


def codes(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(f["code"] for f in findings)


async def change(api: Api, input: dict[str, Any]) -> dict[str, Any]:
    return cast("dict[str, Any]", (await api(CHANGE, {"input": input}))["changeCaseManager"])


async def update(api: Api, input: dict[str, Any]) -> dict[str, Any]:
    return cast("dict[str, Any]", (await api(UPDATE, {"input": input}))["updateCaseManager"])


async def remove(api: Api, id: str, version: int) -> dict[str, Any]:
    return cast(
        "dict[str, Any]",
        (await api(REMOVE, {"input": {"id": id, "version": version}}))["removeCaseManager"],
    )


async def check(api: Api, input: dict[str, Any]) -> list[dict[str, Any]]:
    return cast("list[dict[str, Any]]", (await api(CHECK, {"input": input}))["checkCaseManager"])


# --- addCaseManager ---------------------------------------------------------------------


async def test_add_case_manager_returns_the_assignment_at_version_1(api: Api) -> None:
    case = await credentialed_case(api)

    payload = await add_case_manager(api, cm_input(case, "2026-03-01", note="Intake"))

    assert payload["userErrors"] == []
    assert payload["warnings"] == []
    cm = payload["caseManager"]
    assert cm["startDate"] == "2026-03-01"
    assert cm["endDate"] is None
    assert cm["note"] == "Intake"
    assert cm["version"] == 1
    assert cm["provider"]["id"] == case.bcba
    assert cm["serviceLine"]["code"] == "ABA"
    assert await case_managers(api, case.client) == [cm]


async def test_a_provider_not_enrolled_with_the_primary_payor_is_refused(api: Api) -> None:
    case = await credentialed_case(api)
    stranger = await create_provider(api, "Not", "Enrolled")

    error = only_error(await add_case_manager(api, cm_input(case, "2026-03-01", stranger)))

    assert error["code"] == "NOT_CREDENTIALED"
    assert error["field"] == ["input", "providerId"]
    assert error["rule"] == "credentialing"
    assert error["plugin"] == PLUGIN
    assert "Acme Health" in error["message"]
    assert await case_managers(api, case.client) == []


@pytest.mark.parametrize(
    ("status", "effective_from", "effective_to", "credentialed"),
    [
        ("ENROLLED", "2026-03-01", None, True),  # effective from the start date itself
        ("ENROLLED", "2026-03-02", None, False),  # effective only the day after
        ("ENROLLED", "2025-01-01", "2026-03-01", True),  # its last day is the start date
        ("ENROLLED", "2025-01-01", "2026-02-28", False),  # ended the day before
        ("PENDING", "2025-01-01", None, False),
        ("DENIED", "2025-01-01", None, False),
        ("TERMINATED", "2025-01-01", "2026-03-31", True),  # still counts up to its last day
        ("TERMINATED", "2025-01-01", "2026-02-28", False),
        ("TERMINATED", "2025-01-01", None, False),  # no known last day: never counts
    ],
)
async def test_which_enrollments_credential_the_case_manager(
    api: Api, status: str, effective_from: str, effective_to: str | None, credentialed: bool
) -> None:
    client = await create_client(api)
    payor = await create_payor(api)
    await add_coverage(api, client, payor)
    provider = await create_provider(api)
    await record_enrollment(api, provider, payor, status, effective_from, effective_to)
    case = Case(client, payor, provider)

    payload = await add_case_manager(api, cm_input(case, "2026-03-01"))

    if credentialed:
        assert payload["userErrors"] == []
        assert len(await case_managers(api, client)) == 1
    else:
        assert only_error(payload)["code"] == "NOT_CREDENTIALED"
        assert await case_managers(api, client) == []


async def test_the_primary_payor_is_the_coverage_with_priority_1_on_the_start_date(
    api: Api,
) -> None:
    client = await create_client(api)
    old_payor = await create_payor(api, "Old Plan")
    new_payor = await create_payor(api, "New Plan")
    await add_coverage(api, client, old_payor, "2025-01-01", "2026-02-28")
    await add_coverage(api, client, new_payor, "2026-03-01")
    provider = await create_provider(api)
    await record_enrollment(api, provider, old_payor)
    case = Case(client, new_payor, provider)

    # Enrolled with the plan that covered the client until February only.
    assert (await add_case_manager(api, cm_input(case, "2026-02-01", end_date="2026-02-28")))[
        "userErrors"
    ] == []
    error = only_error(await add_case_manager(api, cm_input(case, "2026-03-01")))

    assert error["code"] == "NOT_CREDENTIALED"
    assert "New Plan" in error["message"]


async def test_not_enrolled_with_a_secondary_payor_is_only_a_warning(api: Api) -> None:
    case = await credentialed_case(api)
    secondary = await create_payor(api, "Medicaid Wrap", "MEDICAID")
    await add_coverage(api, case.client, secondary, priority=2)

    payload = await add_case_manager(api, cm_input(case, "2026-03-01"))

    assert payload["userErrors"] == []
    assert payload["caseManager"]["version"] == 1
    [warning] = payload["warnings"]
    assert warning["code"] == "NOT_CREDENTIALED"
    assert warning["severity"] == "WARNING"
    assert warning["field"] == ["input", "providerId"]
    assert warning["rule"] == "credentialing"
    assert warning["plugin"] == PLUGIN
    assert "Medicaid Wrap" in warning["message"]
    assert len(await case_managers(api, case.client)) == 1


async def test_enrolled_only_with_the_secondary_payor_is_refused(api: Api) -> None:
    case = await credentialed_case(api)
    secondary = await create_payor(api, "Medicaid Wrap", "MEDICAID")
    await add_coverage(api, case.client, secondary, priority=2)
    provider = await create_provider(api, "Second", "Only")
    await record_enrollment(api, provider, secondary)

    error = only_error(await add_case_manager(api, cm_input(case, "2026-03-01", provider)))

    assert error["code"] == "NOT_CREDENTIALED"
    assert "Acme Health" in error["message"]
    assert await case_managers(api, case.client) == []


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param([credential("SLP")], id="speech-pathologist-for-ABA"),
        pytest.param([credential("RBT")], id="technician-for-ABA"),
        pytest.param([credential("BCBA", expires_on="2026-02-28")], id="expired-BCBA"),
        pytest.param([], id="no-credential"),
    ],
)
async def test_a_provider_not_qualified_for_the_line_is_refused(
    api: Api, credentials: list[dict[str, Any]]
) -> None:
    case = await credentialed_case(api)
    provider = await create_provider(api, "Wrong", "Discipline", credentials=credentials)
    await record_enrollment(api, provider, case.payor)

    error = only_error(await add_case_manager(api, cm_input(case, "2026-03-01", provider)))

    assert error["code"] == "DISCIPLINE_MISMATCH"
    assert error["field"] == ["input", "providerId"]
    assert error["rule"] == "qualification"
    assert error["plugin"] == PLUGIN
    assert await case_managers(api, case.client) == []


async def test_a_credential_expiring_on_the_start_date_still_qualifies(api: Api) -> None:
    case = await credentialed_case(api)
    provider = await create_provider(
        api, "Last", "Day", credentials=[credential("BCBA", expires_on="2026-03-01")]
    )
    await record_enrollment(api, provider, case.payor)

    payload = await add_case_manager(api, cm_input(case, "2026-03-01", provider))

    assert payload["userErrors"] == []


async def test_lead_time_example_of_the_domain_passes_with_33_hours(api: Api) -> None:
    case = await credentialed_case(api)
    await schedule(api, case.client, case.bcba, "2026-03-08T09:00:00-05:00")

    payload = await add_case_manager(api, cm_input(case, "2026-03-07"))

    assert payload["userErrors"] == []


async def test_lead_time_example_of_the_domain_is_refused_the_same_day(api: Api) -> None:
    case = await credentialed_case(api)
    await schedule(api, case.client, case.bcba, "2026-03-07T15:00:00-05:00")

    error = only_error(await add_case_manager(api, cm_input(case, "2026-03-07")))

    assert error["code"] == "LEAD_TIME"
    assert error["field"] == ["input", "startDate"]
    assert error["rule"] == "lead_time"
    assert error["plugin"] == PLUGIN
    assert "15 h" in error["message"]
    assert await case_managers(api, case.client) == []


async def test_lead_time_counts_real_hours_when_the_clocks_spring_forward(api: Api) -> None:
    # 2026-03-08 is 23 hours long in New York: 00:00 EST to 00:30 EDT the next day is 23.5 h,
    # although the wall clock says 24.5 h.
    case = await credentialed_case(api)
    await schedule(api, case.client, case.bcba, "2026-03-09T00:30:00-04:00")

    error = only_error(await add_case_manager(api, cm_input(case, "2026-03-08")))

    assert error["code"] == "LEAD_TIME"
    assert "23.5 h" in error["message"]


async def test_lead_time_counts_real_hours_when_the_clocks_fall_back(api: Api) -> None:
    # 2026-11-01 is 25 hours long: 00:00 EDT to 23:30 EST the same day is 24.5 h.
    case = await credentialed_case(api)
    await schedule(
        api, case.client, case.bcba, "2026-11-01T23:30:00-05:00", "2026-11-02T00:30:00-05:00"
    )

    payload = await add_case_manager(api, cm_input(case, "2026-11-01"))

    assert payload["userErrors"] == []


async def test_a_cancelled_appointment_does_not_count_for_lead_time(api: Api) -> None:
    case = await credentialed_case(api)
    await schedule(api, case.client, case.bcba, "2026-03-07T15:00:00-05:00", status="CANCELLED")
    await schedule(api, case.client, case.bcba, "2026-03-09T09:00:00-04:00")

    payload = await add_case_manager(api, cm_input(case, "2026-03-07"))

    assert payload["userErrors"] == []


async def test_appointments_before_the_start_or_after_the_end_do_not_count_for_lead_time(
    api: Api,
) -> None:
    case = await credentialed_case(api)
    await schedule(api, case.client, case.bcba, "2026-03-06T15:00:00-05:00")
    await schedule(api, case.client, case.bcba, "2026-03-10T09:00:00-04:00")

    payload = await add_case_manager(api, cm_input(case, "2026-03-07", end_date="2026-03-09"))

    assert payload["userErrors"] == []


@pytest.mark.parametrize(
    ("start_date", "end_date", "overlaps"),
    [
        ("2026-03-10", "2026-03-20", True),  # inside it
        ("2026-03-31", None, True),  # starts on its last day
        ("2026-02-01", "2026-03-01", True),  # ends on its first day
        ("2026-02-01", None, True),  # swallows it
        ("2026-02-01", "2026-02-28", False),  # ends the day before
        ("2026-04-01", None, False),  # starts the day after
    ],
)
async def test_two_case_managers_of_one_line_never_overlap(
    api: Api, start_date: str, end_date: str | None, overlaps: bool
) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-03-01", end_date="2026-03-31"))
    other = await credentialed_bcba(api, case.payor, "Other", "Analyst")

    payload = await add_case_manager(api, cm_input(case, start_date, other, end_date=end_date))

    if overlaps:
        error = only_error(payload)
        assert error["code"] == "OVERLAPPING_ASSIGNMENT"
        assert error["field"] == ["input", "startDate"]
        assert error["rule"] == "no_overlap"
        assert error["plugin"] == PLUGIN
        assert len(await case_managers(api, case.client)) == 1
    else:
        assert payload["userErrors"] == []
        assert len(await case_managers(api, case.client)) == 2


async def test_another_line_of_the_same_client_does_not_overlap(api: Api) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-03-01"))
    slp = await create_provider(api, "Speech", "Pathologist", credentials=[credential("SLP")])
    await record_enrollment(api, slp, case.payor)

    payload = await add_case_manager(api, cm_input(case, "2026-03-01", slp, line="ST"))

    assert payload["userErrors"] == []


async def test_a_case_manager_who_delivered_none_of_the_recent_sessions_gets_a_warning(
    api: Api,
) -> None:
    case = await credentialed_case(api)
    rbt = await create_provider(api, "Tech", "Nician", credentials=[credential("RBT")])
    # 2026-03-01 is the first day of the 30 days before 2026-03-31.
    await schedule(api, case.client, rbt, "2026-03-01T09:00:00-05:00", status="COMPLETED")

    payload = await add_case_manager(api, cm_input(case, "2026-03-31"))

    assert payload["userErrors"] == []
    assert payload["caseManager"]["version"] == 1
    [warning] = payload["warnings"]
    assert warning["code"] == "NOT_FAMILIAR"
    assert warning["severity"] == "WARNING"
    assert warning["field"] == ["input", "providerId"]
    assert warning["rule"] == "familiarity"
    assert warning["plugin"] == PLUGIN


@pytest.mark.parametrize(
    ("by_the_cm", "starts_at", "status"),
    [
        pytest.param(True, "2026-03-20T09:00:00-04:00", "COMPLETED", id="cm-delivered-one"),
        pytest.param(False, "2026-02-28T09:00:00-05:00", "COMPLETED", id="31-days-before"),
        pytest.param(False, "2026-03-20T09:00:00-04:00", "SCHEDULED", id="not-completed"),
        pytest.param(False, "2026-03-20T09:00:00-04:00", "NO_SHOW", id="no-show"),
        pytest.param(False, "2026-04-02T09:00:00-04:00", "COMPLETED", id="after-the-start"),
    ],
)
async def test_sessions_that_raise_no_familiarity_warning(
    api: Api, by_the_cm: bool, starts_at: str, status: str
) -> None:
    case = await credentialed_case(api)
    rbt = await create_provider(api, "Tech", "Nician", credentials=[credential("RBT")])
    if by_the_cm:
        # Someone else delivered a recent session too; one by the CM is enough.
        await schedule(api, case.client, rbt, "2026-03-10T09:00:00-04:00", status="COMPLETED")
    provider = case.bcba if by_the_cm else rbt
    await schedule(api, case.client, provider, starts_at, status=status)

    payload = await add_case_manager(api, cm_input(case, "2026-03-31"))

    assert payload["userErrors"] == []
    assert "NOT_FAMILIAR" not in codes(payload["warnings"])


# --- checkCaseManager -------------------------------------------------------------------


async def test_check_case_manager_returns_the_findings_of_add_and_writes_nothing(api: Api) -> None:
    case = await credentialed_case(api)
    stranger = await create_provider(api, "Not", "Enrolled")
    rbt = await create_provider(api, "Tech", "Nician", credentials=[credential("RBT")])
    await schedule(api, case.client, rbt, "2026-03-02T09:00:00-05:00", status="COMPLETED")
    await schedule(api, case.client, rbt, "2026-03-07T15:00:00-05:00")
    input = cm_input(case, "2026-03-07", stranger)

    found = await check(api, input)

    assert codes(found) == ["LEAD_TIME", "NOT_CREDENTIALED", "NOT_FAMILIAR"]
    by_code = {f["code"]: f for f in found}
    assert by_code["LEAD_TIME"]["severity"] == "ERROR"
    assert by_code["NOT_CREDENTIALED"]["severity"] == "ERROR"
    assert by_code["NOT_FAMILIAR"]["severity"] == "WARNING"
    assert await case_managers(api, case.client) == []

    refused = await add_case_manager(api, input)
    errors = [f for f in found if f["severity"] == "ERROR"]
    assert sorted(
        (e["code"], e["field"], e["rule"], e["plugin"], e["message"]) for e in refused["userErrors"]
    ) == sorted((f["code"], f["field"], f["rule"], f["plugin"], f["message"]) for f in errors)
    assert await case_managers(api, case.client) == []


async def test_check_case_manager_of_an_acceptable_assignment_writes_nothing(api: Api) -> None:
    case = await credentialed_case(api)
    secondary = await create_payor(api, "Medicaid Wrap", "MEDICAID")
    await add_coverage(api, case.client, secondary, priority=2)

    found = await check(api, cm_input(case, "2026-03-01"))

    assert [(f["code"], f["severity"]) for f in found] == [("NOT_CREDENTIALED", "WARNING")]
    assert await case_managers(api, case.client) == []
    # The same assignment can then be added: the check left no trace.
    assert (await add_case_manager(api, cm_input(case, "2026-03-01")))["userErrors"] == []


# --- changeCaseManager ------------------------------------------------------------------


async def test_change_ends_the_current_case_manager_the_day_before_and_starts_the_new(
    api: Api,
) -> None:
    case = await credentialed_case(api)
    first = await assign(api, cm_input(case, "2026-01-01", note="First"))
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")

    payload = await change(api, cm_input(case, "2026-03-15", successor, note="Handover"))

    assert payload["userErrors"] == []
    ended, started = payload["ended"], payload["caseManager"]
    assert ended["id"] == first["id"]
    assert ended["startDate"] == "2026-01-01"
    assert ended["endDate"] == "2026-03-14"
    assert ended["note"] == "First"
    assert ended["version"] == 2
    assert started["provider"]["id"] == successor
    assert (started["startDate"], started["endDate"]) == ("2026-03-15", None)
    assert started["note"] == "Handover"
    assert started["version"] == 1
    history = sorted(await case_managers(api, case.client), key=lambda a: a["startDate"])
    assert history == [ended, started]


async def test_a_change_within_a_planned_period_takes_over_only_the_rest_of_it(api: Api) -> None:
    case = await credentialed_case(api)
    first = await assign(api, cm_input(case, "2026-01-01", end_date="2026-06-30"))
    later = await credentialed_bcba(api, case.payor, "Later", "Analyst")
    await assign(api, cm_input(case, "2026-07-01", later))
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")

    payload = await change(api, cm_input(case, "2026-03-01", successor))

    assert payload["userErrors"] == []
    assert payload["ended"]["id"] == first["id"]
    assert payload["ended"]["endDate"] == "2026-02-28"
    started = payload["caseManager"]
    assert (started["startDate"], started["endDate"]) == ("2026-03-01", "2026-06-30")


async def test_change_to_an_uncredentialed_provider_writes_nothing(api: Api) -> None:
    case = await credentialed_case(api)
    first = await assign(api, cm_input(case, "2026-01-01"))
    stranger = await create_provider(api, "Not", "Enrolled")

    payload = await change(api, cm_input(case, "2026-03-15", stranger))

    assert payload["ended"] is None
    assert only_error(payload)["code"] == "NOT_CREDENTIALED"
    # The current assignment was not ended either.
    assert await case_managers(api, case.client) == [first]


async def test_change_that_would_move_completed_sessions_is_refused(api: Api) -> None:
    case = await credentialed_case(api)
    first = await assign(api, cm_input(case, "2026-01-01"))
    await schedule(api, case.client, case.bcba, "2026-03-20T09:00:00-04:00", status="COMPLETED")
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")

    payload = await change(api, cm_input(case, "2026-03-15", successor))

    assert payload["ended"] is None
    error = only_error(payload)
    assert error["code"] == "ASSIGNMENT_IN_USE"
    assert error["field"] == ["input", "startDate"]
    assert error["rule"] == "assignment_in_use"
    assert error["plugin"] == PLUGIN
    assert await case_managers(api, case.client) == [first]


async def test_change_after_the_last_completed_session_is_allowed(api: Api) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-01-01"))
    await schedule(api, case.client, case.bcba, "2026-03-14T09:00:00-04:00", status="COMPLETED")
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")

    payload = await change(api, cm_input(case, "2026-03-15", successor))

    assert payload["userErrors"] == []
    assert payload["ended"]["endDate"] == "2026-03-14"


@pytest.mark.parametrize("existing_end", [None, "2026-03-14"], ids=["none", "ended-before"])
async def test_change_without_a_current_case_manager_is_not_found(
    api: Api, existing_end: str | None
) -> None:
    case = await credentialed_case(api)
    if existing_end:
        await assign(api, cm_input(case, "2026-01-01", end_date=existing_end))
    before = await case_managers(api, case.client)
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")

    payload = await change(api, cm_input(case, "2026-03-15", successor))

    error = only_error(payload)
    assert error["code"] == "NOT_FOUND"
    assert error["field"] == ["input", "startDate"]
    assert await case_managers(api, case.client) == before


# --- updateCaseManager ------------------------------------------------------------------


async def test_update_with_a_stale_version_is_refused(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01", note="First"))
    assert (await update(api, {"id": cm["id"], "version": 1, "note": "Second"}))["userErrors"] == []

    error = only_error(await update(api, {"id": cm["id"], "version": 1, "note": "Third"}))

    assert error["code"] == "STALE_VERSION"
    assert error["field"] == ["input", "version"]
    [now] = await case_managers(api, case.client)
    assert (now["note"], now["version"]) == ("Second", 2)


async def test_update_of_the_note_only_keeps_the_dates(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01", end_date="2026-06-30", note="Old"))

    payload = await update(api, {"id": cm["id"], "version": 1, "note": "New"})

    assert payload["userErrors"] == []
    assert payload["warnings"] == []
    updated = payload["caseManager"]
    assert updated == {**cm, "note": "New", "version": 2}
    assert await case_managers(api, case.client) == [updated]


async def test_update_with_an_explicit_null_end_date_clears_it(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01", end_date="2026-06-30", note="Keep me"))

    payload = await update(api, {"id": cm["id"], "version": 1, "endDate": None})

    assert payload["userErrors"] == []
    updated = payload["caseManager"]
    assert updated["endDate"] is None
    assert updated["startDate"] == "2026-03-01"
    assert updated["note"] == "Keep me"
    assert updated["version"] == 2


async def test_update_leaves_out_fields_as_they_are(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01", note="Keep me"))

    payload = await update(api, {"id": cm["id"], "version": 1, "endDate": "2026-06-30"})

    assert payload["userErrors"] == []
    assert payload["caseManager"] == {**cm, "endDate": "2026-06-30", "version": 2}


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"endDate": "2026-03-15"}, "endDate"),
        ({"startDate": "2026-03-21"}, "startDate"),
    ],
)
async def test_update_that_uncovers_a_completed_session_is_refused(
    api: Api, edit: dict[str, str], field: str
) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01"))
    await schedule(api, case.client, case.bcba, "2026-03-20T09:00:00-04:00", status="COMPLETED")

    error = only_error(await update(api, {"id": cm["id"], "version": 1, **edit}))

    assert error["code"] == "ASSIGNMENT_IN_USE"
    assert error["field"] == ["input", field]
    assert error["rule"] == "assignment_in_use"
    assert await case_managers(api, case.client) == [cm]


async def test_update_that_only_uncovers_a_scheduled_session_is_allowed(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01"))
    await schedule(api, case.client, case.bcba, "2026-03-20T09:00:00-04:00")

    payload = await update(api, {"id": cm["id"], "version": 1, "endDate": "2026-03-15"})

    assert payload["userErrors"] == []
    assert payload["caseManager"]["endDate"] == "2026-03-15"


@pytest.mark.parametrize(
    "edit",
    [{"endDate": "2026-02-28"}, {"startDate": "2026-07-01"}],
    ids=["end-before-start", "start-after-end"],
)
async def test_update_with_the_end_before_the_start_is_invalid(
    api: Api, edit: dict[str, str]
) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01", end_date="2026-06-30"))

    error = only_error(await update(api, {"id": cm["id"], "version": 1, **edit}))

    assert error["code"] == "INVALID_INPUT"
    assert error["field"] == ["input", "endDate"]
    assert await case_managers(api, case.client) == [cm]


async def test_an_error_the_assignment_already_had_does_not_block_ending_it(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01"))
    # Scheduled after the assignment was saved: the assignment now misses its lead time.
    await schedule(api, case.client, case.bcba, "2026-03-01T10:00:00-05:00")

    payload = await update(api, {"id": cm["id"], "version": 1, "endDate": "2026-06-30"})

    assert payload["userErrors"] == []
    assert payload["caseManager"]["endDate"] == "2026-06-30"
    assert [(w["code"], w["severity"]) for w in payload["warnings"]] == [("LEAD_TIME", "ERROR")]


async def test_an_edit_that_misses_the_lead_time_of_another_session_is_refused(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01"))
    # The assignment already misses its lead time against this session ...
    await schedule(api, case.client, case.bcba, "2026-03-01T10:00:00-05:00")
    await schedule(api, case.client, case.bcba, "2026-03-20T10:00:00-04:00")

    # ... and moving its start would miss it against another one: a new error.
    error = only_error(await update(api, {"id": cm["id"], "version": 1, "startDate": "2026-03-20"}))

    assert error["code"] == "LEAD_TIME"
    assert await case_managers(api, case.client) == [cm]


async def test_an_edit_that_introduces_an_error_is_refused(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01"))
    await schedule(api, case.client, case.bcba, "2026-03-05T10:00:00-05:00")

    error = only_error(await update(api, {"id": cm["id"], "version": 1, "startDate": "2026-03-05"}))

    assert error["code"] == "LEAD_TIME"
    assert await case_managers(api, case.client) == [cm]


async def test_update_that_would_overlap_another_assignment_is_refused(api: Api) -> None:
    case = await credentialed_case(api)
    first = await assign(api, cm_input(case, "2026-01-01", end_date="2026-02-28"))
    other = await credentialed_bcba(api, case.payor, "Other", "Analyst")
    second = await assign(api, cm_input(case, "2026-03-01", other))

    error = only_error(await update(api, {"id": first["id"], "version": 1, "endDate": None}))

    assert error["code"] == "OVERLAPPING_ASSIGNMENT"
    by_start = sorted(await case_managers(api, case.client), key=lambda a: a["startDate"])
    assert by_start == [first, second]


# --- removeCaseManager ------------------------------------------------------------------


async def test_remove_is_refused_when_a_completed_session_is_in_the_period(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01", end_date="2026-03-31"))
    await schedule(api, case.client, case.bcba, "2026-03-10T09:00:00-04:00", status="COMPLETED")

    payload = await remove(api, cm["id"], 1)

    assert payload["removedId"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "ASSIGNMENT_IN_USE"
    assert error["field"] == ["input", "id"]
    assert error["rule"] == "assignment_in_use"
    assert error["plugin"] == PLUGIN
    assert await case_managers(api, case.client) == [cm]


async def test_remove_is_allowed_with_only_scheduled_cancelled_or_outside_sessions(
    api: Api,
) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01", end_date="2026-03-31"))
    await schedule(api, case.client, case.bcba, "2026-03-10T09:00:00-04:00")
    await schedule(api, case.client, case.bcba, "2026-03-11T09:00:00-04:00", status="CANCELLED")
    # Completed, but outside the period, or in another line.
    await schedule(api, case.client, case.bcba, "2026-02-27T09:00:00-05:00", status="COMPLETED")
    await schedule(api, case.client, case.bcba, "2026-04-01T09:00:00-04:00", status="COMPLETED")
    await schedule(
        api, case.client, case.bcba, "2026-03-12T09:00:00-04:00", "2026-03-12T10:00:00-04:00", "OT"
    )

    payload = await remove(api, cm["id"], 1)

    assert payload["userErrors"] == []
    assert payload["removedId"] == cm["id"]
    assert await case_managers(api, case.client) == []


async def test_remove_with_a_stale_version_is_refused(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01"))
    edited = (await update(api, {"id": cm["id"], "version": 1, "note": "Edited"}))["caseManager"]

    payload = await remove(api, cm["id"], 1)

    assert payload["removedId"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "STALE_VERSION"
    assert error["field"] == ["input", "version"]
    assert await case_managers(api, case.client) == [edited]


# --- suggestCaseManagers ----------------------------------------------------------------

SUGGEST = """query($client: ID!, $line: String!, $start: Date!, $blocked: Boolean) {
  suggestCaseManagers(
    clientId: $client, serviceLine: $line, startDate: $start, includeBlocked: $blocked
  ) {
    provider { id displayName } sessionsLast30Days lastSessionAt findings { code severity }
  }
}"""


async def _suggestion_practice(api: Api) -> dict[str, str]:
    """Five providers of one client's ABA line, proposed start 2026-04-01 (window: March 2-31).

    Names are chosen so that alphabetical order is not the expected ranking.
    """
    case = await credentialed_case(api)
    enrolled = {
        name: await credentialed_bcba(api, case.payor, "Pat", name)
        for name in ("Zimmer", "Young", "Xu")
    }
    blocked_payor = await create_provider(api, "Pat", "Adams")  # BCBA, not enrolled
    technician = await create_provider(api, "Pat", "Baker", credentials=[credential("RBT")])
    await record_enrollment(api, technician, case.payor)

    async def completed(provider: str, *days: str) -> None:
        for day in days:
            await schedule(api, case.client, provider, f"{day}T09:00:00-04:00", status="COMPLETED")

    await completed(enrolled["Zimmer"], "2026-03-10", "2026-03-20")
    await completed(enrolled["Young"], "2026-03-25", "2026-02-20")  # one outside the window
    await schedule(api, case.client, enrolled["Xu"], "2026-03-26T09:00:00-04:00")  # scheduled
    await completed(enrolled["Xu"], "2026-04-10")  # after the start date
    await completed(blocked_payor, "2026-03-11", "2026-03-12", "2026-03-13")
    await completed(technician, "2026-03-14", "2026-03-15", "2026-03-16", "2026-03-17")
    return {
        "client": case.client,
        **enrolled,
        "Adams": blocked_payor,
        "Baker": technician,
        "Hopper": case.bcba,
    }


async def test_suggestions_are_credentialed_qualified_providers_by_familiarity(api: Api) -> None:
    who = await _suggestion_practice(api)

    suggested = (
        await api(SUGGEST, {"client": who["client"], "line": "ABA", "start": "2026-04-01"})
    )["suggestCaseManagers"]

    ranked = [(s["provider"]["id"], s["sessionsLast30Days"]) for s in suggested]
    assert ranked[:2] == [(who["Zimmer"], 2), (who["Young"], 1)]
    # No session in the window: Xu (last session after the start date) and Hopper.
    assert sorted(ranked[2:]) == sorted([(who["Xu"], 0), (who["Hopper"], 0)])
    assert suggested[0]["lastSessionAt"].startswith("2026-03-20T09:00:00")
    for s in suggested:
        assert all(f["severity"] == "WARNING" for f in s["findings"]), s
    young = suggested[1]
    assert [f["code"] for f in young["findings"]] == []  # delivered one of the recent sessions
    hopper = next(s for s in suggested if s["provider"]["id"] == who["Hopper"])
    assert [f["code"] for f in hopper["findings"]] == ["NOT_FAMILIAR"]


async def test_ties_are_not_broken_by_sessions_outside_the_window(api: Api) -> None:
    case = await credentialed_case(api)
    adams = await credentialed_bcba(api, case.payor, "Pat", "Adams")
    zeta = await credentialed_bcba(api, case.payor, "Pat", "Zeta")
    # Zeta's only session is long before the window: no more familiar than Adams.
    await schedule(api, case.client, zeta, "2026-01-05T09:00:00-05:00", status="COMPLETED")

    suggested = (await api(SUGGEST, {"client": case.client, "line": "ABA", "start": "2026-04-01"}))[
        "suggestCaseManagers"
    ]

    names = [s["provider"]["displayName"] for s in suggested]
    assert names.index("Pat Adams") < names.index("Pat Zeta")
    zeta_row = next(s for s in suggested if s["provider"]["id"] == zeta)
    assert zeta_row["sessionsLast30Days"] == 0
    assert zeta_row["lastSessionAt"].startswith("2026-01-05T09:00:00")
    assert adams in [s["provider"]["id"] for s in suggested]


async def test_suggestions_with_include_blocked_list_the_blocked_with_their_errors(
    api: Api,
) -> None:
    who = await _suggestion_practice(api)

    suggested = (
        await api(
            SUGGEST,
            {"client": who["client"], "line": "ABA", "start": "2026-04-01", "blocked": True},
        )
    )["suggestCaseManagers"]

    by_id = {s["provider"]["id"]: s for s in suggested}
    assert set(by_id) == {who[n] for n in ("Zimmer", "Young", "Xu", "Hopper", "Adams", "Baker")}

    def errors(name: str) -> list[str]:
        return [f["code"] for f in by_id[who[name]]["findings"] if f["severity"] == "ERROR"]

    assert errors("Adams") == ["NOT_CREDENTIALED"]
    assert errors("Baker") == ["DISCIPLINE_MISMATCH"]
    assert by_id[who["Adams"]]["sessionsLast30Days"] == 3
    assert by_id[who["Baker"]]["sessionsLast30Days"] == 4
    # The blocked come after every provider who could be added, however familiar.
    assert {s["provider"]["id"] for s in suggested[-2:]} == {who["Adams"], who["Baker"]}
    assert all(errors(n) == [] for n in ("Zimmer", "Young", "Xu", "Hopper"))


# --- rendering provider -----------------------------------------------------------------

RENDERING = """query($client: ID!, $line: String!, $day: Date!) {
  renderingProvider(clientId: $client, serviceLine: $line, dateOfService: $day) {
    clientId serviceLine dateOfService provider { id } assignment { id }
    findings { code severity }
  }
}"""

RENDERINGS = """query($requests: [RenderingProviderRequest!]!) {
  renderingProviders(requests: $requests) {
    dateOfService provider { id } assignment { id } findings { code }
  }
}"""

APPOINTMENT = """query($id: ID!) {
  node(id: $id) {
    ... on Appointment { startsAt provider { id } renderingProvider { id } }
  }
}"""


async def appointment(api: Api, id: str) -> dict[str, Any]:
    return cast("dict[str, Any]", (await api(APPOINTMENT, {"id": id}))["node"])


async def test_the_case_manager_renders_a_session_a_substitute_delivered(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01"))
    substitute = await credentialed_bcba(api, case.payor, "Sub", "Stitute")
    session = await schedule(
        api, case.client, substitute, "2026-03-10T09:00:00-04:00", status="COMPLETED"
    )

    answer = (await api(RENDERING, {"client": case.client, "line": "ABA", "day": "2026-03-10"}))[
        "renderingProvider"
    ]

    assert answer["provider"] == {"id": case.bcba}
    assert answer["assignment"] == {"id": cm["id"]}
    assert answer["findings"] == []
    assert (answer["clientId"], answer["serviceLine"]) == (case.client, "ABA")
    seen = await appointment(api, session)
    assert seen["provider"] == {"id": substitute}
    assert seen["renderingProvider"] == {"id": case.bcba}


async def test_no_case_manager_renders_nothing_and_says_so(api: Api) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-03-01", end_date="2026-03-31"))
    session = await schedule(api, case.client, case.bcba, "2026-04-02T09:00:00-04:00")

    answer = (await api(RENDERING, {"client": case.client, "line": "ABA", "day": "2026-04-02"}))[
        "renderingProvider"
    ]

    assert answer["provider"] is None
    assert answer["assignment"] is None
    assert [(f["code"], f["severity"]) for f in answer["findings"]] == [
        ("NO_CASE_MANAGER", "ERROR")
    ]
    assert (await appointment(api, session))["renderingProvider"] is None


async def test_a_change_mid_month_renders_each_date_with_its_case_manager(api: Api) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-03-01"))
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")
    changed = await change(api, cm_input(case, "2026-03-16", successor))
    assert changed["userErrors"] == []
    before = await schedule(api, case.client, successor, "2026-03-15T09:00:00-04:00")
    after = await schedule(api, case.client, case.bcba, "2026-03-16T09:00:00-04:00")

    answers = (
        await api(
            RENDERINGS,
            {
                "requests": [
                    {"clientId": case.client, "serviceLine": "ABA", "dateOfService": day}
                    for day in ("2026-03-15", "2026-03-16", "2026-03-31")
                ]
            },
        )
    )["renderingProviders"]

    assert [(a["dateOfService"], a["provider"]["id"]) for a in answers] == [
        ("2026-03-15", case.bcba),
        ("2026-03-16", successor),
        ("2026-03-31", successor),
    ]
    assert answers[0]["assignment"] == {"id": changed["ended"]["id"]}
    assert answers[1]["assignment"] == {"id": changed["caseManager"]["id"]}
    assert (await appointment(api, before))["renderingProvider"] == {"id": case.bcba}
    assert (await appointment(api, after))["renderingProvider"] == {"id": successor}


async def test_the_date_of_service_is_the_local_date_of_the_organization(api: Api) -> None:
    case = await credentialed_case(api)
    await assign(api, cm_input(case, "2026-03-01"))
    successor = await credentialed_bcba(api, case.payor, "Next", "Analyst")
    assert (await change(api, cm_input(case, "2026-03-16", successor)))["userErrors"] == []
    # 23:30 in New York on March 15 is already March 16 in UTC.
    late = await schedule(
        api, case.client, successor, "2026-03-16T03:30:00+00:00", "2026-03-16T04:30:00+00:00"
    )

    seen = await appointment(api, late)

    assert seen["startsAt"].startswith("2026-03-15T23:30:00")
    assert seen["renderingProvider"] == {"id": case.bcba}


class TestAnotherTimeZone:
    @pytest.fixture
    def timezone(self) -> str:
        return "America/Los_Angeles"

    async def test_the_date_of_service_follows_the_organization_zone(self, api: Api) -> None:
        case = await credentialed_case(api)
        await assign(api, cm_input(case, "2026-03-01", end_date="2026-03-15"))
        # 22:00 on March 15 in Los Angeles, March 16 in New York and in UTC.
        late = await schedule(
            api, case.client, case.bcba, "2026-03-16T05:00:00+00:00", "2026-03-16T06:00:00+00:00"
        )

        assert (await appointment(api, late))["renderingProvider"] == {"id": case.bcba}


# --- bad input --------------------------------------------------------------------------


async def test_an_unknown_service_line_is_refused_on_its_field(api: Api) -> None:
    case = await credentialed_case(api)

    error = only_error(await add_case_manager(api, cm_input(case, "2026-03-01", line="XYZ")))

    assert error["code"] == "UNKNOWN_SERVICE_LINE"
    assert error["field"] == ["input", "serviceLine"]
    assert await case_managers(api, case.client) == []


async def test_check_of_an_unknown_service_line_is_a_graphql_error_with_its_code(api: Api) -> None:
    case = await credentialed_case(api)

    body = await api.raw(CHECK, {"input": cm_input(case, "2026-03-01", line="XYZ")})

    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "UNKNOWN_SERVICE_LINE",
        "field": ["input", "serviceLine"],
    }


@pytest.mark.parametrize("field", ["clientId", "providerId"])
async def test_a_malformed_id_is_invalid_input(api: Api, field: str) -> None:
    case = await credentialed_case(api)

    error = only_error(
        await add_case_manager(api, {**cm_input(case, "2026-03-01"), field: "not an id!"})
    )

    assert error["code"] == "INVALID_INPUT"
    assert error["field"] == ["input", field]
    assert await case_managers(api, case.client) == []


async def test_an_id_of_another_type_is_not_found(api: Api) -> None:
    case = await credentialed_case(api)

    # A provider's id where a client's is expected, and the other way round.
    swapped = {**cm_input(case, "2026-03-01"), "clientId": case.bcba, "providerId": case.client}
    error = only_error(await add_case_manager(api, swapped))

    assert error["code"] == "NOT_FOUND"
    assert error["field"] == ["input", "clientId"]
    assert await case_managers(api, case.client) == []


async def test_ids_of_another_organization_are_not_found(api: Api, other_api: Api) -> None:
    case = await credentialed_case(api)
    theirs = await credentialed_case(other_api)
    mine = cm_input(case, "2026-03-01")

    client_error = only_error(await add_case_manager(api, {**mine, "clientId": theirs.client}))
    provider_error = only_error(await add_case_manager(api, {**mine, "providerId": theirs.bcba}))

    assert (client_error["code"], client_error["field"]) == ("NOT_FOUND", ["input", "clientId"])
    assert (provider_error["code"], provider_error["field"]) == (
        "NOT_FOUND",
        ["input", "providerId"],
    )
    assert await case_managers(api, case.client) == []
    assert await case_managers(other_api, theirs.client) == []


async def test_update_and_remove_of_another_organizations_assignment_are_not_found(
    api: Api, other_api: Api
) -> None:
    theirs = await credentialed_case(other_api)
    cm = await assign(other_api, cm_input(theirs, "2026-03-01"))

    updated = await update(api, {"id": cm["id"], "version": 1, "note": "Mine now"})
    removed = await remove(api, cm["id"], 1)
    malformed = await remove(api, "not an id!", 1)

    assert [(e["code"], e["field"]) for e in updated["userErrors"]] == [
        ("NOT_FOUND", ["input", "id"])
    ]
    assert [(e["code"], e["field"]) for e in removed["userErrors"]] == [
        ("NOT_FOUND", ["input", "id"])
    ]
    assert [(e["code"], e["field"]) for e in malformed["userErrors"]] == [
        ("INVALID_INPUT", ["input", "id"])
    ]
    assert await case_managers(other_api, theirs.client) == [cm]


async def test_an_impossible_date_is_a_graphql_error_not_a_server_error(api: Api) -> None:
    case = await credentialed_case(api)

    response = await api.post(ADD, {"input": cm_input(case, "2026-02-30")})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    assert len(body["errors"]) == 1
    assert await case_managers(api, case.client) == []


async def test_an_impossible_date_is_explained_to_the_caller(api: Api) -> None:
    case = await credentialed_case(api)

    body = await api.raw(ADD, {"input": cm_input(case, "2026-02-30")})

    [error] = body["errors"]
    assert "2026-02-30" in error["message"]


# --- concurrency ------------------------------------------------------------------------

RACERS = 20


async def _race(api: Api, db: Database) -> None:
    """RACERS simultaneous addCaseManager calls whose periods all overlap: one wins."""
    case = await credentialed_case(api)
    providers = [
        await credentialed_bcba(api, case.payor, "Racer", f"No{n:02d}") for n in range(RACERS)
    ]
    inputs = [
        cm_input(case, f"2026-03-{n + 1:02d}", provider) for n, provider in enumerate(providers)
    ]

    payloads = await asyncio.gather(*(add_case_manager(api, i) for i in inputs))

    won = [p for p in payloads if p["caseManager"] is not None]
    lost = [p for p in payloads if p["caseManager"] is None]
    assert len(won) == 1, [p["userErrors"] for p in payloads]
    assert won[0]["userErrors"] == []
    assert len(lost) == RACERS - 1
    assert all(
        [(e["code"], e["field"]) for e in p["userErrors"]]
        == [("OVERLAPPING_ASSIGNMENT", ["input", "startDate"])]
        for p in lost
    ), [p["userErrors"] for p in lost]
    decoded = ids.decode(case.client)
    assert decoded is not None
    client_type, client_pk = decoded
    assert client_type == "Client"
    async with db.engine.connect() as connection:
        stored = await connection.scalar(
            text("SELECT count(*) FROM case_manager_assignments WHERE client_id = :client"),
            {"client": client_pk if db.engine.dialect.name == "postgresql" else client_pk.hex},
        )
    assert stored == 1
    assert [a["id"] for a in await case_managers(api, case.client)] == [won[0]["caseManager"]["id"]]


async def test_concurrent_adds_on_postgresql_leave_one_assignment(
    api: Api, db: Database, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("needs PostgreSQL: set CMGRAPH_TEST_DATABASE_URL (row locks, exclusion)")
    await _race(api, db)


async def test_concurrent_adds_on_sqlite_leave_one_assignment(
    api: Api, db: Database, is_postgres: bool
) -> None:
    if is_postgres:
        pytest.skip("the SQLite variant (BEGIN IMMEDIATE); PostgreSQL has its own test")
    await _race(api, db)


async def test_concurrent_removals_of_one_assignment_remove_it_once(api: Api) -> None:
    """Found by the load test: the removal that waited for the client's lock found the row
    gone and failed with an internal error instead of saying so."""
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-03-01"))

    payloads = await asyncio.gather(*(remove(api, cm["id"], 1) for _ in range(RACERS)))

    assert [p["removedId"] for p in payloads if p["removedId"]] == [cm["id"]]
    refusals = [p["userErrors"] for p in payloads if not p["removedId"]]
    assert all(
        [(e["code"], e["field"]) for e in errors] == [("NOT_FOUND", ["input", "id"])]
        for errors in refusals
    ), refusals
    assert await case_managers(api, case.client) == []
