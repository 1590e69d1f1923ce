"""Stopping `cmgraph serve` (SIGTERM, as an orchestrator does) is graceful: a request in
flight finishes with its answer and its write committed, new connections are refused at
once, and the process exits 0 within the graceful timeout.

The request is made slow deterministically: the test holds the lock its write needs (the
client's row on PostgreSQL, the database's write lock on SQLite) until the stop is under way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from helpers import ADD, case_managers, cm_input, credentialed_case
from ledger import uuid_of
from served import serving
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from cmgraph.db.engine import Database
from cmgraph.db.models import IdempotencyKey
from cmgraph.services.tokens import organization_of
from tests.support import Api

GRACEFUL_SECONDS = 20
PROC_TCP = Path("/proc/net/tcp")
WITHIN = 10.0  # seconds for what should take a fraction of one


@contextlib.asynccontextmanager
async def write_lock_held(db: Database, database_url: str, client_id: str) -> AsyncIterator[None]:
    """The lock an addCaseManager for this client waits on, held until the block ends."""
    if db.engine.dialect.name == "postgresql":
        async with db.engine.connect() as connection:
            await connection.execute(
                text("SELECT 1 FROM clients WHERE id = :id FOR UPDATE"), {"id": uuid_of(client_id)}
            )
            yield
            await connection.rollback()
        return
    # SQLite: one writer at a time; the app's BEGIN IMMEDIATE waits (busy timeout 5 s).
    holder = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


def unread_bytes(server_port: int, client_port: int) -> int | None:
    """Bytes the server has not read yet on the connection from client_port (Linux's view of
    its TCP sockets); None while it has no such connection."""
    for line in PROC_TCP.read_text().splitlines()[1:]:
        local, remote, _, queues = line.split()[1:5]
        if (int(local.split(":")[1], 16), int(remote.split(":")[1], 16)) == (
            server_port,
            client_port,
        ):
            return int(queues.split(":")[1], 16)
    return None


async def eventually(condition: Any, what: str, within: float = WITHIN) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


class RawRequest:
    """One HTTP/1.1 POST on its own connection, so the test knows the connection's port."""

    def __init__(self, port: int, token: str, body: dict[str, Any]) -> None:
        self.port, self.token, self.body = port, token, json.dumps(body).encode()

    async def send(self) -> int:
        """Send it; the local port of the connection."""
        self.reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(
            (
                f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            + self.body
        )
        await writer.drain()
        self.writer = writer
        return cast("int", writer.get_extra_info("sockname")[1])

    async def answer(self) -> tuple[int, dict[str, Any]]:
        raw = await self.reader.read()  # until the server closes the connection
        self.writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body)


@pytest.mark.skipif(not PROC_TCP.exists(), reason="needs Linux's /proc/net/tcp")
@pytest.mark.parametrize("workers", [1, 2])
async def test_a_stopped_server_finishes_the_request_in_flight_and_refuses_new_ones(
    api: Api, db: Database, database_url: str, tmp_path: Path, workers: int
) -> None:
    case = await credentialed_case(api)
    input = cm_input(case, "2026-03-01", note="in flight at the stop")
    with serving(database_url, tmp_path, workers, GRACEFUL_SECONDS) as server:
        async with write_lock_held(db, database_url, case.client):
            request = RawRequest(
                server.port, api.token, {"query": ADD, "variables": {"input": input}}
            )
            client_port = await request.send()
            await eventually(
                lambda: unread_bytes(server.port, client_port) == 0, "the server read the request"
            )
            answer = asyncio.ensure_future(request.answer())
            server.process.send_signal(signal.SIGTERM)
            await eventually(lambda: refuses_connections(server.port), "new connections refused")
            assert not answer.done()  # still waiting for the lock, and the server for it
        status, body = await asyncio.wait_for(answer, WITHIN)
        exit_status = server.process.wait(GRACEFUL_SECONDS)  # or TimeoutExpired

    assert status == 200, body
    payload = body["data"]["addCaseManager"]
    assert payload["userErrors"] == []
    assert exit_status == 0, server.log_text()[-3000:]
    stored = await case_managers(api, case.client)
    assert [(a["id"], a["note"]) for a in stored] == [
        (payload["caseManager"]["id"], "in flight at the stop")
    ]


CHEAP = "{ clients(first: 1) { totalCount } }"
STOPS = 3  # without the fix, each stop served a kept-alive connection for the whole grace
KEEP_ALIVE_CLIENTS = 24
WARM = 2  # answers each client has had on its kept-alive connection before the stop
ARRIVALS = 60  # clients that connect in the moment after the signal, one every ARRIVING s
ARRIVING = 0.01
SETTLE = 2.0  # seconds after the signal by which every worker has begun stopping
STOPPED_WITHIN = 8.0  # the grace is 30 s: a stop that waits on a connection takes that long


def exit_of(process: subprocess.Popen[bytes], seconds: float) -> tuple[int, float]:
    """The exit status, and when it came (read in its own thread, so that the test's busy
    loop does not make the stop look late)."""
    status = process.wait(seconds)
    return status, time.monotonic()


