"""The practice-wide compliance report, and a client's findings and service lines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import builders as b
import pytest

from tests.support import Api

FINDINGS = """
query($from: Date!, $to: Date!, $codes: [String!], $first: Int, $after: String) {
  complianceFindings(from: $from, to: $to, codes: $codes, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        code severity message rule plugin date
        client { id } serviceLine { code } appointment { id startsAt }
      }
    }
  }
}"""


async def report(api: Any, start: str, end: str, **extra: Any) -> dict[str, Any]:
    data = await api(FINDINGS, {"from": start, "to": end, **extra})
    return cast("dict[str, Any]", data["complianceFindings"])


def codes_by_date(connection: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"]["date"], e["node"]["code"]) for e in connection["edges"]]


async def session(
    api: Any, client_id: str, provider_id: str, day: str, hour: str = "09", line: str = "ABA"
) -> str:
    """A one-hour session in New York winter time (no DST change in the dates used here)."""
    data = await b.appointment(
        api,
        client_id,
        provider_id,
        f"{day}T{hour}:00:00-05:00",
        f"{day}T{hour}:59:00-05:00",
        service_line=line,
    )
    return cast("str", data["appointment"]["id"])


async def credentialed_cm(api: Any) -> tuple[str, str, str]:
    """A client covered by a payor, and a BCBA enrolled with it: (client, provider, payor)."""
    client_id = await b.client(api)
    provider_id = await b.provider(api)
    payor_id = await b.payor(api, "First Payor")
    await b.coverage(api, client_id, payor_id, "2025-01-01")
    await b.enrollment(api, provider_id, payor_id, effective_from="2025-01-01")
    return client_id, provider_id, payor_id


async def test_a_session_without_a_case_manager_is_reported(api: Api) -> None:
    client_id = await b.client(api)
    provider_id = await b.provider(api)
    appointment_id = await session(api, client_id, provider_id, "2026-02-10")

    found = await report(api, "2026-02-01", "2026-02-28")

    assert found["totalCount"] == 1
    (edge,) = found["edges"]
    node = edge["node"]
    assert node["code"] == "NO_CASE_MANAGER"
    assert node["severity"] == "ERROR"
    assert (node["rule"], node["plugin"]) == ("coverage_gaps", "cmgraph")
    assert node["date"] == "2026-02-10"
    assert node["client"] == {"id": client_id}
    assert node["serviceLine"] == {"code": "ABA"}
    assert node["appointment"] == {"id": appointment_id, "startsAt": "2026-02-10T09:00:00-05:00"}


async def test_a_covered_and_credentialed_session_is_clean(api: Api) -> None:
    client_id, provider_id, _ = await credentialed_cm(api)
    await b.case_manager(api, client_id, provider_id, "2026-02-01")
    await session(api, client_id, provider_id, "2026-02-10")

    found = await report(api, "2026-01-01", "2026-12-31")

    assert found["totalCount"] == 0
    assert found["edges"] == []
    assert found["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }


async def test_cancelled_sessions_are_ignored(api: Api) -> None:
    client_id = await b.client(api)
    provider_id = await b.provider(api)
    kept = await session(api, client_id, provider_id, "2026-02-10")
    cancelled = await session(api, client_id, provider_id, "2026-02-11")
    await b.set_status(api, cancelled, "CANCELLED")

    found = await report(api, "2026-02-01", "2026-02-28")

    assert [e["node"]["appointment"]["id"] for e in found["edges"]] == [kept]


async def test_a_terminated_enrollment_is_reported_from_the_day_after_its_last_day(
    api: Api,
) -> None:
    client_id, provider_id, _ = await credentialed_cm(api)
    await b.case_manager(api, client_id, provider_id, "2026-03-01")
    for day in ("2026-03-13", "2026-03-14", "2026-03-15", "2026-03-20"):
        await session(api, client_id, provider_id, day)
    assert (await report(api, "2026-03-01", "2026-03-31"))["totalCount"] == 0

    provider = await api(
        "query($id: ID!) { provider(id: $id) { enrollments { id } } }", {"id": provider_id}
    )
    (enrollment,) = provider["provider"]["enrollments"]
    await b.ok(
        api,
        b.UPDATE_ENROLLMENT,
        {"input": {"id": enrollment["id"], "status": "TERMINATED", "effectiveTo": "2026-03-14"}},
        "updateEnrollment",
    )

    found = await report(api, "2026-03-01", "2026-03-31")
    assert codes_by_date(found) == [
        ("2026-03-15", "NOT_CREDENTIALED"),
        ("2026-03-20", "NOT_CREDENTIALED"),
    ]
    assert all(e["node"]["severity"] == "ERROR" for e in found["edges"])
    assert "First Payor" in found["edges"][0]["node"]["message"]


async def test_a_change_of_primary_payor_is_reported_from_the_day_it_takes_effect(api: Api) -> None:
    client_id, provider_id, first_payor = await credentialed_cm(api)
    await b.case_manager(api, client_id, provider_id, "2026-03-01")
    for day in ("2026-03-14", "2026-03-15", "2026-03-16"):
        await session(api, client_id, provider_id, day)

    client = await api(
        "query($id: ID!) { client(id: $id) { coverages { id } } }", {"id": client_id}
    )
    (coverage,) = client["client"]["coverages"]
    await b.ok(
        api,
        b.UPDATE_COVERAGE,
        {"input": {"id": coverage["id"], "effectiveTo": "2026-03-14"}},
        "updateCoverage",
    )
    second_payor = await b.payor(api, "Second Payor", "MEDICAID")
    await b.coverage(api, client_id, second_payor, "2026-03-15")

    found = await report(api, "2026-03-01", "2026-03-31")

    assert codes_by_date(found) == [
        ("2026-03-15", "NOT_CREDENTIALED"),
        ("2026-03-16", "NOT_CREDENTIALED"),
    ]
    assert "Second Payor" in found["edges"][0]["node"]["message"]
    assert first_payor != second_payor


async def test_an_appointment_added_later_can_make_an_assignment_miss_its_lead_time(
    api: Api,
) -> None:
    client_id = await b.client(api)
    provider_id = await b.provider(api)
    await b.case_manager(api, client_id, provider_id, "2026-03-07")
    await session(api, client_id, provider_id, "2026-03-09")
    assert (await report(api, "2026-03-01", "2026-03-31"))["totalCount"] == 0

    scheduled = await b.appointment(
        api, client_id, provider_id, "2026-03-07T15:00:00-05:00", "2026-03-07T16:00:00-05:00"
    )
    assert [w["code"] for w in scheduled["warnings"]] == ["LEAD_TIME"]

    found = await report(api, "2026-03-01", "2026-03-31")
    assert codes_by_date(found) == [("2026-03-07", "LEAD_TIME")]
    assert found["edges"][0]["node"]["appointment"]["id"] == scheduled["appointment"]["id"]

    # Cancelled, the early session no longer counts as the first one the CM covers.
    await b.set_status(api, scheduled["appointment"]["id"], "CANCELLED")
    assert (await report(api, "2026-03-01", "2026-03-31"))["totalCount"] == 0


async def test_the_window_is_inclusive_at_both_ends(api: Api) -> None:
    client_id = await b.client(api)
    provider_id = await b.provider(api)
    for day in ("2026-02-09", "2026-02-10", "2026-02-15", "2026-02-20", "2026-02-21"):
        await session(api, client_id, provider_id, day)

    found = await report(api, "2026-02-10", "2026-02-20")
    assert [date for date, _ in codes_by_date(found)] == ["2026-02-10", "2026-02-15", "2026-02-20"]

    one_day = await report(api, "2026-02-21", "2026-02-21")
    assert [date for date, _ in codes_by_date(one_day)] == ["2026-02-21"]


@pytest.mark.parametrize(
    ("timezone", "starts_at", "ends_at"),
    [
        ("Asia/Kolkata", "2026-03-10T01:00:00+05:30", "2026-03-10T02:00:00+05:30"),
        ("Pacific/Auckland", "2026-03-10T01:00:00+13:00", "2026-03-10T02:00:00+13:00"),
    ],
)
async def test_the_date_of_service_is_the_local_date_of_the_organization(
    api: Api, starts_at: str, ends_at: str
) -> None:
    client_id = await b.client(api)
    provider_id = await b.provider(api)
    in_utc = datetime.fromisoformat(starts_at).astimezone(UTC)
    assert in_utc.date().isoformat() == "2026-03-09"  # sent in UTC, where it is still 9 March

    scheduled = await b.appointment(api, client_id, provider_id, in_utc.isoformat(), ends_at)

    assert scheduled["appointment"]["startsAt"] == starts_at

    assert codes_by_date(await report(api, "2026-03-10", "2026-03-10")) == [
        ("2026-03-10", "NO_CASE_MANAGER")
    ]
    assert (await report(api, "2026-03-09", "2026-03-09"))["totalCount"] == 0


async def test_codes_filter_the_report(api: Api) -> None:
    client_id = await b.client(api)
    provider_id = await b.provider(api)
    other_client = await b.client(api, "Bob", "Other")
    await b.case_manager(api, client_id, provider_id, "2026-03-07")
    await session(api, client_id, provider_id, "2026-03-07", hour="15")
    await session(api, other_client, provider_id, "2026-03-08")

    everything = await report(api, "2026-03-01", "2026-03-31")
    assert sorted(code for _, code in codes_by_date(everything)) == [
        "LEAD_TIME",
        "NO_CASE_MANAGER",
    ]

    only_lead_time = await report(api, "2026-03-01", "2026-03-31", codes=["LEAD_TIME"])
    assert codes_by_date(only_lead_time) == [("2026-03-07", "LEAD_TIME")]
    assert only_lead_time["totalCount"] == 1

    unknown = await report(api, "2026-03-01", "2026-03-31", codes=["NOT_A_CODE"])
    assert unknown["totalCount"] == 0


async def test_the_report_pages_with_cursors(api: Api) -> None:
    client_id = await b.client(api)
    provider_id = await b.provider(api)
    days = [f"2026-02-{day:02d}" for day in range(10, 15)]
    for day in days:
        await session(api, client_id, provider_id, day)

    first = await report(api, "2026-02-01", "2026-02-28", first=2)
    assert first["totalCount"] == 5
    assert [d for d, _ in codes_by_date(first)] == days[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]

    second = await report(
        api, "2026-02-01", "2026-02-28", first=2, after=first["pageInfo"]["endCursor"]
    )
    assert [d for d, _ in codes_by_date(second)] == days[2:4]
    assert second["pageInfo"]["hasNextPage"] is True
    assert second["pageInfo"]["hasPreviousPage"] is True

    last = await report(
        api, "2026-02-01", "2026-02-28", first=2, after=second["pageInfo"]["endCursor"]
    )
    assert [d for d, _ in codes_by_date(last)] == days[4:]
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["totalCount"] == 5

    cursors = [e["cursor"] for page in (first, second, last) for e in page["edges"]]
    assert len(set(cursors)) == 5


async def _error(api: Any, variables: dict[str, Any]) -> dict[str, Any]:
    body = await api.raw(FINDINGS, variables)
    assert body.get("data") is None, body
    (error,) = body["errors"]
    return cast("dict[str, Any]", error)


async def test_a_window_that_ends_before_it_starts_is_an_input_error(api: Api) -> None:
    error = await _error(api, {"from": "2026-03-10", "to": "2026-03-09"})
    assert error["extensions"]["code"] == "INVALID_INPUT"


@pytest.mark.parametrize("first", [101, 1000, -1])
async def test_first_outside_the_cap_is_an_input_error(api: Api, first: int) -> None:
    error = await _error(api, {"from": "2026-03-01", "to": "2026-03-31", "first": first})
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["field"] == ["first"]


@pytest.mark.parametrize("after", ["garbage", "", "Y3Vyc29yOi01"])
async def test_a_malformed_cursor_is_an_input_error(api: Api, after: str) -> None:
    error = await _error(api, {"from": "2026-03-01", "to": "2026-03-31", "after": after})
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["field"] == ["after"]


# --- the client's findings and service lines --------------------------------------------

CLIENT_LINES = """
query($id: ID!) {
  client(id: $id) {
    findings { code date serviceLine { code } }
    serviceLines {
      serviceLine { code name }
      currentCaseManager { id provider { id } }
      history { id startDate endDate provider { id } }
      findings { code date }
    }
  }
}"""


async def test_a_clients_service_lines_show_current_cm_history_and_findings(api: Api) -> None:
    client_id = await b.client(api)
    first_cm = await b.provider(api, "First", "Cm")
    second_cm = await b.provider(api, "Second", "Cm")
    therapist = await b.provider(api, "Sam", "Speech", credentials=["SLP"])
    first_assignment = await b.case_manager(api, client_id, first_cm, "2025-01-01")
    changed = await b.change_case_manager(api, client_id, second_cm, "2025-06-01")
    await session(api, client_id, second_cm, "2026-02-10")
    await session(api, client_id, therapist, "2026-02-11", line="ST")

    data = (await api(CLIENT_LINES, {"id": client_id}))["client"]

    assert [(f["code"], f["date"], f["serviceLine"]["code"]) for f in data["findings"]] == [
        ("NO_CASE_MANAGER", "2026-02-11", "ST")
    ]
    aba, st = data["serviceLines"]
    assert aba["serviceLine"]["code"] == "ABA"
    assert aba["currentCaseManager"] == {
        "id": changed["caseManager"]["id"],
        "provider": {"id": second_cm},
    }
    assert aba["history"] == [
        {
            "id": changed["caseManager"]["id"],
            "startDate": "2025-06-01",
            "endDate": None,
            "provider": {"id": second_cm},
        },
        {
            "id": first_assignment,
            "startDate": "2025-01-01",
            "endDate": "2025-05-31",
            "provider": {"id": first_cm},
        },
    ]
    assert aba["findings"] == []
    assert st["serviceLine"]["code"] == "ST"
    assert st["currentCaseManager"] is None
    assert st["history"] == []
    assert st["findings"] == [{"code": "NO_CASE_MANAGER", "date": "2026-02-11"}]


async def test_a_line_whose_cm_ended_has_no_current_cm_but_keeps_its_history(api: Api) -> None:
    client_id = await b.client(api)
    provider_id = await b.provider(api)
    assignment = await b.case_manager(
        api, client_id, provider_id, "2024-01-01", end_date="2024-12-31"
    )

    data = (await api(CLIENT_LINES, {"id": client_id}))["client"]

    (aba,) = data["serviceLines"]
    assert aba["currentCaseManager"] is None
    assert [h["id"] for h in aba["history"]] == [assignment]
    assert data["findings"] == []
