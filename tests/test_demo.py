"""The demo practice: realistic, deterministic, with the deliberate findings it promises, and
never loaded twice under one slug."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.demo import DemoExists, DemoSummary, load_demo
from cmgraph.facts import Clock
from cmgraph.plugins import RuleBook
from cmgraph.services import compliance
from cmgraph.services.scope import TenantScope

TODAY = date(2026, 3, 10)


@pytest.fixture
async def demo(db: Database) -> DemoSummary:
    return await load_demo(db, slug=f"demo-{uuid.uuid4().hex[:8]}", today=TODAY)


async def test_the_demo_has_the_promised_size(demo: DemoSummary) -> None:
    assert (demo.clients, demo.providers, demo.payors) == (50, 15, 4)
    assert 600 <= demo.appointments <= 1200  # 8 weeks of sessions
    assert demo.assignments >= 50


async def test_the_demo_never_overlaps_assignments(db: Database, demo: DemoSummary) -> None:
    a, b = models.Assignment.__table__.alias("a"), models.Assignment.__table__.alias("b")
    async with db.read() as session:
        overlapping = await session.scalar(
            select(func.count())
            .select_from(a.join(b, (a.c.client_id == b.c.client_id) & (a.c.id != b.c.id)))
            .where(
                a.c.organization_id == demo.organization_id,
                b.c.organization_id == demo.organization_id,
                a.c.service_line == b.c.service_line,
                a.c.start_date <= func.coalesce(b.c.end_date, date(9999, 1, 1)),
                b.c.start_date <= func.coalesce(a.c.end_date, date(9999, 1, 1)),
            )
        )
    assert overlapping == 0


async def test_the_demo_stores_credential_types_as_the_api_does(
    db: Database, demo: DemoSummary
) -> None:
    """Upper case (services.providers): an export or a plugin sees "BCABA" whichever way the
    provider came in."""
    async with db.read() as session:
        types = set(
            await session.scalars(
                select(models.Credential.type).where(
                    models.Credential.organization_id == demo.organization_id
                )
            )
        )
    assert "BCABA" in types and types == {t.upper() for t in types}


async def test_the_demo_shows_each_deliberate_finding(
    db: Database, book: RuleBook, demo: DemoSummary
) -> None:
    scope = TenantScope(db, book, demo.organization_id, Clock("America/Chicago"), "test")

    window = (TODAY - timedelta(days=28), TODAY + timedelta(days=28))
    found = (
        await compliance.findings_page(scope, *window, None, None, 10_000, count=True)
    ).findings

    by_code = Counter(f.code for f in found)
    assert by_code["NO_CASE_MANAGER"] > 0
    assert by_code["NOT_CREDENTIALED"] > 0
    assert by_code["LEAD_TIME"] == 1


async def test_the_demo_is_not_loaded_twice_under_one_slug(db: Database, demo: DemoSummary) -> None:
    with pytest.raises(DemoExists):
        await load_demo(db, slug=demo.slug, today=TODAY)
    async with db.read() as session:
        named = await session.scalar(
            select(func.count())
            .select_from(models.Organization)
            .where(models.Organization.slug == demo.slug)
        )
    assert named == 1
