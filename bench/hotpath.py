"""`python -m bench.hotpath`: what one small request costs in the app, in process (no
network, no uvicorn), with whatever CMGRAPH_METRICS and OTEL_* the environment sets. It
answers the question "what do metrics and tracing cost a request, on and off?"; run it with
each setting and compare. SQLite in a temporary folder; the first requests warm caches and
are not counted. Besides wall time it reports the CPU time of this process per request,
which other processes on a busy machine disturb much less."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db import migrate
from cmgraph.db.engine import Database
from cmgraph.services import tenants

QUERY = "query Caseload { clients(first: 10) { totalCount edges { node { id } } } }"
WARM_UP, REQUESTS = 50, 1000


async def measure(folder: Path) -> tuple[list[float], float]:
    url = f"sqlite+aiosqlite:///{folder / 'hotpath.db'}"
    await migrate.upgrade_async(url)
    db = Database.from_url(url)
    await tenants.create_organization(db, "Hot Path", "hot", "America/Chicago")
    token = await tenants.create_token(db, "hot", "admin", "hotpath")
    settings = Settings.from_env({**os.environ, "CMGRAPH_DATABASE_URL": url})
    app = create_app(settings, db=db)
    headers = {"Authorization": f"Bearer {token}"}
    seconds: list[float] = []
    cpu = 0.0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as c:
        for n in range(WARM_UP + REQUESTS):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = await c.post("/graphql", json={"query": QUERY}, headers=headers)
            if n >= WARM_UP:
                seconds.append(time.perf_counter() - started)
                cpu += time.process_time() - cpu_started
            assert response.status_code == 200, response.text
    await db.dispose()
    return seconds, cpu


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        seconds, cpu = asyncio.run(measure(Path(folder)))
    ms = sorted(s * 1000 for s in seconds)
    print(
        f"{len(ms)} requests: median {statistics.median(ms):.2f} ms, "
        f"p90 {ms[int(len(ms) * 0.9)]:.2f} ms, mean {statistics.fmean(ms):.2f} ms, "
        f"CPU {cpu * 1000 / len(ms):.2f} ms per request"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
