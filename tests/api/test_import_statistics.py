"""An import leaves fresh planner statistics of the tables each file filled (PostgreSQL), so
that the next file's foreign keys are checked through their index, not by walking the
organization's rows (services.imports.analyze); on SQLite, where statistics would change
every query's plan, it leaves none."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from cmgraph import facts
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from cmgraph.services import imports, tenants
from cmgraph.services.csv_columns import Kind
from cmgraph.services.scope import TenantScope


async def test_each_imported_file_leaves_its_tables_analyzed(db: Database, book: RuleBook) -> None:
    slug = f"s-{uuid.uuid4().hex[:12]}"
    org = await tenants.create_organization(db, slug, slug, "America/Chicago")
    scope = TenantScope(db, book, org.id, facts.Clock("America/Chicago"), actor="test")
    lines = "\n".join(f"S{i},Ada,Lovelace{i}," for i in range(40))
    source = imports.Source(
        Kind.CLIENTS, "clients.csv", f"external_id,first_name,last_name,date_of_birth\n{lines}\n"
    )
    policies = (imports.ErrorPolicy.REJECT_FAILED_ROWS, imports.ErrorPolicy.REJECT_EVERYTHING)
    for policy in policies:
        report = await imports.run_import(scope, [source], policy=policy, batch_rows=10)
        assert report.errors == []
        async with db.read() as session:
            if db.engine.dialect.name == "postgresql":
                # What ANALYZE counted: every client of the database, this import's too.
                counted = await session.scalar(
                    text("SELECT reltuples FROM pg_class WHERE relname = 'clients'")
                )
                stored = await session.scalar(text("SELECT count(*) FROM clients"))
                assert counted == stored
            else:
                found = await session.scalar(
                    text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
                )
                assert found == 0
        source = imports.Source(  # the second policy imports other clients
            Kind.CLIENTS, "clients.csv", source.text.replace(",S", ",T").replace("\nS", "\nT")
        )
    # A file of less than a batch (an integration's few rows) costs no ANALYZE.
    few = imports.Source(Kind.CLIENTS, "clients.csv", "external_id,first_name,last_name\nU1,A,B\n")
    assert (await imports.run_import(scope, [few], batch_rows=10)).errors == []
    if db.engine.dialect.name == "postgresql":
        async with db.read() as session:
            counted = await session.scalar(
                text("SELECT reltuples FROM pg_class WHERE relname = 'clients'")
            )
            stored = await session.scalar(text("SELECT count(*) FROM clients"))
            assert counted == stored - 1
