"""A bulk import's batch runs on SQLite with a larger page cache and rarer checkpoints
(db.engine.SQLITE_BULK); its connection goes back to the pool with SQLite's defaults
(SQLITE_DEFAULTS), so every other transaction, a write or a read, runs with them, and none
pays for the switch with statements of its own (they would count in its statements and
traces)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, text

from cmgraph.db import migrate
from cmgraph.db.engine import SQLITE_BULK, SQLITE_DEFAULTS, Database


async def _settings(session: object) -> dict[str, int]:
    execute = session.execute  # type: ignore[attr-defined]
    return {
        name: (await execute(text(f"PRAGMA {name}"))).scalar_one()
        for name in ("cache_size", "wal_autocheckpoint")
    }


async def test_bulk_batches_get_their_settings_and_everything_else_the_defaults(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bulk.db'}"
    await migrate.upgrade_async(url)
    db = Database.from_url(url, pool_size=1, max_overflow=0)  # one connection for all
    seen: list[str] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _sent(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    try:
        async with db.write() as session:
            assert await _settings(session) == SQLITE_DEFAULTS
        async with db.bulk_write() as session:
            assert await _settings(session) == SQLITE_BULK
        async with db.write() as session:
            assert await _settings(session) == SQLITE_DEFAULTS
        async with db.bulk_write() as session:
            assert await _settings(session) == SQLITE_BULK
        async with db.read() as session:
            assert await _settings(session) == SQLITE_DEFAULTS
        assert not [s for s in seen if "=" in s and s.startswith("PRAGMA")]
    finally:
        await db.dispose()
