"""What the service's own PostgreSQL role may do, when it is not the owner of the schema.

The owner runs the migrations; the service can run as a role that owns nothing. Such a role
cannot ALTER a table (so cannot disable the audit table's append-only triggers), drop one, or
create one. `grant` gives it exactly what the service uses: read and write every table, but
only read and append to the audit trail (`change_records`) and only read the migration
version. It first revokes what the role had on those tables, so running it again (after each
`cmgraph db upgrade`, which may add tables) leaves exactly this."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

AUDIT_TABLE = "change_records"
VERSION_TABLE = "alembic_version"
PRIVILEGES = {AUDIT_TABLE: "SELECT, INSERT", VERSION_TABLE: "SELECT"}
DEFAULT = "SELECT, INSERT, UPDATE, DELETE"


class GrantError(Exception):
    """The grant could not be made; the message is one line for the operator."""


async def grant(engine: AsyncEngine, role: str) -> list[str]:
    """Give role the service's privileges on every table of the current schema; the tables."""
    if engine.dialect.name != "postgresql":
        raise GrantError("roles are a PostgreSQL matter: SQLite has none")
    quote = engine.dialect.identifier_preparer.quote
    async with engine.begin() as connection:
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
        )
        if not exists:
            raise GrantError(f"no role {role!r}: create it first (CREATE ROLE ... LOGIN)")
        schema = await connection.scalar(text("SELECT current_schema()"))
        tables = list(
            await connection.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :schema ORDER BY 1"),
                {"schema": schema},
            )
        )
        if AUDIT_TABLE not in tables:
            raise GrantError("database not migrated: run `cmgraph db upgrade` first")
        who = quote(role)
        await connection.execute(text(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {who}"))
        for table in tables:
            name = f"{quote(schema)}.{quote(table)}"
            await connection.execute(text(f"REVOKE ALL ON {name} FROM {who}"))
            privileges = PRIVILEGES.get(table, DEFAULT)
            await connection.execute(text(f"GRANT {privileges} ON {name} TO {who}"))
    return tables
