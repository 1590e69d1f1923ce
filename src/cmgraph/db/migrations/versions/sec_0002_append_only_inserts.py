"""Audit events: on SQLite, an insert over an existing event is refused too.

sec_0001's triggers refuse UPDATE and DELETE, but SQLite's `INSERT OR REPLACE` removes the
row in its way without firing DELETE triggers (unless recursive_triggers is on), so it could
rewrite an event. A BEFORE INSERT trigger now refuses an insert whose key exists. PostgreSQL
needs nothing: it has no REPLACE, and `INSERT ... ON CONFLICT DO UPDATE` fires the UPDATE
trigger.

Revision ID: sec_0002
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "sec_0002"
down_revision = "0005"
branch_labels = None
depends_on = None

APPEND_ONLY = "change_records are append-only: events are never updated or deleted"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TRIGGER change_records_no_replace BEFORE INSERT ON change_records "
        "WHEN EXISTS (SELECT 1 FROM change_records "
        "WHERE organization_id = NEW.organization_id AND id = NEW.id) "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER change_records_no_replace")
