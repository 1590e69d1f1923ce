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
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ADD, case_managers, cm_input, credentialed_case
from ledger import uuid_of
from served import serving
from sqlalchemy import text
from sqlalchemy.engine import make_url

GRACEFUL_SECONDS = 20
PROC_TCP = Path("/proc/net/tcp")
WITHIN = 10.0  # seconds for what should take a fraction of one


@contextlib.asynccontextmanager
async def write_lock_held(db, database_url: str, client_id: str) -> AsyncIterator[None]:
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
    connection = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


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


async def eventually(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WITHIN
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
        return writer.get_extra_info("sockname")[1]

    async def answer(self) -> tuple[int, dict[str, Any]]:
        raw = await self.reader.read()  # until the server closes the connection
        self.writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body)


@pytest.mark.skipif(not PROC_TCP.exists(), reason="needs Linux's /proc/net/tcp")
@pytest.mark.parametrize("workers", [1, 2])
async def test_a_stopped_server_finishes_the_request_in_flight_and_refuses_new_ones(
    api, db, database_url, tmp_path, workers
):
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
