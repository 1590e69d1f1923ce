"""A client whose sessions carry many findings (an imported history: sessions before any case
manager) has them stored as the live judge made them, however many: past db.bulk.COPY_FROM
rows they go in by COPY on PostgreSQL (services.findings.store)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from builders import next_npi
from sqlalchemy import select

from cmgraph import facts
from cmgraph.db import bulk, models
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from cmgraph.services import appointments, clients, findings, providers, tenants
from cmgraph.services.scope import TenantScope

SESSIONS = bulk.COPY_FROM + 20


async def test_many_findings_of_one_client_are_stored_as_judged(
    db: Database, book: RuleBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied: list[tuple[str, int]] = []
    copy = bulk._copy

    def counted(connection: Any, table: Any, columns: Any, records: list[Any]) -> bool:
        copied.append((table.name, len(records)))
        return copy(connection, table, columns, records)

    monkeypatch.setattr(bulk, "_copy", counted)
    slug = f"m-{uuid.uuid4().hex[:12]}"
    org = await tenants.create_organization(db, slug, slug, "America/Chicago")
    scope = TenantScope(db, book, org.id, facts.Clock("America/Chicago"), actor="test")
    client = (await clients.create_client(scope, "Ada", "Lovelace", None, "A1")).value
    provider = (await providers.create_provider(scope, "Bo", "Rider", next_npi(), [])).value
    assert client is not None and provider is not None
    first = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    rows = [
        appointments.new_values(
            scope,
            appointments.NewAppointment(
                client.id,
                "ABA",
                provider.id,
                first + timedelta(days=i),
                first + timedelta(days=i, hours=2),
                status=facts.AppointmentStatus.COMPLETED,
            ),
        )
        for i in range(SESSIONS)
    ]
    assert not (await appointments.schedule_checked(scope, rows)).errors

    await findings.rebuild(db, book, org.id, force=True)  # one client: one store

    f = models.StoredFinding
    async with db.read() as session:
        live = list(findings.keyed(await findings.judge_clients(session, scope, [client.id])))
        stored = [
            findings._row_key(row)
            for row in await session.execute(
                select(f.date_of_service, f.starts_at, f.appointment_id, f.seq, f.finding)
                .where(f.organization_id == org.id)
                .order_by(*findings._ORDER)
            )
        ]
    assert len(live) >= SESSIONS  # every session has no case manager, at the least
    assert stored == live
    assert await findings.stale_count(db, org.id) == 0
    if db.engine.dialect.name == "postgresql":
        assert ("findings", len(live)) in copied  # in one COPY