@pytest.mark.skipif(not PROC_TCP.exists(), reason="needs Linux's /proc/net/tcp")
@pytest.mark.parametrize("stop", range(STOPS))
async def test_after_the_stop_no_new_request_starts_on_any_connection(
    api: Api, database_url: str, tmp_path: Path, stop: int
) -> None:
    """Kept-alive clients, each with answers on its connection already, keep sending through
    the stop, and more clients connect just after the signal (a connection accepted as a
    worker begins to stop is the one uvicorn forgets): requests sent well after it are refused
    (503, JSON), none is served for the whole grace period, and the server exits in about a
    second rather than after the graceful timeout."""
    answers: list[tuple[float, httpx.Response]] = []
    running = True
    with serving(database_url, tmp_path, workers=2, graceful_seconds=30) as server:
        answered = [0] * (KEEP_ALIVE_CLIENTS + ARRIVALS)

        async def keep_sending(n: int) -> None:
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            async with httpx.AsyncClient(
                base_url=server.url,
                headers={"Authorization": f"Bearer {api.token}"},
                timeout=40,
                limits=limits,
            ) as client:
                while running:
                    sent = time.monotonic()
                    try:
                        response = await client.post("/graphql", json={"query": CHEAP})
                    except httpx.HTTPError:  # closed or refused: the server is going away
                        await asyncio.sleep(0.2)  # (sooner, and the loop is too busy to time
                        continue  # the arrivals)
                    answers.append((sent, response))
                    answered[n] += 1

        clients = [asyncio.ensure_future(keep_sending(n)) for n in range(KEEP_ALIVE_CLIENTS)]
        await eventually(
            lambda: min(answered[:KEEP_ALIVE_CLIENTS]) >= WARM,
            "every client kept alive",
            within=30,  # the workers' first answers, on a busy machine
        )
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        exited = asyncio.ensure_future(asyncio.to_thread(exit_of, server.process, 40))
        for n in range(KEEP_ALIVE_CLIENTS, KEEP_ALIVE_CLIENTS + ARRIVALS):
            clients.append(asyncio.ensure_future(keep_sending(n)))
            await asyncio.sleep(ARRIVING)
        exit_status, exit_time = await exited
        running = False
        await asyncio.gather(*clients)

    stopped_in = exit_time - signalled
    assert exit_status == 0, server.log_text()[-3000:]
    assert stopped_in < STOPPED_WITHIN, f"stopped in {stopped_in:.1f} s"
    assert any(sent < signalled and r.status_code == 200 for sent, r in answers)
    for _, response in answers:
        assert response.headers["content-type"].startswith("application/json"), response.text
        assert response.status_code in (200, 503), response.text
    late = [r for sent, r in answers if sent > signalled + SETTLE]
    assert all(r.status_code == 503 for r in late), [r.status_code for r in late][:20]
    assert all(r.headers.get("connection") == "close" for r in late)


@pytest.mark.skipif(not PROC_TCP.exists(), reason="needs Linux's /proc/net/tcp")
async def test_a_request_cut_at_the_graceful_deadline_answers_json_and_releases_its_key(
    api: Api, db: Database, database_url: str, tmp_path: Path, is_postgres: bool
) -> None:
    """Still running when the graceful timeout ends (it waits for a lock the test holds):
    the answer is the JSON 503, not uvicorn's plain-text 500, and its Idempotency-Key is
    given back, so a retry runs at once."""
    if not is_postgres:
        pytest.skip("on SQLite the lock that holds the write holds the key's reservation too")
    case = await credentialed_case(api)
    input = cm_input(case, "2026-03-01", note="cut at the deadline")
    with serving(database_url, tmp_path, 1, graceful_seconds=2) as server:
        async with (
            write_lock_held(db, database_url, case.client),
            httpx.AsyncClient(base_url=server.url, timeout=20) as client,
        ):
            answer = asyncio.ensure_future(
                client.post(
                    "/graphql",
                    json={"query": ADD, "variables": {"input": input}},
                    headers={
                        "Authorization": f"Bearer {api.token}",
                        "Idempotency-Key": "cut-at-the-deadline",
                    },
                )
            )
            deadline = time.monotonic() + WITHIN
            while not await stored_key(db, api.token, "cut-at-the-deadline"):
                assert time.monotonic() < deadline, "the key was never reserved"
                await asyncio.sleep(0.05)
            server.process.send_signal(signal.SIGTERM)
            response = await asyncio.wait_for(answer, WITHIN)
        exit_status = server.process.wait(WITHIN)

    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    assert response.headers["retry-after"]
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAVAILABLE"]
    assert exit_status == 0
    assert not await stored_key(db, api.token, "cut-at-the-deadline")
    assert await case_managers(api, case.client) == []


async def stored_key(db: Database, token: str, key: str) -> str | None:
    """The state of the caller's key, None when there is no record of it."""
    async with db.read() as session:
        return await session.scalar(
            select(IdempotencyKey.state).where(
                IdempotencyKey.organization_id == organization_of(token),
                IdempotencyKey.key == key,
            )
        )
