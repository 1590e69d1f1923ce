"""Expiry warnings counted from today (CREDENTIAL_EXPIRING, ENROLLMENT_ENDING), and what
breaks when an enrollment lapses (enrollmentImpact)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from helpers import (
    add_coverage,
    assign,
    cm_input,
    create_client,
    create_payor,
    create_provider,
    credential,
    credentialed_case,
    record_enrollment,
    schedule,
)

from tests.support import Api

FINDINGS = "query($id: ID!) { client(id: $id) { findings { code severity date } } }"
COMPLIANCE = """query($from: Date!, $to: Date!) {
  complianceFindings(from: $from, to: $to, codes: ["CREDENTIAL_EXPIRING", "ENROLLMENT_ENDING"]) {
    totalCount edges { node { code date client { id } } }
  }
}"""


def today() -> date:
    return datetime.now(ZoneInfo("America/New_York")).date()


def iso(day: date) -> str:
    return day.isoformat()


async def test_a_current_cms_credential_expiring_within_60_days_is_flagged(api: Api) -> None:
    now = today()
    client = await create_client(api)
    payor = await create_payor(api)
    await add_coverage(api, client, payor, effective_from=iso(now - timedelta(days=400)))
    soon = await create_provider(
        api,
        "Soon",
        "Expiring",
        credentials=[credential("BCBA", expires_on=iso(now + timedelta(days=30)))],
    )
    await record_enrollment(api, soon, payor, effective_from=iso(now - timedelta(days=400)))
    start = now - timedelta(days=100)
    await assign(
        api, {"clientId": client, "serviceLine": "ABA", "providerId": soon, "startDate": iso(start)}
    )

    found = (await api(FINDINGS, {"id": client}))["client"]["findings"]

    assert {
        "code": "CREDENTIAL_EXPIRING",
        "severity": "WARNING",
        "date": iso(now + timedelta(days=30)),
    } in found
    window = await api(COMPLIANCE, {"from": iso(now - timedelta(days=7)), "to": iso(now)})
    assert [
        (e["node"]["code"], e["node"]["client"]["id"])
        for e in window["complianceFindings"]["edges"]
    ] == [("CREDENTIAL_EXPIRING", client)]
    past = await api(COMPLIANCE, {"from": "2025-01-01", "to": "2025-01-31"})
    assert past["complianceFindings"]["totalCount"] == 0


async def test_an_enrollment_ending_within_60_days_is_flagged_and_an_open_one_is_not(
    api: Api,
) -> None:
    now = today()
    case = await credentialed_case(api, since=iso(now - timedelta(days=400)))
    ending = await create_provider(api, "Ending", "Soon")
    ends_on = now + timedelta(days=45)
    await record_enrollment(
        api,
        ending,
        case.payor,
        effective_from=iso(now - timedelta(days=300)),
        effective_to=iso(ends_on),
    )
    await assign(api, cm_input(case, iso(now - timedelta(days=10)), ending))
    other = await create_client(api, "Bo", "Open")
    await add_coverage(api, other, case.payor, effective_from=iso(now - timedelta(days=400)))
    await assign(
        api,
        {
            "clientId": other,
            "serviceLine": "ABA",
            "providerId": case.bcba,
            "startDate": iso(now - timedelta(days=10)),
        },
    )

    found = (await api(FINDINGS, {"id": case.client}))["client"]["findings"]
    open_ended = (await api(FINDINGS, {"id": other}))["client"]["findings"]

    assert {"code": "ENROLLMENT_ENDING", "severity": "WARNING", "date": iso(ends_on)} in found
    assert open_ended == []


IMPACT = """query($p: ID!, $y: ID!, $on: Date!) {
  enrollmentImpact(providerId: $p, payorId: $y, lapseOn: $on) {
    assignments { id } clients { id } appointments { id }
  }
}"""


async def test_enrollment_impact_lists_what_the_lapse_would_break(api: Api) -> None:
    case = await credentialed_case(api)
    cm = await assign(api, cm_input(case, "2026-01-01"))
    before = await schedule(api, case.client, case.bcba, "2026-03-02T09:00:00-05:00")
    after = await schedule(api, case.client, case.bcba, "2026-03-20T09:00:00-04:00")
    cancelled = await schedule(
        api, case.client, case.bcba, "2026-03-21T09:00:00-04:00", status="CANCELLED"
    )
    other_payor = await create_payor(api, "Other Plan")
    elsewhere = await create_client(api, "Cy", "Elsewhere")
    await add_coverage(api, elsewhere, other_payor)
    await record_enrollment(api, case.bcba, other_payor)
    await assign(
        api,
        {
            "clientId": elsewhere,
            "serviceLine": "ABA",
            "providerId": case.bcba,
            "startDate": "2026-01-01",
        },
    )
    await schedule(api, elsewhere, case.bcba, "2026-03-20T11:00:00-04:00")

    impact = (await api(IMPACT, {"p": case.bcba, "y": case.payor, "on": "2026-03-15"}))[
        "enrollmentImpact"
    ]

    assert impact["assignments"] == [{"id": cm["id"]}]
    assert impact["clients"] == [{"id": case.client}]
    assert impact["appointments"] == [{"id": after}]
    assert before not in str(impact) and cancelled not in str(impact)


async def test_enrollment_impact_of_unknown_ids_is_not_found(api: Api, other_api: Api) -> None:
    case = await credentialed_case(api)

    body = await other_api.raw(IMPACT, {"p": case.bcba, "y": case.payor, "on": "2026-03-15"})

    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
