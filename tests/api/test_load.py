"""Load on PostgreSQL: 32 clients mixing reads, adds, changes and removals for
CMGRAPH_LOAD_SECONDS (60 by default; set it lower to try the test quickly) against
`cmgraph serve` with several workers on loopback. Writes target a small practice (20
clients x 2 lines, 10 providers), so they race for the same client and line all the time.

Afterwards: no answer was a 5xx, a transport error or a GraphQL error; no two assignments
of one client and line overlap (a self-join in SQL); the table holds exactly what the
acknowledged writes said, and nothing of the refused ones (ledger.py explains how)."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import helpers as h
import httpx
import pytest
from ledger import Ledger, Row
from served import serving
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from cmgraph.db.engine import Database
from cmgraph.services.tokens import organization_of
from tests.support import Api

SECONDS = float(os.environ.get("CMGRAPH_LOAD_SECONDS", "60"))
CLIENTS = 32
WORKERS = 3  # several, so that any worker serves any request; the machine has 2 cores
CASELOAD = 20
LINES = ("ABA", "ST")
PROVIDERS = 10
MIN_REQUESTS_PER_SECOND = 5  # far below what even a busy 2-core machine does: not vacuous
FIRST_DAY = date(2026, 1, 1)
DAYS = 180

pytestmark = pytest.mark.postgres_only


def overlaps_query(table: str) -> str:
    """Pairs of assignments of one client and line whose periods share a day (an open end
    runs for ever)."""
    return f"""
        SELECT a.id, b.id FROM {table} a JOIN {table} b
          ON a.organization_id = b.organization_id AND a.client_id = b.client_id
         AND a.service_line = b.service_line AND a.id < b.id
         AND a.start_date <= COALESCE(b.end_date, 'infinity'::date)
         AND b.start_date <= COALESCE(a.end_date, 'infinity'::date)
    """


async def overlapping(connection: AsyncConnection, table: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await connection.execute(text(overlaps_query(table)))]


@pytest.fixture
def postgres_url(database_url: str, is_postgres: bool) -> str:
    if not is_postgres:
        pytest.skip(
            "load runs on PostgreSQL only (several workers share one database; SQLite is "
            "one process): set CMGRAPH_TEST_DATABASE_URL to a postgresql URL"
        )
    return database_url


async def test_the_overlap_query_finds_overlaps_and_only_them(
    db: Database, postgres_url: str
) -> None:
    """The check the load test relies on, on rows the exclusion constraint would refuse."""
    org, client, provider = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    periods = {  # name: (line, start, end)
        "january": ("ABA", "2026-01-01", "2026-01-10"),
        "shares_the_10th": ("ABA", "2026-01-10", "2026-01-20"),
        "next_day": ("ABA", "2026-01-21", "2026-01-31"),
        "open_after": ("ABA", "2026-02-01", None),
        "open_speech": ("ST", "2026-01-01", None),
        "later_speech": ("ST", "2026-03-01", "2026-03-02"),
    }
    names = {uuid.uuid4(): name for name in periods}
    async with db.engine.connect() as connection:
        await connection.execute(
            text("CREATE TEMP TABLE probe (LIKE case_manager_assignments) ON COMMIT DROP")
        )
        for id, name in names.items():
            line, start, end = periods[name]
            await connection.execute(
                text(
                    "INSERT INTO probe (organization_id, id, client_id, service_line, "
                    "provider_id, start_date, end_date, version, created_at) VALUES (:org, "
                    ":id, :client, :line, :provider, :start, :end, 1, now())"
                ),
                {
                    "org": org,
                    "id": id,
                    "client": client,
                    "line": line,
                    "provider": provider,
                    "start": date.fromisoformat(start),
                    "end": end and date.fromisoformat(end),
                },
            )
        found = {frozenset({names[a], names[b]}) for a, b in await overlapping(connection, "probe")}
        await connection.rollback()
    assert found == {
        frozenset({"january", "shares_the_10th"}),
        frozenset({"open_speech", "later_speech"}),
    }


async def _practice(api: Api) -> tuple[list[str], list[str], str]:
    """Clients covered by one payor, providers qualified for both lines and enrolled with it
    (and one who is not: his writes are refused by a rule). No appointments, so lead time
    and sessions in use never refuse: writes fail only by racing each other."""
    payor = await h.create_payor(api)
    qualified = [h.credential("BCBA"), h.credential("SLP")]
    providers = []
    for n in range(PROVIDERS):
        provider = await h.create_provider(api, "Load", f"Provider{n:02d}", qualified)
        await h.record_enrollment(api, provider, payor)
        providers.append(provider)
    unenrolled = await h.create_provider(api, "Never", "Enrolled", qualified)
    clients = []
    for n in range(CASELOAD):
        client = await h.create_client(api, "Load", f"Client{n:02d}")
        await h.add_coverage(api, client, payor)
        clients.append(client)
    return clients, providers, unenrolled


CASELOAD_PAGE = """{ clients(first: 20) { totalCount edges { node { id displayName
  serviceLines { serviceLine { code } currentCaseManager { id provider { displayName } } }
} } } }"""
CLINICAL_TAB = """query($id: ID!) { client(id: $id) { displayName serviceLines {
  serviceLine { code } currentCaseManager { provider { displayName } startDate }
  history { startDate endDate provider { displayName } } findings { code date } } } }"""
FINDINGS = """{ complianceFindings(from: "2026-01-01", to: "2026-06-30", first: 20) {
  totalCount edges { node { code severity date } } } }"""
RENDERING = """query($r: [RenderingProviderRequest!]!) {
  renderingProviders(requests: $r) { provider { npi } findings { code } } }"""
ASSIGNMENTS_OF_LINE = """query($id: ID!, $line: String!) {
  client(id: $id) { caseManagers(serviceLine: $line) { id version } } }"""


class LoadClient:
    """One of the concurrent clients: its own connection, picking operations at random."""

    def __init__(self, http: httpx.AsyncClient, practice: Any, ledger: Ledger, seed: int) -> None:
        self.http, self.ledger, self.rng = http, ledger, random.Random(seed)
        self.clients, self.providers, self.unenrolled = practice

    def day(self, after: int = 0) -> date:
        return FIRST_DAY + timedelta(days=self.rng.randrange(after, DAYS))

    async def post(self, kind: str, query: str, **variables: Any) -> dict[str, Any] | None:
        self.ledger.requests[kind] += 1
        try:
            response = await self.http.post(
                "/graphql", json={"query": query, "variables": variables}
            )
        except httpx.HTTPError as exc:
            self.ledger.fail(f"{kind}: {type(exc).__name__} {exc}")
            return None
        if response.status_code != 200:
            self.ledger.fail(f"{kind}: HTTP {response.status_code} {response.text[:300]}")
            return None
        body = response.json()
        if "errors" in body:
            self.ledger.fail(f"{kind}: {body['errors']}")
            return None
        return cast("dict[str, Any] | None", body["data"])

    def target(self) -> tuple[str, str, str]:
        """A client, a line and a provider; now and then the unenrolled one."""
        provider = self.rng.choice(self.providers)
        if self.rng.random() < 0.05:
            provider = self.unenrolled
        return self.rng.choice(self.clients), self.rng.choice(LINES), provider

    async def read(self) -> None:
        which = self.rng.randrange(4)
        if which == 0:
            await self.post("caseload", CASELOAD_PAGE)
        elif which == 1:
            await self.post("clinical tab", CLINICAL_TAB, id=self.rng.choice(self.clients))
        elif which == 2:
            await self.post("findings", FINDINGS)
        else:
            requests = [
                {"clientId": c, "serviceLine": line, "dateOfService": self.day().isoformat()}
                for c, line, _ in (self.target() for _ in range(5))
            ]
            await self.post("rendering", RENDERING, r=requests)

    async def add(self) -> None:
        client, line, provider = self.target()
        start = self.day()
        end = None if self.rng.random() < 0.3 else start + timedelta(self.rng.randrange(3, 30))
        note = f"load {uuid.uuid4().hex}"
        input = {"clientId": client, "serviceLine": line, "providerId": provider}
        input |= {"startDate": start.isoformat(), "note": note}
        if end is not None:
            input["endDate"] = end.isoformat()
        data = await self.post("add", h.ADD, input=input)
        if data is None:
            return
        payload = data["addCaseManager"]
        if payload["userErrors"]:
            self.ledger.refuse("add", payload, note)
            return
        made = payload["caseManager"]
        asked = (provider, input["startDate"], input.get("endDate"), note)
        if (made["provider"]["id"], made["startDate"], made["endDate"], made["note"]) != asked:
            self.ledger.fail(f"add acknowledged {made}, asked {input}")
        self.ledger.create("add", client, made)

    async def change(self) -> None:
        client, line, provider = self.target()
        start, note = self.day(after=1), f"load {uuid.uuid4().hex}"
        input = {"clientId": client, "serviceLine": line, "providerId": provider}
        input |= {"startDate": start.isoformat(), "note": note}
        data = await self.post("change", h.CHANGE, input=input)
        if data is None:
            return
        payload = data["changeCaseManager"]
        if payload["userErrors"]:
            self.ledger.refuse("change", payload, note)
            return
        made, ended = payload["caseManager"], payload["ended"]
        if ended["endDate"] != (start - timedelta(days=1)).isoformat() or made["note"] != note:
            self.ledger.fail(f"change acknowledged {payload}, asked {input}")
        self.ledger.create("change", client, made)
        self.ledger.end(ended)

    async def remove(self) -> None:
        client, line, _ = self.target()
        data = await self.post("assignments", ASSIGNMENTS_OF_LINE, id=client, line=line)
        if not data or not data["client"]["caseManagers"]:
            return
        chosen = self.rng.choice(data["client"]["caseManagers"])
        data = await self.post("remove", h.REMOVE, input=chosen)
        if data is None:
            return
        payload = data["removeCaseManager"]
        if payload["userErrors"]:
            self.ledger.refuse("remove", payload)
        else:
            self.ledger.remove(payload["removedId"])

    async def run(self, until: float) -> None:
        operations = [self.read, self.add, self.change, self.remove]
        while time.monotonic() < until:
            await self.rng.choices(operations, weights=[45, 25, 15, 15])[0]()


async def _table(db: Database, organization_id: uuid.UUID) -> dict[str, Row]:
    async with db.engine.connect() as connection:
        result = await connection.execute(
            text(
                "SELECT id, client_id, service_line, provider_id, start_date, end_date, note, "
                "version FROM case_manager_assignments WHERE organization_id = :org"
            ),
            {"org": organization_id},
        )
        return {
            str(r.id): Row(
                str(r.client_id),
                r.service_line,
                str(r.provider_id),
                r.start_date.isoformat(),
                r.end_date and r.end_date.isoformat(),
                r.note,
                r.version,
            )
            for r in result
        }


async def test_concurrent_clients_against_several_workers_keep_every_promise(
    api: Api, db: Database, postgres_url: str, tmp_path: Path, capsys
) -> None:
    practice = await _practice(api)
    ledger = Ledger()
    with serving(postgres_url, tmp_path, workers=WORKERS) as server:
        headers = {"Authorization": f"Bearer {api.token}"}
        started = time.monotonic()
        until = started + SECONDS

        async def one_client(n: int) -> None:
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as c:
                await LoadClient(c, practice, ledger, seed=n).run(until)

        await asyncio.gather(*(one_client(n) for n in range(CLIENTS)))
        elapsed = time.monotonic() - started
        assert server.stop(timeout=60) == 0, server.log_text()[-3000:]
        internal_errors = [line for line in server.log_text().splitlines() if "error_id" in line]

    requests = sum(ledger.requests.values())
    writes = sum(ledger.acknowledged.values())
    with capsys.disabled():
        print(
            f"\nload: {requests} requests in {elapsed:.0f} s ({requests / elapsed:.0f}/s), "
            f"{CLIENTS} clients, {WORKERS} workers; acknowledged writes {writes} "
            f"{dict(ledger.acknowledged)}; refused {sum(ledger.refusals.values())} "
            f"{dict(ledger.refusals)}; failures {len(ledger.failures)}"
        )
    assert ledger.failures == [], (ledger.failures[:10], internal_errors[:3])
    assert requests >= MIN_REQUESTS_PER_SECOND * SECONDS, ledger.requests
    for kind in ("add", "change", "remove"):
        assert ledger.acknowledged[kind] > 0, ledger.acknowledged
    # They raced: the same client and line, at the same time.
    assert ledger.refusals["OVERLAPPING_ASSIGNMENT"] > 0, ledger.refusals

    async with db.engine.connect() as connection:
        assert await overlapping(connection, "case_manager_assignments") == []
    assert ledger.inconsistencies() == []
    table = await _table(db, organization_of(api.token))
    assert not ledger.refused_notes & {row.note for row in table.values()}
    expected = ledger.expected_rows()
    missing = {id: row for id, row in expected.items() if table.get(id) != row}
    unexplained = {id: row for id, row in table.items() if id not in expected}
    assert (missing, unexplained) == ({}, {})
