"""The number of SQL statements of a query does not grow with the size of the page or batch:
related objects come through DataLoaders and the rules' facts are loaded set-based."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime, timedelta
from typing import Any

import builders as b
import pytest

from cmgraph.api import loaders
from cmgraph.api.ids import encode
from cmgraph.db import models

SIZES = (10, 50)


async def seed(db: Any, slug: str, clients: int = 50) -> list[str]:
    """`clients` clients, each with a coverage, a CM (a BCBA enrolled with the payor) and two
    sessions (the second one without a CM); returns the clients' global ids by name order.
    Inserted directly, as the API would store them, to keep the test fast."""
    org = await b.org_id(db, slug)
    async with db.write() as session:
        payor = models.Payor(organization_id=org, name="Acme", kind="COMMERCIAL", plugins=[])
        providers = [
            models.Provider(
                organization_id=org, first_name="Cm", last_name=f"P{i}", npi=b.next_npi()
            )
            for i in range(5)
        ]
        session.add_all([payor, *providers])
        await session.flush()
        for p in providers:
            session.add(models.Credential(organization_id=org, provider_id=p.id, type="BCBA"))
            session.add(
                models.Enrollment(
                    organization_id=org,
                    provider_id=p.id,
                    payor_id=payor.id,
                    status="ENROLLED",
                    effective_from=date(2025, 1, 1),
                )
            )
        ids = []
        for i in range(clients):
            client = models.Client(organization_id=org, first_name="C", last_name=f"L{i:03d}")
            session.add(client)
            await session.flush()
            ids.append(encode("Client", client.id))
            provider = providers[i % len(providers)]
            session.add(
                models.Coverage(
                    organization_id=org,
                    client_id=client.id,
                    payor_id=payor.id,
                    priority=1,
                    effective_from=date(2025, 1, 1),
                )
            )
            session.add(
                models.Assignment(
                    organization_id=org,
                    client_id=client.id,
                    service_line="ABA",
                    provider_id=provider.id,
                    start_date=date(2026, 3, 1),
                )
            )
            for day in (date(2026, 3, 10), date(2026, 2, 10)):
                starts = datetime(day.year, day.month, day.day, 14, tzinfo=UTC)
                session.add(
                    models.Appointment(
                        organization_id=org,
                        client_id=client.id,
                        service_line="ABA",
                        provider_id=provider.id,
                        starts_at=starts,
                        ends_at=starts + timedelta(hours=1),
                        date_of_service=day,
                        status="SCHEDULED",
                    )
                )
        await session.commit()
    return ids


async def counted(api: Any, statements: Any, query: str, variables: dict[str, Any]) -> tuple:
    # A token's use is recorded at most once a minute: use it first, so only the query counts.
    await api("{ __typename }")
    statements.count = 0
    data = await api(query, variables)
    return statements.count, data


CASELOAD = """
query($first: Int!) {
  clients(first: $first) {
    edges { node {
      coverages { payor { name } }
      caseManagers { provider { displayName credentials { type } } }
    } }
  }
}"""


async def test_the_caseload_query_does_not_grow_with_the_page(api, db, statements):
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
    api, db, statements, monkeypatch, query
):
    """The page's relations are read from the query (api.lookahead), fragments included,
    and loaded for the whole page first: no related object is then waited for on its own,
    and the statements are the loaders' own."""
    await seed(db, api.slug)
    waited: list[object] = []
    loaded = loaders.ready

    def ready(loader, key):
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
    edges { node { code date client { displayName } appointment { startsAt provider { npi } } } }
  }
}"""


async def test_compliance_findings_do_not_grow_with_the_number_of_sessions(api, db, statements):
    await seed(db, api.slug)

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
    assert counts[1] <= 15, counts  # a batch of whole days: its sessions are that days' own


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


async def test_claim_lines_do_not_grow_with_the_page(api, db, statements):
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


async def test_rendering_providers_do_not_grow_with_the_batch(api, db, statements):
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
async def test_client_service_lines_do_not_grow_with_the_page(api, db, statements, query):
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
