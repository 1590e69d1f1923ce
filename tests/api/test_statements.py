"""The number of SQL statements of a query does not grow with the size of the page or batch:
related objects come through DataLoaders and the rules' facts are loaded set-based."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from counting import counted, seed
from pytest import MonkeyPatch
from strawberry.dataloader import DataLoader

from cmgraph.api import loaders
from cmgraph.db.engine import Database
from tests.support import Api, StatementCounter

SIZES = (10, 50)


CASELOAD = """
query($first: Int!) {
  clients(first: $first) {
    edges { node {
      coverages { payor { name } }
      caseManagers { provider { displayName credentials { type } } }
    } }
  }
}"""


async def test_the_caseload_query_does_not_grow_with_the_page(
    api: Api, db: Database, statements: StatementCounter
) -> None:
    await seed(db, api.slug)

    counts = []
    for size in SIZES:
        count, data = await counted(api, statements, CASELOAD, {"first": size})
        edges = data["clients"]["edges"]
        assert len(edges) == size
        assert all(e["node"]["coverages"][0]["payor"]["name"] == "Acme" for e in edges)
        assert all(
            e["node"]["caseManagers"][0]["provider"]["credentials"] == [{"type": "BCBA"}]
            for e in edges
        )
        counts.append(count)

    assert counts[0] == counts[1], counts
    assert counts[1] <= 12, counts


CASELOAD_THROUGH_FRAGMENTS = """
query($first: Int!) {
  clients(first: $first) { edges { node { ...Caseload } } }
}
fragment Caseload on Client {
  coverages { ... on Coverage { payor { name } } }
  ...Managers
}
fragment Managers on Client { caseManagers { provider { displayName credentials { type } } } }
"""


@pytest.mark.parametrize("query", [CASELOAD, CASELOAD_THROUGH_FRAGMENTS])
async def test_the_caseload_page_prefetches_what_it_selects(
    api: Api, db: Database, statements: StatementCounter, monkeypatch: MonkeyPatch, query: str
) -> None:
    """The page's relations are read from the query (api.lookahead), fragments included,
    and loaded for the whole page first: no related object is then waited for on its own,
    and the statements are the loaders' own."""
    await seed(db, api.slug)
    waited: list[object] = []
    loaded = loaders.ready

    def ready(loader: DataLoader[Any, Any], key: Any) -> Any:
        value = loaded(loader, key)
        if inspect.isawaitable(value):
            waited.append(key)
        return value

    monkeypatch.setattr(loaders, "ready", ready)
    count, data = await counted(api, statements, query, {"first": 20})

    assert len(data["clients"]["edges"]) == 20
    assert waited == []
    assert count == (await counted(api, statements, CASELOAD, {"first": 20}))[0]


FINDINGS = """
query($from: Date!, $to: Date!, $first: Int!) {
  complianceFindings(from: $from, to: $to, first: $first) {
    totalCount
    edges { node {
      code date client { displayName } appointment { startsAt provider { npi } } payor { name }
    } }
  }
}"""


@pytest.mark.parametrize("judged", [True, False], ids=["stored", "judged-live"])
async def test_compliance_findings_do_not_grow_with_the_number_of_sessions(
    api: Api, db: Database, statements: StatementCounter, judged: bool
) -> None:
    """Both ways of answering: from the stored findings, and judged live (rules changed)."""
    await seed(db, api.slug, judged=judged)

    counts = []
    for size in (5, 50):
        count, data = await counted(
            api, statements, FINDINGS, {"from": "2026-02-01", "to": "2026-03-31", "first": size}
        )
        found = data["complianceFindings"]
        assert found["totalCount"] == 50  # one uncovered session per client
        assert len(found["edges"]) == size
        assert {e["node"]["code"] for e in found["edges"]} == {"NO_CASE_MANAGER"}
        counts.append(count)

    assert counts[0] == counts[1], counts
    # Live: a batch of whole days (its sessions are those days' own), after asking which
    # rules the stored findings belong to. Stored: that, the stale clients, a page, a count.
    assert counts[1] <= (15 if judged else 16), counts


CLAIM_LINES = """
query($from: Date!, $to: Date!, $first: Int!) {
  claimLines(from: $from, to: $to, first: $first) {
    totalCount
    edges { node {
      dateOfService modifiers client { displayName } payor { name }
      deliveredBy { npi } renderingProvider { npi } supervisingProvider { npi }
      findings { code }
    } }
  }
}"""


