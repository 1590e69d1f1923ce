"""A query whose client disconnects before its answer is stopped at its next await
(web.departure), rather than run to its end for nobody; a mutation runs to its end."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import builders as b
import orjson
from pytest import MonkeyPatch

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from cmgraph.services import compliance, payors
from tests.support import Api

YEAR = '{ complianceFindings(from: "2026-01-01", to: "2026-12-31", first: 0) { totalCount } }'
Sent = list[dict[str, Any]]


async def post_then_leave(
    app: Callable[..., Awaitable[None]], token: str, body: dict[str, Any], leave: asyncio.Event
) -> Sent:
    """POST /graphql through the app as uvicorn hands it over, the client disconnecting
    once `leave` is set: what the app sent."""
    content = orjson.dumps(body)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"t"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = [{"type": "http.request", "body": content, "more_body": False}]
    sent: Sent = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_a_query_whose_client_disconnects_is_stopped(
    api: Api, db: Database, book: RuleBook, settings: Settings, monkeypatch: MonkeyPatch
) -> None:
    started, stopped = asyncio.Event(), asyncio.Event()

    async def endless(*args: Any, **kwargs: Any) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            stopped.set()
            raise

    monkeypatch.setattr(compliance, "findings_page", endless)
    leave = asyncio.Event()
    asked = asyncio.create_task(
        post_then_leave(create_app(settings, db=db, book=book), api.token, {"query": YEAR}, leave)
    )
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.05)
    assert not stopped.is_set(), "stopped while its client was still there"

    leave.set()
    sent = await asyncio.wait_for(asked, 5)
    assert stopped.is_set()
    assert sent[0]["status"] == 499  # for the log: nobody receives it
    assert orjson.loads(sent[1]["body"])["errors"][0]["extensions"]["code"] == "CLIENT_GONE"


async def test_a_mutation_whose_client_disconnects_runs_to_its_end(
    api: Api, db: Database, book: RuleBook, settings: Settings, monkeypatch: MonkeyPatch
) -> None:
    """Stopped while it commits, whether it was done would be unknown: it is not stopped."""
    started, release = asyncio.Event(), asyncio.Event()
    real = payors.create_payor

    async def held(*args: Any, **kwargs: Any) -> Any:
        started.set()
        await release.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(payors, "create_payor", held)
    leave = asyncio.Event()
    body = {"query": b.CREATE_PAYOR, "variables": {"input": {"name": "Late", "kind": "COMMERCIAL"}}}
    asked = asyncio.create_task(
        post_then_leave(create_app(settings, db=db, book=book), api.token, body, leave)
    )
    await asyncio.wait_for(started.wait(), 5)
    leave.set()
    await asyncio.sleep(0.05)
    release.set()
    sent = await asyncio.wait_for(asked, 5)
    assert sent[0]["status"] == 200
    assert orjson.loads(sent[1]["body"])["data"]["createPayor"]["payor"]["name"] == "Late"


async def test_a_receive_that_fails_neither_stops_the_query_nor_says_the_client_left(
    api: Api, db: Database, book: RuleBook, settings: Settings, monkeypatch: MonkeyPatch
) -> None:
    """A server whose receive raises: the watch ends quietly, and a query past its time
    budget is answered TIMEOUT (503), not CLIENT_GONE."""

    async def endless(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(60)

    monkeypatch.setattr(compliance, "findings_page", endless)
    short = dataclasses.replace(
        settings, limits=dataclasses.replace(settings.limits, request_seconds=0.3)
    )
    app = create_app(short, db=db, book=book)
    content = orjson.dumps({"query": YEAR})
    messages = [{"type": "http.request", "body": content, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        raise RuntimeError("this server cannot say")

    sent: Sent = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "headers": [
            (b"authorization", f"Bearer {api.token}".encode()),
            (b"content-type", b"application/json"),
        ],
        "query_string": b"",
        "state": {},
    }
    await asyncio.wait_for(app(scope, receive, send), 5)
    assert sent[0]["status"] == 503
    assert orjson.loads(sent[1]["body"])["errors"][0]["extensions"]["code"] == "TIMEOUT"
