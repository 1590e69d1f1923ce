"""Shared fixtures: one migrated database per run (SQLite by default, PostgreSQL when
CMGRAPH_TEST_DATABASE_URL points at it), a fresh organization per test (tenancy keeps tests
apart), and an HTTP client that speaks GraphQL to the real ASGI app."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db import migrate
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook, build_plugin_manager
from cmgraph.services import tenants
from tests.support import Api, StatementCounter

TEST_URL_ENV = "CMGRAPH_TEST_DATABASE_URL"


def _is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


async def _recreate_postgres_database(url: str) -> None:
    """Tests own their PostgreSQL database: drop and create it, so each run starts empty."""
    from sqlalchemy.ext.asyncio import create_async_engine

    target = make_url(url)
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            name = target.database
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get(TEST_URL_ENV)
    if not url:
        path = tmp_path_factory.mktemp("db") / "cmgraph-test.db"
        url = f"sqlite+aiosqlite:///{path}"
    return url


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    if _is_postgres(database_url):
        await _recreate_postgres_database(database_url)
    await migrate.upgrade_async(database_url)
    database = Database.from_url(database_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return _is_postgres(database_url)


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
def statements(db: Database) -> Iterator[StatementCounter]:
    """Counts SQL statements sent to the database while a test runs."""
    counter = StatementCounter()
    event.listen(db.engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    event.remove(db.engine.sync_engine, "before_cursor_execute", counter)
