"""A report read in several statements (the compliance report's batches) sees one snapshot:
what commits while it reads is not half in it."""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest
from pytest import MonkeyPatch
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import tenants
from tests.support import StatementCounter


async def clients(session: AsyncSession, org: uuid.UUID) -> int:
    count = select(func.count()).select_from(models.Client)
    return cast("int", await session.scalar(count.where(models.Client.organization_id == org)))


async def test_a_snapshot_session_does_not_see_what_commits_while_it_reads(db: Database) -> None:
    slug = f"snap-{uuid.uuid4().hex[:8]}"
    org = (await tenants.create_organization(db, "Snapshot", slug, "America/Chicago")).id

    async with db.snapshot() as report:
        assert await clients(report, org) == 0
        async with db.write() as writer:
            writer.add(models.Client(organization_id=org, first_name="Late", last_name="Comer"))
            await writer.commit()
        assert await clients(report, org) == 0  # the report's later batches see what it saw

    async with db.read() as later:
        assert await clients(later, org) == 1


async def test_a_read_on_sqlite_begins_in_one_call_or_else_as_sqlalchemy_does(
    db: Database, monkeypatch: MonkeyPatch
) -> None:
    """A read's BEGIN goes to the driver itself (no statement a listener counts), and its
    transaction is real: the driver's connection is in it. Should the driver refuse that
    call, SQLAlchemy's own BEGIN opens the transaction instead."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's driver begins its transactions itself")
    statements = StatementCounter()
    event.listen(db.engine.sync_engine, "before_cursor_execute", statements)
    try:
        async with db.engine.connect() as connection:
            await connection.begin()
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is not None
            assert raw.driver_connection._conn.in_transaction
            assert statements.sent == []
            driver = type(raw.driver_connection)
        refusing = driver.execute

        def refused(self: Any, sql: str, *args: Any) -> Any:
            if sql == "BEGIN":
                raise RuntimeError("the driver refused")
            return refusing(self, sql, *args)

        monkeypatch.setattr(driver, "execute", refused)
        async with db.engine.connect() as connection:
            await connection.begin()
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is not None
            assert raw.driver_connection._conn.in_transaction
            assert [text for text, _ in statements.sent] == ["BEGIN"]
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", statements)
