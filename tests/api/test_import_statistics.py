"""An import leaves fresh planner statistics of the tables each file filled (PostgreSQL), so
that the next file's foreign keys are checked through their index, not by walking the
organization's rows (services.imports.analyze); on SQLite, where statistics would change
every query's plan, it leaves none."""

from __future__ import annotations

import logging
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from cmgraph import facts
from cmgraph.db import models
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


async def new_scope(db: Database, book: RuleBook) -> TenantScope:
    slug = f"s-{uuid.uuid4().hex[:12]}"
    org = await tenants.create_organization(db, slug, slug, "America/Chicago")
    return TenantScope(db, book, org.id, facts.Clock("America/Chicago"), actor="test")


def clients_file(prefix: str, n: int = 40) -> imports.Source:
    lines = "\n".join(f"{prefix}{i},Ada,Lovelace{i}," for i in range(n))
    return imports.Source(
        Kind.CLIENTS, "clients.csv", f"external_id,first_name,last_name,date_of_birth\n{lines}\n"
    )


POLICIES = (imports.ErrorPolicy.REJECT_FAILED_ROWS, imports.ErrorPolicy.REJECT_EVERYTHING)


async def test_an_import_never_waits_for_another_imports_analyze(
    db: Database, book: RuleBook, caplog: pytest.LogCaptureFixture
) -> None:
    """The tables are every organization's, and an import's ANALYZE holds its lock until the
    import's transaction ends: another organization's import skips its own ANALYZE rather
    than wait (and fail at the statement timeout)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's ANALYZE; SQLite's import runs none")
    scope = await new_scope(db, book)
    async with db.write() as other_import:
        await other_import.execute(text("ANALYZE clients"))  # its lock held until it ends
        for policy, prefix in zip(POLICIES, "VW", strict=True):
            with caplog.at_level(logging.WARNING, logger="cmgraph.imports"):
                report = await imports.run_import(
                    scope, [clients_file(prefix)], policy=policy, batch_rows=10
                )
            assert report.errors == [] and report.committed
            assert not [r for r in caplog.records if "ANALYZE" in r.getMessage()]


async def test_a_failed_analyze_leaves_the_import_whole(
    db: Database, book: RuleBook, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ANALYZE is only an optimization: when it fails, the import goes on in its
    transaction and commits every row, and the failure is logged."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's ANALYZE; SQLite's import runs none")

    missing = SimpleNamespace(__table__=SimpleNamespace(name="no_such_table"))
    monkeypatch.setitem(imports._TABLES, Kind.CLIENTS, (missing, models.Client))
    scope = await new_scope(db, book)
    for policy, prefix in zip(POLICIES, "XY", strict=True):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="cmgraph.imports"):
            report = await imports.run_import(
                scope, [clients_file(prefix)], policy=policy, batch_rows=10
            )
        assert report.errors == [] and report.committed
        assert report.counts[Kind.CLIENTS].created == 40
        assert [r for r in caplog.records if "ANALYZE no_such_table" in r.getMessage()]
