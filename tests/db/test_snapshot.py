"""A report read in several statements (the compliance report's batches) sees one snapshot:
what commits while it reads is not half in it."""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import tenants


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
