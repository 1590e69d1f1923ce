"""Claim lines and rendering answers read on the request's one connection: the judge's facts
and the answer's related objects alike. A session of the service's own was a second pool
checkout (with PostgreSQL's ping), BEGIN and ROLLBACK per request: three round trips of a
request of about twelve statements. And a page of claim lines counts its window only when
totalCount is asked (a month's count reads every session of the month)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from counting import counted, seed
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from cmgraph.db.engine import Database
from cmgraph.services.reader import Reader
from tests.support import Api, StatementCounter

CLAIM_LINES = """
query($from: Date!, $to: Date!, $first: Int!) {
  claimLines(from: $from, to: $to, first: $first) {
    %s
    edges { node { dateOfService client { displayName } renderingProvider { npi } } }
  }
}"""
WINDOW = {"from": "2026-03-01", "to": "2026-03-31", "first": 10}  # sessions with a CM

RENDERING = """
query($requests: [RenderingProviderRequest!]!) {
  renderingProviders(requests: $requests) {
    clientId provider { displayName npi } assignment { startDate } findings { code }
  }
}"""


class Checkouts:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: object) -> None:
        self.count += 1


@pytest.fixture
def checkouts(db: Database) -> Iterator[Checkouts]:
    """Connections taken from the pool while a test runs."""
    counter = Checkouts()
    event.listen(db.engine.sync_engine.pool, "checkout", counter)
    yield counter
    event.remove(db.engine.sync_engine.pool, "checkout", counter)


@pytest.mark.parametrize("selected", ["totalCount", "pageInfo { hasNextPage }"])
async def test_claim_lines_take_one_connection(
    api: Api, db: Database, statements: StatementCounter, checkouts: Checkouts, selected: str
) -> None:
    await seed(db, api.slug)
    await api("{ __typename }")  # the token's use is recorded first
    checkouts.count = 0

    _, data = await counted(api, statements, CLAIM_LINES % selected, WINDOW)

    assert len(data["claimLines"]["edges"]) == 10
    assert all(e["node"]["renderingProvider"] for e in data["claimLines"]["edges"])
    assert checkouts.count == 1
    counts = [t for t, _ in statements.sent if "count(" in t.lower() and "FROM appointments" in t]
    if selected == "totalCount":
        assert data["claimLines"]["totalCount"] == 50
        assert len(counts) == 1, counts
    else:
        assert counts == [], "counted a window nobody asked to count"


@pytest.mark.parametrize("size", [1, 50])
async def test_rendering_answers_take_one_connection(
    api: Api, db: Database, statements: StatementCounter, checkouts: Checkouts, size: int
) -> None:
    client_ids = await seed(db, api.slug)
    requests = [
        {"clientId": c, "serviceLine": "ABA", "dateOfService": "2026-03-10"}
        for c in client_ids[:size]
    ]
    await api("{ __typename }")
    checkouts.count = 0

    _, data = await counted(api, statements, RENDERING, {"requests": requests})

    assert [a["clientId"] for a in data["renderingProviders"]] == client_ids[:size]
    assert all(a["provider"] is not None for a in data["renderingProviders"])
    assert checkouts.count == 1


CLIENT_PAGE = """
query($id: ID!) {
  client(id: $id) {
    id displayName
    coverages { priority payor { name } }
    caseManagers { serviceLine { code } provider { displayName credentials { type } } }
  }
}"""


class ReadSessions:
    """Read sessions made by the service's Database.read while a test runs."""

    def __init__(self, db: Database) -> None:
        self.count, self._read = 0, db.read

    def __call__(self, connection: AsyncConnection | None = None) -> AsyncSession:
        self.count += 1
        return self._read(connection)


@pytest.fixture
def read_sessions(db: Database, monkeypatch: pytest.MonkeyPatch) -> ReadSessions:
    sessions = ReadSessions(db)
    monkeypatch.setattr(db, "read", sessions)
    return sessions


async def test_a_page_of_core_reads_makes_no_session(
    api: Api, db: Database, statements: StatementCounter, read_sessions: ReadSessions
) -> None:
    # The one-client page's reads are Core statements on the request's connection: making
    # an ORM session for them, and closing it, was a tenth of the request's CPU.
    client_ids = await seed(db, api.slug, clients=1)
    await api("{ __typename }")
    read_sessions.count = 0

    count, data = await counted(api, statements, CLIENT_PAGE, {"id": client_ids[0]})

    assert data["client"]["coverages"][0]["payor"]["name"] == "Acme"
    assert data["client"]["caseManagers"][0]["provider"]["credentials"] is not None
    assert count == 3  # as tests/api/test_statements.py counts the page
    assert read_sessions.count == 0


async def test_a_session_joins_the_connection_the_core_reads_used(db: Database) -> None:
    reader = Reader(db)
    try:
        connection = await reader.rows(_same)
        session = await reader.run(_bind)
        assert session is connection  # the same connection, in the same transaction
        assert connection.in_transaction()
    finally:
        await reader.close()
    assert connection.closed


async def _same(connection: AsyncConnection) -> AsyncConnection:
    return connection


async def _bind(session: AsyncSession) -> object:
    return session.bind
