"""Migrations are the only way the schema changes, so each must undo cleanly: upgrade from
empty, downgrade to base, upgrade again, on the kind of database the suite runs on (CI runs
it on SQLite and on PostgreSQL). It uses a throwaway database of its own, never the suite's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from cmgraph.db import migrate, models
from cmgraph.db.engine import create_engine

# the tables as revision sec_0001 left them, for rows written before 0003
ORGANIZATIONS = sa.table(
    "organizations",
    *(sa.column(c) for c in ("slug", "name", "timezone")),
    sa.column("id", sa.Uuid()),
    sa.column("created_at", sa.DateTime()),
)
TOKENS = sa.table(
    "api_tokens",
    *(sa.column(c) for c in ("name", "role", "token_hash")),
    sa.column("organization_id", sa.Uuid()),
    sa.column("id", sa.Uuid()),
    sa.column("created_at", sa.DateTime()),
    sa.column("scopes", sa.JSON()),
)


@pytest.fixture
async def scratch_url(
    database_url: str, tmp_path: Path, owned_databases: Callable[..., Awaitable[None]]
) -> AsyncIterator[str]:
    """An empty database of the suite's kind: a temp SQLite file, or a PostgreSQL database
    named after the suite's and dropped afterwards."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield f"sqlite+aiosqlite:///{tmp_path / 'round-trip.db'}"
        return
    scratch = url.set(database=f"{url.database}_migrations").render_as_string(hide_password=False)
    await owned_databases(scratch)  # marked as the suite's, like the suite's own
    yield scratch
    await owned_databases(scratch, drop_only=True)


def _schema(sync: Connection) -> dict[str, Any]:
    """Tables with their columns, keys and indexes, as the database reports them."""
    inspector = inspect(sync)
    return {
        table: {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ),
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
            "foreign_keys": sorted(
                (f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(table)
            ),
        }
        for table in inspector.get_table_names()
    }


async def _inspect(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_schema)
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_to_base_and_upgrade_again(scratch_url: str) -> None:
    await asyncio.to_thread(migrate.upgrade, scratch_url)
    first = await _inspect(scratch_url)
    assert {"organizations", "api_tokens", "case_manager_assignments"} <= set(first)

    await asyncio.to_thread(migrate.downgrade, scratch_url, "base")
    assert set(await _inspect(scratch_url)) <= {"alembic_version"}

    await asyncio.to_thread(migrate.upgrade, scratch_url)
    assert await _inspect(scratch_url) == first
    engine = create_engine(scratch_url)
    try:
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_0003_revokes_tokens_that_do_not_name_their_organization(scratch_url: str) -> None:
    """Such a token could only be found by a cross-tenant lookup, which 0003 removes."""
    await asyncio.to_thread(migrate.upgrade, scratch_url, "sec_0001")
    engine = create_engine(scratch_url)
    org, token = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC).replace(tzinfo=None)  # a plain timestamp suits both databases
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(ORGANIZATIONS).values(
                    id=org, slug="old", name="Old", timezone="UTC", created_at=now
                )
            )
            await connection.execute(
                sa.insert(TOKENS).values(
                    organization_id=org,
                    id=token,
                    name="old",
                    role="admin",
                    token_hash="0" * 64,
                    created_at=now,
                    scopes=[],
                )
            )
        await asyncio.to_thread(migrate.upgrade, scratch_url)
        async with engine.connect() as connection:
            revoked = await connection.scalar(text("SELECT revoked_at FROM api_tokens"))
        assert revoked is not None
    finally:
        await engine.dispose()


async def test_migrations_make_every_index_the_models_declare(scratch_url: str) -> None:
    """The models name the indexes the queries are planned against; a migration must make
    each one, with the same columns, or a database built by migrations plans without it."""
    await asyncio.to_thread(migrate.upgrade, scratch_url)
    made = await _inspect(scratch_url)
    for table in models.Base.metadata.sorted_tables:
        declared = {(i.name, tuple(c.name for c in i.columns)) for i in table.indexes}
        present = {(name, columns) for name, columns, _ in made[table.name]["indexes"]}
        assert declared <= present, f"{table.name}: no migration makes {declared - present}"
