"""The pages as HTTP serves them, without a browser: where they are, their CSP, that they
load nothing from outside, and that their GraphQL documents fit the schema."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from graphql import build_schema, parse, validate

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from cmgraph.web.pages import GRAPHIQL_DIR, UI_DIR

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = build_schema((ROOT / "schema.graphql").read_text())


async def _client(
    settings: Settings, db: Database, book: RuleBook
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db=db, book=book)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://cmgraph.test"
    ) as client:
        yield client


@pytest.fixture
async def on(settings: Settings, db: Database, book: RuleBook) -> AsyncIterator[httpx.AsyncClient]:
    """CMGRAPH_UI=true and development mode (GraphiQL)."""
    async for client in _client(dataclasses.replace(settings, ui=True, development=True), db, book):
        yield client


@pytest.fixture
async def off(settings: Settings, db: Database, book: RuleBook) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(settings, db, book):
        yield client


def _no_unsafe_csp(response: httpx.Response) -> str:
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    return policy


async def test_the_ui_is_off_unless_configured(off: httpx.AsyncClient) -> None:
    assert (await off.get("/app")).status_code == 404
    assert (await off.get("/app/static/js/main.js")).status_code == 404
    assert (await off.get("/graphiql/vendor/graphiql.min.js")).status_code == 404


def test_cmgraph_ui_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMGRAPH_UI", "true")
    assert Settings.from_env().ui
    monkeypatch.setenv("CMGRAPH_UI", "")
    assert not Settings.from_env().ui


async def test_the_ui_and_its_files_carry_a_strict_csp(on: httpx.AsyncClient) -> None:
    page = await on.get("/app")
    assert page.status_code == 200
    _no_unsafe_csp(page)
    assert page.headers["referrer-policy"] == "no-referrer"
    script = await on.get("/app/static/js/main.js")
    assert script.headers["content-type"].startswith("text/javascript")
    _no_unsafe_csp(script)
    document = await on.get("/app/static/graphql/Client.graphql")
    assert document.status_code == 200 and "query Client" in document.text


async def test_graphiql_loads_nothing_from_outside(on: httpx.AsyncClient) -> None:
    page = await on.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    _no_unsafe_csp(page)
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)
    # No inline script: only data blocks, which the CSP does not run.
    for tag in re.findall(r"<script[^>]*>", page.text):
        assert "src=" in tag or 'type="application/json"' in tag
    for src in re.findall(r"(?:src|href)=\"(/graphiql/[^\"]+)\"", page.text):
        assert (await on.get(src)).status_code == 200, src


def _documents(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.graphql"))


@pytest.mark.parametrize(
    "path",
    _documents(UI_DIR) + _documents(GRAPHIQL_DIR),
    ids=lambda p: p.name,
)
def test_every_document_fits_the_schema(path: Path) -> None:
    assert validate(SCHEMA, parse(path.read_text())) == []


def test_no_ui_script_uses_persistent_storage_or_the_url_for_data() -> None:
    for script in (UI_DIR / "js").glob("*.js"):
        text = script.read_text()
        assert not re.search(r"(local|session)Storage[ \t]*(\.[ \t]*[A-Za-z]|\[)", text), (
            script.name
        )
        assert "location.search" not in text and "pushState" not in text, script.name


def test_vendored_assets_match_their_pins() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "web-assets"), "--check"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
