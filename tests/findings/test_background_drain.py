"""The background drain (services.findings.after_commit) that meets a busy database, held by
another writer past the statement timeout (a bulk import's batches, on SQLite the one write
lock; on PostgreSQL the clients' row locks), waits and tries again instead of leaving the
clients stale until some later write."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from sqlalchemy import select

from cmgraph import facts
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from cmgraph.services import clients, findings, tenants
from cmgraph.services.scope import TenantScope

WAITING = "draining stale findings waits for a busy database"


class Waiting(logging.Handler):
    """Sets `met` when the drain says it met the busy database and will try again."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.met = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == WAITING:
            self.met.set()


async def test_a_drain_that_meets_a_held_lock_tries_again_and_leaves_nothing_stale(
    db: Database, book: RuleBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting, logger = Waiting(), logging.getLogger("cmgraph.findings")
    logger.addHandler(waiting)
    monkeypatch.setattr(logger, "level", logging.INFO)
    monkeypatch.setattr(findings, "RETRY_SECONDS", (0.05,) * 3)
    slug = f"d-{uuid.uuid4().hex[:12]}"
    org = await tenants.create_organization(db, slug, slug, "America/Chicago")
    scope = TenantScope(db, book, org.id, facts.Clock("America/Chicago"), actor="test")
    ids = [
        (await clients.create_client(scope, "Ada", f"L{i}", None, f"X{i}")).value.id  # type: ignore[union-attr]
        for i in range(3)
    ]
    await findings.rebuild(db, book, org.id)  # the organization's findings are these rules'
    async with db.write() as marking:
        await findings.mark_stale(marking, org.id, ids)
        await marking.commit()

    c = models.Client
    async with db.write() as blocker:  # SQLite: the write lock; PostgreSQL: the clients' rows
        await blocker.execute(
            select(c.id).where(c.organization_id == org.id, c.id.in_(ids)).with_for_update()
        )
        findings.after_commit(scope)  # as the write that marked them would
        # Until it says it will try again, or gives up (then the assertion below says so).
        said, ended = (
            asyncio.ensure_future(waiting.met.wait()),
            asyncio.ensure_future(findings.settle()),
        )
        try:
            await asyncio.wait([said, ended], timeout=60, return_when=asyncio.FIRST_COMPLETED)
        finally:
            said.cancel()
            logger.removeHandler(waiting)
        await blocker.rollback()

    await ended
    assert await findings.stale_count(db, org.id) == 0, "the drain gave up on the lock"
