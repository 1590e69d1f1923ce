"""The suite drops and creates its PostgreSQL database WITH (FORCE), on whatever server the
URL names. It must never cost a database it did not make: it marks the ones it creates
(COMMENT ON DATABASE) and refuses, in one line, to drop one without the mark."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _only_on_postgres(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the suite makes and drops databases only on PostgreSQL")


@pytest.fixture
async def stranger(database_url: str) -> AsyncIterator[str]:
    """A database with a table and a row, made by someone else (no mark)."""
    url = make_url(database_url)
    name = f"{url.database}_stranger"
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    stranger_url = url.set(database=name)
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine = create_async_engine(stranger_url)
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE precious (note text)"))
            await connection.execute(text("INSERT INTO precious VALUES ('keep me')"))
        await engine.dispose()
        yield stranger_url.render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _notes(url: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text("SELECT note FROM precious"))).scalars())
    finally:
        await engine.dispose()


async def test_a_database_the_suite_did_not_make_is_refused_and_kept(
    stranger: str, owned_databases: Callable[..., Awaitable[None]]
) -> None:
    with pytest.raises(Exception, match=r'refusing to drop database ".*_stranger"'):
        await owned_databases(stranger)
    assert await _notes(stranger) == ["keep me"]


async def test_a_database_the_suite_made_is_marked_and_recreated_empty(
    database_url: str, owned_databases: Callable[..., Awaitable[None]]
) -> None:
    scratch = make_url(database_url).set(database=f"{make_url(database_url).database}_marked")
    scratch_url = scratch.render_as_string(hide_password=False)
    await owned_databases(scratch_url)
    engine = create_async_engine(scratch_url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE leftover (x int)"))
    await engine.dispose()
    await owned_databases(scratch_url)  # marked: dropped and made again, empty
    engine = create_async_engine(scratch_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.execute(
                text("SELECT count(*) FROM pg_tables WHERE tablename = 'leftover'")
            )
            assert tables.scalar() == 0
    finally:
        await engine.dispose()
        await owned_databases(scratch_url, drop_only=True)


def test_the_suite_pointed_at_a_foreign_database_stops_with_one_line(stranger: str) -> None:
    """The whole run stops before any test, with one line saying why and what to do."""
    env = {**os.environ, "CMGRAPH_TEST_DATABASE_URL": stranger}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/db/test_snapshot.py",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    refusal = [line for line in (run.stdout + run.stderr).splitlines() if "refusing" in line]
    assert len(refusal) == 1, run.stdout + run.stderr
    assert "did not create it" in refusal[0] and "CMGRAPH_TEST_DATABASE_URL" in refusal[0]
    assert "Traceback" not in run.stdout + run.stderr
