"""One organization cannot slow another (issue 14): a flood of the heaviest requests the
limits allow (a year's compliance report over the demo practice, from several connections
at once) against `cmgraph serve --workers 2` on PostgreSQL, while another organization asks
a small query again and again. The small query stays under 100 ms at p99: a report is priced
by its window (one a request), each caller has a cost budget per minute (429 beyond it, at
almost no work), and a query has a time budget.

CMGRAPH_FAIRNESS_SECONDS (20 by default) is how long the flood lasts; the whole test stays
under a minute."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from served import serving

from cmgraph.db.engine import Database
from cmgraph.demo import load_demo
from cmgraph.services import tenants

SECONDS = float(os.environ.get("CMGRAPH_FAIRNESS_SECONDS", "20"))
FLOODERS = 8  # connections of the flooding organization, each asking as fast as answered
# (tests/api/flood.py, niced: on two cores the flooding client's own work, not the server,
# was what a probe in the same process waited for)
PROBE_EVERY = 0.05
P99_LIMIT = 0.100
TODAY = date(2026, 3, 2)

SMALL = "{ serviceLines { code name } }"
FLOOD = Path(__file__).with_name("flood.py")


def heaviest(today: date) -> str:
    """The longest window a report may have, covering all of the demo's sessions: the most
    work one request may ask for."""
    since = today - timedelta(days=200)
    to = since + timedelta(days=365)
    return f'{{ complianceFindings(from: "{since}", to: "{to}", first: 0) {{ totalCount }} }}'


@pytest.fixture
def postgres_url(database_url: str, is_postgres: bool) -> str:
    if not is_postgres:
        pytest.skip(
            "the flood is served by several workers sharing one database, which SQLite is "
            "not for: set CMGRAPH_TEST_DATABASE_URL to a postgresql URL"
        )
    return database_url


async def test_a_flood_of_reports_from_one_organization_leaves_another_fast(
    db: Database, postgres_url: str, tmp_path: Path
) -> None:
    flooder_slug = f"flood-{uuid.uuid4().hex[:8]}"
    demo = await load_demo(db, slug=flooder_slug, today=TODAY)
    assert demo.appointments >= 600
    flooder = await tenants.create_token(db, flooder_slug, "billing")
    quiet_slug = f"quiet-{uuid.uuid4().hex[:8]}"
    await tenants.create_organization(db, "Quiet Practice", quiet_slug, "America/Chicago")
    quiet = await tenants.create_token(db, quiet_slug, "coordinator")
    report = heaviest(TODAY)

    with serving(postgres_url, tmp_path, workers=2) as server:
        limits = httpx.Limits(max_connections=FLOODERS + 2)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:

            async def ask(token: str, query: str) -> httpx.Response:
                return await http.post(
                    "/graphql",
                    json={"query": query},
                    headers={"Authorization": f"Bearer {token}"},
                )

            first = await ask(flooder, report)  # the report is allowed, and real work
            assert first.status_code == 200, first.text
            assert first.json()["data"]["complianceFindings"]["totalCount"] > 0
            for _ in range(10):  # both workers have the small query parsed and warm
                assert (await ask(quiet, SMALL)).status_code == 200

            latencies: list[float] = []
            quiet_alone: list[float] = []
            for _ in range(40):  # the small query alone, to tell the flood from a busy machine
                started = time.perf_counter()
                await ask(quiet, SMALL)
                quiet_alone.append(time.perf_counter() - started)
            flooded = tmp_path / "flood.json"
            flooding = await asyncio.create_subprocess_exec(
                *(sys.executable, str(FLOOD), server.url, flooder, report),
                *(str(SECONDS), str(FLOODERS), str(flooded)),
                preexec_fn=lambda: os.nice(10),
            )
            stop = time.monotonic() + SECONDS

            async def probe() -> None:
                while time.monotonic() < stop:
                    started = time.perf_counter()
                    response = await ask(quiet, SMALL)
                    latencies.append(time.perf_counter() - started)
                    assert response.status_code == 200, response.text
                    await asyncio.sleep(PROBE_EVERY)

            await probe()
            assert await flooding.wait() == 0
    statuses: list[int] = json.loads(flooded.read_text())

    assert set(statuses) <= {200, 429, 503}, set(statuses)
    assert statuses.count(200) >= 1 and statuses.count(429) > statuses.count(200)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    median = statistics.median(latencies)
    print(
        f"flood: {len(statuses)} reports asked, {statuses.count(200)} answered, "
        f"{statuses.count(429)} refused (429); small query: {len(latencies)} asked, "
        f"median {median * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms (alone: median "
        f"{statistics.median(quiet_alone) * 1000:.1f} ms, max {max(quiet_alone) * 1000:.1f} ms)"
    )
    assert len(latencies) >= 20
    # The flood may add at most 100 ms at p99 to what this machine gives the query alone
    # (on a quiet machine a few ms: the 100 ms; a machine busy with other work
    # must not fail the test for what the flood did not do).
    assert p99 < P99_LIMIT + max(quiet_alone), (median, p99, max(quiet_alone))
