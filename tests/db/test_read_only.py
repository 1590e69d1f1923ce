"""SQLite recovers by itself after a read-only period: a connection opened while the file
could not be written stays read-only for its life, so one that fails that way is dropped
(with the pool's others of its time) instead of failing every write until the workers are
replaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from cmgraph.db import migrate
from cmgraph.db.engine import Database
from cmgraph.db.faults import is_unavailable


async def test_writes_work_again_once_the_file_is_writable(
    tmp_path: Path, is_postgres: bool
) -> None:
    if is_postgres:
        pytest.skip("SQLite's files")
    path = tmp_path / "read-only.db"
    url = f"sqlite+aiosqlite:///{path}"
    await migrate.upgrade_async(url)
    db = Database.from_url(url)
    read_only = True

    # The file's permissions cannot stop root, who runs the tests in CI: SQLite's read-only
    # open mode is what a 0444 file gives any other user.
    @event.listens_for(db.engine.sync_engine, "do_connect")
    def _open(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if read_only:
            cargs[:] = [f"file:{path}?mode=ro"]
            cparams["uri"] = True

    async def write() -> None:
        async with db.write() as session:
            await session.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            await session.execute(text("INSERT INTO probe VALUES (1)"))
            await session.commit()

    try:
        async with db.read() as a, db.read() as b:  # two pooled connections, both read-only
            await a.execute(text("SELECT 1"))
            await b.execute(text("SELECT 1"))
        with pytest.raises(Exception) as refused:
            await write()
        assert is_unavailable(refused.value)  # answered 503 meanwhile
        read_only = False
        await write()
        await write()
    finally:
        await db.dispose()