async def test_claim_lines_do_not_grow_with_the_page(
    api: Api, db: Database, statements: StatementCounter
) -> None:
    await seed(db, api.slug)

    counts = []
    # Both pages hold sessions with a CM (March) and without (February): same kinds of
    # related objects, so only the page size differs.
    for size in (60, 100):
        count, data = await counted(
            api, statements, CLAIM_LINES, {"from": "2026-02-01", "to": "2026-03-31", "first": size}
        )
        lines = data["claimLines"]
        assert lines["totalCount"] == 100  # two sessions per client
        assert len(lines["edges"]) == size
        counts.append(count)

    assert counts[0] == counts[1], counts
    assert counts[1] <= 16, counts


RENDERING = """
query($requests: [RenderingProviderRequest!]!) {
  renderingProviders(requests: $requests) {
    clientId provider { displayName npi } assignment { startDate } findings { code }
  }
}"""


async def test_rendering_providers_do_not_grow_with_the_batch(
    api: Api, db: Database, statements: StatementCounter
) -> None:
    client_ids = await seed(db, api.slug)

    counts = []
    for size in (5, 50):
        requests = [
            {"clientId": c, "serviceLine": "ABA", "dateOfService": "2026-03-10"}
            for c in client_ids[:size]
        ]
        count, data = await counted(api, statements, RENDERING, {"requests": requests})
        answers = data["renderingProviders"]
        assert [a["clientId"] for a in answers] == client_ids[:size]
        assert all(a["provider"] is not None and a["findings"] == [] for a in answers)
        counts.append(count)

    assert counts[0] == counts[1], counts
    assert counts[1] <= 16, counts


async def test_five_hundred_rendering_answers_take_the_statements_of_one(
    api: Api, db: Database, statements: StatementCounter
) -> None:
    """A batch's facts are loaded for the whole batch, whatever its size: 500 questions (50
    clients, each on ten dates, in two lines; sessions on some of the dates) cost the
    statements of one."""
    client_ids = await seed(db, api.slug)
    # the first question has a CM and a session: the one answer loads every kind of fact
    days = ["2026-03-10", "2026-02-10", *(f"2026-03-{d:02d}" for d in range(11, 19))]
    batch = [
        {"clientId": c, "serviceLine": line, "dateOfService": day}
        for i, c in enumerate(client_ids)
        for j, day in enumerate(days)
        for line in ["ST" if (i + j) % 4 == 1 else "ABA"]
    ]
    assert len(batch) == 500

    one, single = await counted(api, statements, RENDERING, {"requests": batch[:1]})
    many, answered = await counted(api, statements, RENDERING, {"requests": batch})

    assert len(single["renderingProviders"]) == 1
    assert [a["clientId"] for a in answered["renderingProviders"]] == [q["clientId"] for q in batch]
    # the answers are those of the seed: a CM from 2026-03-01 on, in ABA only
    assert {
        (q["serviceLine"], q["dateOfService"] >= "2026-03-01", a["provider"] is not None)
        for q, a in zip(batch, answered["renderingProviders"], strict=True)
    } == {("ABA", True, True), ("ABA", False, False), ("ST", True, False), ("ST", False, False)}
    assert one == many, (one, many)


SERVICE_LINES = """
query($first: Int!) {
  clients(first: $first) {
    edges { node {
      findings { code }
      serviceLines {
        serviceLine { code }
        currentCaseManager { provider { displayName } }
        history { startDate provider { npi } }
        findings { code date appointment { startsAt } }
      }
    } }
  }
}"""


@pytest.mark.parametrize("query", [SERVICE_LINES], ids=["serviceLines"])
async def test_client_service_lines_do_not_grow_with_the_page(
    api: Api, db: Database, statements: StatementCounter, query: str
) -> None:
    await seed(db, api.slug)

    counts = []
    for size in SIZES:
        count, data = await counted(api, statements, query, {"first": size})
        edges = data["clients"]["edges"]
        assert len(edges) == size
        for edge in edges:
            (line,) = edge["node"]["serviceLines"]
            assert line["serviceLine"]["code"] == "ABA"
            assert [f["date"] for f in line["findings"]] == ["2026-02-10"]
            assert len(line["history"]) == 1
        counts.append(count)

    assert counts[0] == counts[1], counts
    assert counts[1] <= 24, counts
