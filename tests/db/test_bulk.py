"""db.bulk: rows written by COPY (PostgreSQL, from COPY_FROM rows) are the rows executemany
writes, value for value; COPY never runs outside the caller's transaction; a row COPY
refuses is an IntegrityError, as an INSERT's would be."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import builders as b
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from cmgraph.db import bulk, models
from cmgraph.db.engine import Database
from cmgraph.services import changes
from tests.support import Api

TABLE = models.ChangeRecord.__table__


def records(org: uuid.UUID, n: int) -> list[dict[str, Any]]:
    """Change records whose values take every path of their columns' types: JSON objects,
    None, text beyond ASCII, instants with an offset, booleans and numbers inside JSON."""
    zone = timezone(timedelta(hours=-5))
    return [
        {
            "organization_id": org,
            "id": uuid.uuid4(),
            "actor": "importer",
            "role": None if i % 2 else "cli",
            "actor_name": 'Zoë O\'Brien, "the" importer\t\\',
            "request_id": None,
            "caller_request_id": f"req-{i}",
            "operation": "scheduleAppointment",
            "entity_type": "Appointment",
            "entity_id": uuid.UUID(int=i),
            "before": None if i % 3 else {"status": "scheduled", "n": i, "ok": True},
            "after": {"startsAt": "2026-03-08T09:00:00-05:00", "list": [1, None, "ü"], "n": 1.5},
            "occurred_at": datetime(2026, 3, 8, 9, 0, i % 60, 123456, tzinfo=zone),
            "position": 10_000 + i,
        }
        for i in range(n)
    ]


async def stored(db: Database, org: uuid.UUID, actor: str = "importer") -> list[tuple[Any, ...]]:
    """The organization's change records written here, as read back, its ids left out, with
    whether `before` is SQL NULL (JSON's null is not)."""
    c = models.ChangeRecord
    async with db.read() as session:
        rows = await session.execute(
            select(c.__table__, c.before.is_(None))
            .where(c.organization_id == org, c.actor == actor)
            .order_by(c.position)
        )
        return [tuple(v for k, v in row._mapping.items() if k not in ("organization_id", "id"))
                for row in rows]  # fmt: skip


async def write(db: Database, rows: list[dict[str, Any]]) -> None:
    async with db.write() as session:
        await session.execute(text("SELECT 1"))  # as a use case reads before it writes
        await session.run_sync(lambda s: bulk.insert_rows(s.connection(), TABLE, rows))
        await session.commit()


async def test_copy_writes_the_rows_executemany_writes(
    api: Api, other_api: Api, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_copy, by_insert = await b.org_id(db, api.slug), await b.org_id(db, other_api.slug)
    monkeypatch.setattr(bulk, "COPY_FROM", 1)
    await write(db, records(by_copy, 150))
    monkeypatch.setattr(bulk, "COPY_FROM", 10**9)
    await write(db, records(by_insert, 150))

    copied = await stored(db, by_copy)
    assert len(copied) == 150
    assert copied == await stored(db, by_insert)
    assert copied[0][0] == datetime(2026, 3, 8, 14, 0, 0, 123456, tzinfo=UTC)  # occurred_at


async def test_tuples_store_what_sqlalchemys_insert_stores(api: Api, db: Database) -> None:
    org = await b.org_id(db, api.slug)
    ours = records(org, 20)
    theirs = [{**row, "id": uuid.uuid4(), "actor": "sqlalchemy", "position": row["position"] + 100}
              for row in ours]  # fmt: skip
    async with db.write() as session:
        await session.execute(insert(TABLE), theirs)
        await session.run_sync(lambda s: bulk.insert_rows(s.connection(), TABLE, ours))
        await session.commit()

    def same(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [(*row[:1], *row[2:-2], row[-1]) for row in rows]  # actor, position left out

    assert same(await stored(db, org)) == same(await stored(db, org, "sqlalchemy"))


async def test_copy_waits_for_the_callers_transaction(
    api: Api, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that has sent nothing yet has no transaction open on the server: COPY
    there would commit on its own, so the rows go by INSERT, and a rollback undoes them."""
    org = await b.org_id(db, api.slug)
    monkeypatch.setattr(bulk, "COPY_FROM", 1)
    async with db.engine.connect() as connection:
        await connection.run_sync(lambda c: bulk.insert_rows(c, TABLE, records(org, 5)))
        c = models.ChangeRecord
        found = await connection.scalars(
            select(c.id).where(c.organization_id == org, c.actor == "importer")
        )
        assert len(list(found)) == 5
        await connection.rollback()
    assert await stored(db, org) == []


async def test_a_row_copy_refuses_is_an_integrity_error(
    api: Api, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await b.org_id(db, api.slug)
    monkeypatch.setattr(bulk, "COPY_FROM", 1)
    rows = records(org, 3)
    rows[2] = {**rows[2], "position": rows[0]["position"]}  # a position taken twice
    with pytest.raises(IntegrityError):
        await write(db, rows)
    assert await stored(db, org) == []


def test_rows_give_every_column_made_in_python() -> None:
    """A column whose default SQLAlchemy makes per row (occurred_at) cannot be left out."""
    row = records(uuid.uuid4(), 1)[0]
    del row["occurred_at"]
    with pytest.raises(ValueError, match="occurred_at"):
        bulk._columns(TABLE, row)


async def test_a_mapped_row_reads_and_inserts_as_a_constructed_one(
    api: Api, other_api: Api, db: Database
) -> None:
    """bulk.mapped skips the constructor's attribute events only: its row snapshots as the
    constructed one does, and a session inserts it as insert_rows inserts its values."""
    by_session, by_bulk = await b.org_id(db, api.slug), await b.org_id(db, other_api.slug)
    values = records(by_session, 1)[0]
    mapped = bulk.mapped(models.ChangeRecord, values)
    assert type(mapped) is models.ChangeRecord
    assert changes.snapshot(mapped) == changes.snapshot(models.ChangeRecord(**values))
    async with db.write() as session:
        session.add(mapped)
        await session.commit()
    await write(db, records(by_bulk, 1))
    inserted = await stored(db, by_session)
    assert len(inserted) == 1
    assert inserted == await stored(db, by_bulk)
