"""renderingProvider(appointmentId:): naming the session lets a payor that bills the provider
who delivered it answer on a date with sessions by several providers."""

from __future__ import annotations

from cmgraph.testing import records as p
from tests.support import Api

RENDERING = """query($c: ID!, $a: ID) {
  renderingProvider(
    clientId: $c, serviceLine: "ABA", dateOfService: "2026-03-10", appointmentId: $a
  ) {
    provider { id } findings { code }
  }
}"""


async def _two_deliverers(api: Api) -> tuple[str, str, str, str, str]:
    client = await p.client(api)
    nevada = await p.payor(api, "Nevada Medicaid", "MEDICAID", "nv_medicaid")
    await p.coverage(api, client, nevada)
    bcba = await p.provider(api, "Casey", "Manager", "BCBA")
    rbt = await p.provider(api, "Robin", "Tech", "RBT")
    for who in (bcba, rbt):
        await p.enroll(api, who, nevada)
    await p.case_manager(api, client, bcba, "2026-03-01")
    morning = await p.session(api, client, rbt, "2026-03-10T09:00-04:00", "2026-03-10T10:00-04:00")
    afternoon = await p.session(
        api, client, bcba, "2026-03-10T14:00-04:00", "2026-03-10T15:00-04:00"
    )
    return client, rbt, bcba, morning, afternoon


async def test_naming_the_session_answers_with_its_deliverer(api: Api) -> None:
    client, rbt, bcba, morning, afternoon = await _two_deliverers(api)

    by_morning = (await api(RENDERING, {"c": client, "a": morning}))["renderingProvider"]
    by_afternoon = (await api(RENDERING, {"c": client, "a": afternoon}))["renderingProvider"]
    unnamed = (await api(RENDERING, {"c": client, "a": None}))["renderingProvider"]

    assert by_morning["provider"]["id"] == rbt
    assert by_afternoon["provider"]["id"] == bcba
    assert unnamed["provider"] is None  # two deliverers that day: the payor cannot say


async def test_a_session_of_another_date_or_an_unknown_one_is_refused(api: Api) -> None:
    client, *_ = await _two_deliverers(api)
    other_day = await p.session(
        api,
        client,
        (await p.provider(api, "Sam", "Sub", "RBT")),
        "2026-03-11T09:00-04:00",
        "2026-03-11T10:00-04:00",
    )

    wrong = await api.raw(RENDERING, {"c": client, "a": other_day})
    unknown = await api.raw(RENDERING, {"c": client, "a": client})  # a client's id

    assert wrong["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert wrong["errors"][0]["extensions"]["field"] == ["appointmentId"]
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
