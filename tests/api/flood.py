"""A flood of one request from several connections, as fast as answered, in a process of
its own: `python flood.py URL TOKEN QUERY SECONDS CONNECTIONS OUT` writes the statuses it
got to OUT (JSON). tests/api/test_fairness.py runs it niced, so that the flood's own client
work does not take the CPU from the small query's client it measures: on two cores the
flooding client, not the server, was what the probe waited for."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx


async def flood(url: str, token: str, query: str, seconds: float, connections: int) -> list[int]:
    statuses: list[int] = []
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:

        async def one_connection() -> None:
            while time.monotonic() < stop:
                response = await http.post(
                    "/graphql",
                    json={"query": query},
                    headers={"Authorization": f"Bearer {token}"},
                )
                statuses.append(response.status_code)

        await asyncio.gather(*(one_connection() for _ in range(connections)))
    return statuses


def main() -> None:
    url, token, query, seconds, connections, out = sys.argv[1:7]
    statuses = asyncio.run(flood(url, token, query, float(seconds), int(connections)))
    Path(out).write_text(json.dumps(statuses))


if __name__ == "__main__":
    main()
