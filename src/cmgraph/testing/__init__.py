"""A pytest plugin for cmgraph plugin authors (loaded by pytest through its entry point).

Fixtures:

- ``@pytest.mark.cmgraph_plugins(plugin, ...)``: the plugins of one test (a module, a class
  instance: anything with ``@hookimpl`` functions; or the path of a plugin file), registered
  under the name production would give them: a file's or module's stem, else the object's
  ``name`` attribute or its class name. The core stamps that name on the plugin's
  findings, rules and claim choices.
  ``cmgraph_plugins`` is the registry those markers fill; override that fixture in
  a conftest.py to register plugins for a whole directory.
- ``cmgraph_book``: the `RuleBook` of the built-in rules plus the registered plugins, for
  calling hooks directly with facts (``cmgraph_book.check_session(check)``...).
- ``cmgraph_graphql``: GraphQL over HTTP to the real app, with those rules, against a
  throwaway SQLite database of this test, as the admin of a fresh organization:
  ``await cmgraph_graphql(query, variables)`` returns the data (and fails the test on
  errors); ``.raw(...)`` returns the whole response body.
- ``cmgraph_database_url``: the migrated database ``cmgraph_graphql`` runs against (default:
  a throwaway SQLite file of the test). Override it to run against another, PostgreSQL
  for instance: each test gets an organization of its own, so tests may share one database.
- ``cmgraph_timezone``: the time zone of that organization (default America/New_York).

Fact builders for unit tests: ``cmgraph.testing.builders``. A practice through the API:
``cmgraph.testing.practice`` (one call) and ``cmgraph.testing.records`` (one record a call).
``Registrar``, ``RuleBook`` and ``PluginError`` are here for tests that register plugins
themselves (a plugin that refuses its configuration at import raises PluginError).

Needs pytest-asyncio in auto mode and httpx for ``cmgraph_graphql``: ``pip install
'cmgraph[testing]'`` and ``asyncio_mode = auto`` in pytest's configuration.

See docs/plugins.md, "Testing a plugin".
"""

from __future__ import annotations

import importlib
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cmgraph.plugins import (
    PluginError,
    PluginManager,
    RuleBook,
    build_plugin_manager,
    import_plugin,
    name_of,
)
from cmgraph.testing import practice as _practice
from cmgraph.testing.practice import Practice

if TYPE_CHECKING:
    import httpx

__all__ = ["GraphQLClient", "PluginError", "Practice", "Registrar", "RuleBook"]

# pytest loads this module in every run of every project where cmgraph is installed: the app,
# the database layer and httpx are imported only when a test asks for cmgraph_graphql.


def _needed(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise pytest.UsageError(
            f"cmgraph_graphql needs {exc.name}: pip install 'cmgraph[testing]'"
        ) from exc


class Registrar:
    """The plugins a test registers; names default to what `cmgraph.plugins.name_of` says."""

    def __init__(self) -> None:
        self.plugins: list[tuple[object, str]] = []

    def register(self, plugin: object, name: str | None = None) -> object:
        """Register a plugin object or module, or a plugin file (a path: imported the way
        CMGRAPH_PLUGINS_DIR's files are, named by its stem)."""
        if isinstance(plugin, (str, Path)):
            path = Path(plugin)
            plugin, name = import_plugin(path), name or path.stem
        self.plugins.append((plugin, name or name_of(plugin)))
        return plugin

    def manager(self) -> PluginManager:
        pm = build_plugin_manager()
        for plugin, name in self.plugins:
            pm.register_from(plugin, name, "registered by a test")
        pm.check_pending()
        return pm


class GraphQLClient:
    """One organization's admin talking GraphQL to the app."""

    def __init__(self, client: httpx.AsyncClient, token: str, timezone: str) -> None:
        self.client, self.token, self.timezone = client, token, timezone

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self.raw(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def practice(self, plugins: list[str], **options: Any) -> Practice:
        """A client covered by a payor naming `plugins`, an enrolled CM candidate and an RBT
        (see cmgraph.testing.practice)."""
        return await _practice.practice(self, plugins, **options)

    async def add_case_manager(
        self, who: Practice, start: str, line: str = "ABA"
    ) -> dict[str, Any]:
        return await _practice.add_case_manager(self, who, start, line)

    async def session(self, who: Practice, starts_at: str, ends_at: str, **options: Any) -> str:
        return await _practice.session(self, who, starts_at, ends_at, **options)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cmgraph_plugins(*plugins): register cmgraph plugins for this test"
    )


@pytest.fixture
def cmgraph_plugins(request: pytest.FixtureRequest) -> Registrar:
    registrar = Registrar()
    for marker in reversed(list(request.node.iter_markers("cmgraph_plugins"))):
        for plugin in marker.args:
            registrar.register(plugin)
    return registrar


@pytest.fixture
def cmgraph_book(cmgraph_plugins: Registrar) -> RuleBook:
    return RuleBook(cmgraph_plugins.manager())


@pytest.fixture(scope="session")
def _cmgraph_migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per run; each test copies it (faster than migrating)."""
    migrate = importlib.import_module("cmgraph.db.migrate")
    path = tmp_path_factory.mktemp("cmgraph-template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def cmgraph_timezone() -> str:
    """The organization's time zone; override this fixture to change it."""
    return "America/New_York"


@pytest.fixture
def cmgraph_database_url(_cmgraph_migrated_template: Path, tmp_path: Path) -> str:
    """The migrated database cmgraph_graphql's app runs against: by default a copy of a
    migrated SQLite file in the test's tmp_path. Override this fixture to use another
    (migrated with ``cmgraph migrate``); every test makes an organization of its own in it."""
    path = tmp_path / "cmgraph.db"
    shutil.copy(_cmgraph_migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def cmgraph_graphql(
    cmgraph_book: RuleBook,
    cmgraph_database_url: str,
    tmp_path: Path,
    cmgraph_timezone: str,
) -> AsyncIterator[GraphQLClient]:
    httpx = _needed("httpx")
    create_app = _needed("cmgraph.app").create_app
    Settings = _needed("cmgraph.config").Settings
    Database = _needed("cmgraph.db.engine").Database
    tenants = _needed("cmgraph.services.tenants")
    url = cmgraph_database_url
    db = Database.from_url(url)
    settings = Settings(
        database_url=url,
        plugins_dir=tmp_path / "no-plugins-dir",
        disabled_plugins=frozenset(),
        development=False,
        max_page_size=100,
    )
    slug = f"plugin-test-{uuid.uuid4().hex[:12]}"
    await tenants.create_organization(db, "Plugin Test Practice", slug, cmgraph_timezone)
    token = await tenants.create_token(db, slug, "admin")
    app = create_app(settings, db=db, book=cmgraph_book)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as c:
            yield GraphQLClient(c, token, cmgraph_timezone)
    finally:
        await db.dispose()
