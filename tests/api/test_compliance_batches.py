"""The compliance report judges a window a batch of whole days at a time and keeps only the
page it answers, so its memory does not grow with the window; without totalCount it stops
judging once the page (and one more finding, for hasNextPage) is found."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import builders as b
import pytest

from cmgraph.db import models
from cmgraph.services import compliance, sessions

DAYS = 10
CLIENTS = 6
FIRST_DAY = date(2026, 2, 2)

WITH_COUNT = """
query($first: Int!, $after: String) {
  complianceFindings(from: "2026-02-01", to: "2026-02-28", first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage }
    edges { cursor node { code date client { id } appointment { id } } }
  }
}"""
WITHOUT_COUNT = WITH_COUNT.replace("totalCount", "")


async def uncovered_sessions(db: Any, slug: str) -> None:
    """CLIENTS clients with one ABA session on each of DAYS days and no CM: a NO_CASE_MANAGER
    finding per session, CLIENTS per day."""
    org = await b.org_id(db, slug)
    async with db.write() as session:
        provider = models.Provider(
            organization_id=org, first_name="Del", last_name="Iverer", npi=b.next_npi()
        )
        session.add(provider)
        await session.flush()
        for i in range(CLIENTS):
            client = models.Client(organization_id=org, first_name="C", last_name=f"L{i}")
            session.add(client)
            await session.flush()
            for d in range(DAYS):
                day = FIRST_DAY + timedelta(days=d)
                session.add(b.session_row(org, client.id, provider.id, day, minute=i))
        await session.commit()


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch the report judges."""
    sizes: list[int] = []
    judge = sessions.judge

    async def spy(session: Any, scope: Any, keys: Any, **kw: Any) -> Any:
        sizes.append(len(keys))
        return await judge(session, scope, keys, **kw)

    monkeypatch.setattr(sessions, "judge", spy)
    return sizes


async def every_page(api: Any, query: str, first: int) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await api(query, {"first": first, "after": after}))["complianceFindings"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["edges"][-1]["cursor"]


def test_batches_group_whole_days_up_to_the_size() -> None:
    days = [date(2026, 2, d) for d in range(1, 7)]
    counts = [3, 4, 10, 1, 1, 2]
    assert compliance._batches(list(zip(days, counts, strict=True)), 7) == [
        (days[0], days[1]),  # 3 + 4
        (days[2], days[2]),  # a busier day than the size is judged whole, alone
        (days[3], days[5]),  # 1 + 1 + 2
    ]
    assert compliance._batches([], 7) == []


async def test_the_report_is_the_same_whatever_the_batch_size(
    api: Any, db: Any, monkeypatch: pytest.MonkeyPatch, judged: list[int]
) -> None:
    await uncovered_sessions(db, api.slug)

    whole = await every_page(api, WITH_COUNT, 100)
    assert judged == [CLIENTS * DAYS]
    assert len(whole) == CLIENTS * DAYS
    assert {n["code"] for n in whole} == {"NO_CASE_MANAGER"}

    judged.clear()
    monkeypatch.setattr(compliance, "SESSIONS_PER_BATCH", CLIENTS * 2 + 1)
    batched = await every_page(api, WITH_COUNT, 7)
    assert batched == whole
    assert set(judged) == {CLIENTS * 2} and max(judged) <= compliance.SESSIONS_PER_BATCH

    judged.clear()
    monkeypatch.setattr(compliance, "SESSIONS_PER_BATCH", CLIENTS - 1)
    assert await every_page(api, WITHOUT_COUNT, 9) == whole
    assert set(judged) == {CLIENTS}  # a day is never split, even when it is over the size


async def test_without_total_count_judging_stops_once_the_page_is_found(
    api: Any, db: Any, monkeypatch: pytest.MonkeyPatch, judged: list[int]
) -> None:
    await uncovered_sessions(db, api.slug)
    monkeypatch.setattr(compliance, "SESSIONS_PER_BATCH", CLIENTS)  # a day per batch

    page = (await api(WITHOUT_COUNT, {"first": CLIENTS, "after": None}))["complianceFindings"]
    assert len(page["edges"]) == CLIENTS
    assert page["pageInfo"]["hasNextPage"] is True
    assert len(judged) == 2  # the page's day, and the next for hasNextPage

    judged.clear()
    counted = (await api(WITH_COUNT, {"first": CLIENTS, "after": None}))["complianceFindings"]
    assert counted["totalCount"] == CLIENTS * DAYS
    assert [e["node"] for e in counted["edges"]] == [e["node"] for e in page["edges"]]
    assert len(judged) == DAYS


async def test_the_last_page_without_total_count_says_no_more(api: Any, db: Any) -> None:
    await uncovered_sessions(db, api.slug)
    total = CLIENTS * DAYS
    last_cursor_of_first_pages = (await api(WITH_COUNT, {"first": total - 3, "after": None}))[
        "complianceFindings"
    ]["edges"][-1]["cursor"]

    rest = (await api(WITHOUT_COUNT, {"first": 50, "after": last_cursor_of_first_pages}))[
        "complianceFindings"
    ]
    assert len(rest["edges"]) == 3
    assert rest["pageInfo"]["hasNextPage"] is False
