"""The run's database, for the tests of tests/ and of the shipped plugins beside them
(plugins/test_*.py): one migrated database per run, SQLite by default, PostgreSQL when
CMGRAPH_TEST_DATABASE_URL points at it. The plugin kit's tests (cmgraph.testing's
cmgraph_graphql) run against it too, each in an organization of its own, so they cover both
databases in the repo; outside it (./scripts/kit-check) they get the kit's throwaway SQLite
file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from cmgraph.db import migrate
from cmgraph.db.engine import Database

TEST_URL_ENV = "CMGRAPH_TEST_DATABASE_URL"


def _is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


# The mark a database gets when the suite creates it. The suite drops a database WITH (FORCE)
# only when it carries this mark, so pointing the tests at a server never costs a database
# they did not make (a developer's, a staging one that happens to share the name).
TEST_DATABASE_MARK = "cmgraph test database: the test suite drops and recreates it"


class NotOurs(Exception):
    """The database exists and was not made by the test suite."""


async def _mark_of(connection: Any, name: str) -> str | None:
    """The comment on database `name`, "" for none, None when it does not exist."""
    row = (
        await connection.execute(
            text(
                "SELECT coalesce(shobj_description(oid, 'pg_database'), '')"
                " FROM pg_database WHERE datname = :name"
            ),
            {"name": name},
        )
    ).first()
    return None if row is None else row[0]


async def recreate_owned_database(url: str, *, drop_only: bool = False) -> None:
    """Drop database `url` names (only when it carries the suite's mark), then create it
    again with the mark; `drop_only` stops after the drop. Raises NotOurs, with the line to
    show, for a database the suite did not make."""
    from sqlalchemy.ext.asyncio import create_async_engine

    target = make_url(url)
    name = target.database or ""
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            mark = await _mark_of(connection, name)
            if mark is not None and mark != TEST_DATABASE_MARK:
                raise NotOurs(
                    f'refusing to drop database "{name}" on {target.host}: the test suite did'
                    " not create it (no cmgraph test mark). Point CMGRAPH_TEST_DATABASE_URL"
                    " (./scripts/test: CMGRAPH_TEST_POSTGRES_URL) at another name, or drop"
                    f' it yourself if it is a test database: DROP DATABASE "{name}"'
                )
            if mark is not None:
                await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            if drop_only:
                return
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
            await connection.execute(
                text(f"COMMENT ON DATABASE \"{name}\" IS '{TEST_DATABASE_MARK}'")
            )
    finally:
        await admin.dispose()


@pytest.fixture(scope="session")
def owned_databases() -> Any:
    """recreate_owned_database, for tests that make a scratch database of their own."""
    return recreate_owned_database


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
        try:
            await recreate_owned_database(database_url)
        except NotOurs as refusal:
            pytest.exit(str(refusal), returncode=pytest.ExitCode.USAGE_ERROR)
    await migrate.upgrade_async(database_url)
    database = Database.from_url(database_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return _is_postgres(database_url)


@pytest.fixture
def cmgraph_database_url(database_url: str, db: Database) -> str:
    """The kit's database is the run's (migrated by `db`)."""
    return database_url
