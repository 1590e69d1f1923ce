"""Shared fixtures: a fresh organization per test in the run's database (../conftest.py:
tenancy keeps tests apart), and an HTTP client that speaks GraphQL to the real ASGI app."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event

from cmgraph.app import create_app
from cmgraph.config import Settings, WebhookSettings
from cmgraph.db.engine import Database
from cmgraph.demo import load_demo
from cmgraph.plugins import RuleBook, build_plugin_manager
from cmgraph.services import tenants, tokens
from tests.support import Api, StatementCounter

DEMO_TODAY = date(2026, 11, 2)  # the demo's data is built around this day


@pytest.fixture(scope="session")
def book() -> RuleBook:
    return RuleBook(build_plugin_manager())


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        plugins_dir=Path("plugins-not-used-in-core-tests"),
        disabled_plugins=frozenset(),
        development=False,
        max_page_size=100,
        # webhooks (tests/api/test_webhooks.py): secrets sealed, receivers on loopback
        secret_key=Fernet.generate_key().decode(),
        webhooks=WebhookSettings(allow_private_networks=True),
    )


async def new_org(db: Database, timezone: str = "America/New_York") -> tuple[str, str]:
    slug = f"t-{uuid.uuid4().hex[:12]}"
    await tenants.create_organization(db, f"Practice {slug}", slug, timezone)
    return slug, await tenants.create_token(db, slug, "admin")


@pytest.fixture
async def http(
    db: Database, book: RuleBook, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db=db, book=book)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        yield client


@pytest.fixture
def timezone() -> str:
    """Override in a module or test to run the organization in another zone."""
    return "America/New_York"


@pytest.fixture
async def api(db: Database, http: httpx.AsyncClient, timezone: str) -> Api:
    slug, token = await new_org(db, timezone)
    return Api(http, token, slug)


@pytest.fixture
async def other_api(db: Database, http: httpx.AsyncClient) -> Api:
    """A second organization, for tenancy tests."""
    slug, token = await new_org(db)
    return Api(http, token, slug)


@pytest.fixture
async def demo_api(db: Database, http: httpx.AsyncClient) -> Api:
    """The demo practice (50 clients with coverages, histories and findings) in an
    organization of its own, and an admin token whose first use is already recorded."""
    slug = f"demo-{uuid.uuid4().hex[:8]}"
    await load_demo(db, slug=slug, today=DEMO_TODAY)
    api = Api(http, await tenants.create_token(db, slug, "admin"), slug)
    await api("{ __typename }")
    return api


@pytest.fixture(autouse=True, scope="session")
def tokens_trusted_all_session() -> Iterator[None]:
    """A token verified by a test's first request is still trusted at its last: statement
    counts assume it, and on a loaded machine tokens.VERIFIED_FOR (5 s) can pass between
    two requests that a test compares. Tests of that bound move the clock past it, whatever
    it is."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tokens, "VERIFIED_FOR", 3600.0)
        yield


@pytest.fixture
def statements(db: Database) -> Iterator[StatementCounter]:
    """Counts SQL statements sent to the database while a test runs."""
    counter = StatementCounter()
    event.listen(db.engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    event.remove(db.engine.sync_engine, "before_cursor_execute", counter)
