"""Fixtures for the shipped payor plugins: the app loads plugins/ as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook, build_plugin_manager

PLUGINS_DIR = Path(__file__).resolve().parents[2] / "plugins"


@pytest.fixture(scope="session")
def book() -> RuleBook:
    """The built-in rules and every plugin shipped in plugins/ (payors reach those they name)."""
    return RuleBook(build_plugin_manager(PLUGINS_DIR))


@pytest.fixture
async def http(
    db: Database, book: RuleBook, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db=db, book=book)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        yield client
