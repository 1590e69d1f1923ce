"""Every table can live in a tenant-sharded PostgreSQL (Citus, distributed by organization_id).

Such a database accepts a primary key, unique index or exclusion constraint only when it
includes the distribution column, and routes a query to one shard only when it names the
tenant. So: every table has organization_id, and every key of the migrated database (as the
database reports it, not as the models describe it) includes it.

The one table outside that rule is `organizations`: its `id` IS the tenant key (the value
every other table's organization_id holds), so its primary key stands for organization_id,
and the uniqueness of its `slug` is the one global lookup (sign-in resolves a JWT's
organization claim by slug). In Citus it is a reference table (copied to every node), where
a unique slug is allowed and every tenant table may reference it. API tokens used to be a
second global lookup (a unique token_hash); since migration 0003 a token names its
organization and its unique index includes organization_id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from cmgraph.db.engine import Database

TENANT = "organization_id"
TENANTS_TABLE = "organizations"
# (table, columns) of the one global uniqueness: an organization's slug
GLOBAL_LOOKUPS = {(TENANTS_TABLE, ("slug",))}
NOT_TENANT_DATA = {"alembic_version"}


def _keys(sync: Connection) -> dict[str, Any]:
    inspector = inspect(sync)
    found: dict[str, Any] = {}
    for table in inspector.get_table_names():
        if table in NOT_TENANT_DATA:
            continue
        unique = [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
        unique += [
            tuple(c for c in i["column_names"] if c is not None)
            for i in inspector.get_indexes(table)
            if i["unique"]
        ]
        found[table] = {
            "columns": {c["name"] for c in inspector.get_columns(table)},
            "primary_key": tuple(inspector.get_pk_constraint(table)["constrained_columns"]),
            "unique": unique,
        }
    return found


def _tenant_key(table: str) -> str:
    return "id" if table == TENANTS_TABLE else TENANT


async def test_every_table_has_organization_id_and_every_key_includes_it(db: Database) -> None:
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(_keys)
    assert {"organizations", "api_tokens", "clients", "case_manager_assignments"} <= set(tables)
    problems = []
    for table, keys in sorted(tables.items()):
        key = _tenant_key(table)
        if key not in keys["columns"]:
            problems.append(f"{table}: no {key} column")
        if key not in keys["primary_key"]:
            problems.append(f"{table}: primary key {keys['primary_key']} lacks {key}")
        for columns in keys["unique"]:
            if key not in columns and (table, columns) not in GLOBAL_LOOKUPS:
                problems.append(f"{table}: unique {columns} lacks {key}")
    assert problems == []


async def test_the_exclusion_constraint_includes_organization_id(
    db: Database, is_postgres: bool
) -> None:
    if not is_postgres:
        return  # SQLite has no exclusion constraints; the service serializes writes there
    async with db.engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT c.conrelid::regclass::text, c.conname, "
                    "array_agg(a.attname::text) FILTER (WHERE a.attname IS NOT NULL) "
                    "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                    "LEFT JOIN pg_attribute a "
                    "ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
                    "WHERE c.contype = 'x' AND n.nspname = current_schema() "
                    "GROUP BY 1, 2"
                )
            )
        ).all()
    assert [name for _, name, _ in rows] == ["ex_assignments_no_overlap"]
    for table, name, columns in rows:
        assert TENANT in columns, (table, name, columns)


async def test_the_one_global_lookup_is_an_organizations_slug(db: Database) -> None:
    """A reviewer sees every exception to the rule here: adding one fails this test."""
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(_keys)
    global_unique = {
        (table, columns)
        for table, keys in tables.items()
        for columns in keys["unique"]
        if _tenant_key(table) not in columns
    }
    assert global_unique == GLOBAL_LOOKUPS
