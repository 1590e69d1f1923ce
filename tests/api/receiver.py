"""A webhook receiver on loopback for tests: a real HTTP server (uvicorn) in the test's own
event loop, verifying each request with the Standard Webhooks reference library, as a
partner's receiver does. It can be told to answer an error status or to stall."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass(frozen=True)
class Tls:
    """A receiver's certificate and key (PEM files): served over https."""

    certfile: str
    keyfile: str


@dataclass
class Receiver:
    port: int
    path: str = "/hooks"
    host: str = "127.0.0.1"  # the URL's host: over TLS, the name its certificate is for
    tls: Tls | None = None
    secrets: list[str] = field(default_factory=list)  # verified against any of them
    status: int = 204
    stall_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0  # requests being answered
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}{self.path}"

    def verified_with(self, secret: str, item: Received) -> bool:
        try:
            Webhook(secret).verify(item.body, item.headers)
        except WebhookVerificationError:
            return False
        return True

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        verified = any(self.verified_with(s, Received(headers, body, False)) for s in self.secrets)
        self.in_flight += 1
        self.arrived.set()
        if self.stall_seconds:
            await asyncio.sleep(self.stall_seconds)
        self.received.append(Received(headers, body, verified))
        self.in_flight -= 1
        self.arrived.set()
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        content = b"" if self.status in (204, 304) else b"receiver's own body, never kept"
        await send({"type": "http.response.body", "body": content})

    async def wait_for(self, count: int, seconds: float = 20.0) -> list[Received]:
        async with asyncio.timeout(seconds):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Up:
    """A receiver being served on its port; `stop` takes it down (connections refused)."""

    def __init__(self, receiver: Receiver) -> None:
        tls = receiver.tls
        config = uvicorn.Config(
            receiver,
            host="127.0.0.1",
            port=receiver.port,
            log_level="warning",
            lifespan="off",
            ssl_certfile=tls.certfile if tls else None,
            ssl_keyfile=tls.keyfile if tls else None,
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Future[None] | None = None

    async def start(self) -> Up:
        self.task = asyncio.ensure_future(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)
            if self.task.done():
                self.task.result()
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


@contextlib.asynccontextmanager
async def receiving(receiver: Receiver | None = None) -> AsyncIterator[Receiver]:
    """Serve `receiver` (a new one on a free port without it) until the block ends."""
    receiver = receiver or Receiver(free_port())
    up = await Up(receiver).start()
    try:
        yield receiver
    finally:
        await up.stop()
