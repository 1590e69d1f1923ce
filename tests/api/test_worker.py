"""`cmgraph worker` and `cmgraph serve` as they deliver webhooks: real processes sharing the
test database, a real loopback receiver. A worker killed with SIGKILL in the middle of a
delivery leaves it to another, which delivers it again under the same webhook-id; a worker
stopped with SIGTERM finishes the attempt in flight and releases its endpoint. Without a
secret key neither starts, in one line."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import builders as b
import pytest
from cryptography.fernet import Fernet
from receiver import receiving
from sqlalchemy import select

from cmgraph.config import Settings
from cmgraph.db import models
from cmgraph.db.engine import Database
from tests.support import Api


def environment(database_url: str, key: str | None, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "CMGRAPH_DATABASE_URL": database_url,
        "CMGRAPH_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "CMGRAPH_WEBHOOK_POLL_SECONDS": "0.1",
        **extra,
    }
    env.pop("CMGRAPH_SECRET_KEY", None)
    if key is not None:
        env["CMGRAPH_SECRET_KEY"] = key
    return env


@contextlib.contextmanager
def worker(
    database_url: str, key: str, log: Path, **extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "cmgraph.cli", "worker"],
            env=environment(database_url, key, **extra),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def test_a_worker_killed_mid_delivery_leaves_it_to_another(
    api: Api, db: Database, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    """The first worker takes the delivery and dies while the receiver holds the request;
    once its lease ends, a second worker delivers the same message (same webhook-id)."""
    assert settings.secret_key is not None  # the workers seal and open secrets with it
    async with receiving() as receiver:
        created = await api(
            """mutation($url: String!) { createWebhookEndpoint(input: {url: $url,
                 eventTypes: ["client.created"]}) { secret userErrors { code } } }""",
            {"url": receiver.url},
        )
        receiver.secrets.append(created["createWebhookEndpoint"]["secret"])
        await b.client(api, "Killed", "Midway")
        receiver.stall_seconds = 30
        log = tmp_path / "workers.log"
        lease = {"CMGRAPH_WEBHOOK_LEASE_SECONDS": "3"}
        with worker(database_url, settings.secret_key, log, **lease) as first:
            async with asyncio.timeout(60):
                while not receiver.in_flight:
                    receiver.arrived.clear()
                    await receiver.arrived.wait()
            first.send_signal(signal.SIGKILL)
            first.wait()
        assert receiver.received == []  # the first attempt never finished
        receiver.stall_seconds = 0
        with worker(database_url, settings.secret_key, log, **lease):
            (got, *_) = await receiver.wait_for(1, seconds=60)
        assert got.verified
        (event,) = [
            e["node"]
            for e in (
                await api('{ events(types: ["client.created"]) { edges { node { data } } } }')
            )["events"]["edges"]
        ]
        assert got.id == event["data"]["id"]


async def test_sigterm_finishes_the_attempt_in_flight_and_releases_the_endpoint(
    api: Api, db: Database, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    assert settings.secret_key is not None  # the worker seals and opens secrets with it
    async with receiving() as receiver:
        created = await api(
            """mutation($url: String!) { createWebhookEndpoint(input: {url: $url,
                 eventTypes: ["client.created"]}) { userErrors { code } } }""",
            {"url": receiver.url},
        )
        assert created["createWebhookEndpoint"]["userErrors"] == []
        await b.client(api, "Stopped", "Gracefully")
        receiver.stall_seconds = 1.5
        log = tmp_path / "worker.log"
        with worker(database_url, settings.secret_key, log) as running:
            async with asyncio.timeout(60):
                while not receiver.in_flight:
                    receiver.arrived.clear()
                    await receiver.arrived.wait()
            running.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(running.wait, 30)
        assert code == 0, log.read_text()
        assert len(receiver.received) == 1  # finished, not cut
    async with db.read() as session:
        endpoint = await session.scalar(
            select(models.WebhookEndpoint).where(models.WebhookEndpoint.url == receiver.url)
        )
        assert endpoint is not None
        delivery = await session.scalar(
            select(models.WebhookDelivery).where(models.WebhookDelivery.endpoint_id == endpoint.id)
        )
    assert delivery is not None
    assert endpoint.lease_owner is None and endpoint.leased_until is None
    assert delivery.status == "succeeded" and delivery.attempts == 1


@pytest.mark.parametrize("command", [["worker"], ["serve", "--port", "0"]])
def test_without_a_secret_key_delivery_does_not_start_in_one_line(
    database_url: str, command: list[str]
) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "cmgraph.cli", *command],
        env=environment(database_url, None),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run
    (line,) = run.stderr.strip().splitlines()
    assert (
        line.startswith("cmgraph: webhook delivery cannot start: ") and "CMGRAPH_SECRET_KEY" in line
    )


def test_a_malformed_secret_key_is_one_line_too(database_url: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "cmgraph.cli", "worker"],
        env=environment(database_url, "not-a-fernet-key"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run
    (line,) = run.stderr.strip().splitlines()
    assert "is not a Fernet key" in line


def test_secret_key_prints_a_new_fernet_key_each_time() -> None:
    keys = [
        subprocess.run(
            [sys.executable, "-m", "cmgraph.cli", "secret-key"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert keys[0] != keys[1]
    for key in keys:
        Fernet(key.encode())  # a valid key, or this raises
