"""The outbox and commit-ordered feeds: domain events, feed positions, keyset audit trail.

`events` holds the domain events each write appends in its own transaction;
`feed_counters` the last position handed out per organization (services.positions takes the
next ones at commit, under this row's lock, so positions follow commit order); and
`change_records.position` orders the audit trail by commit, for keyset cursors.

Existing change records are numbered per organization by (occurred_at, id), their order
until now. That needs an UPDATE of an append-only table: its triggers are lifted for this
one statement and put back as sec_0001 made them (on SQLite a plain ADD COLUMN, never batch
mode, which would copy the table and lose them).

Revision ID: evt_0001
Revises: sec_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "evt_0001"
down_revision = "sec_0003"
branch_labels = None
depends_on = None

APPEND_ONLY = "change_records are append-only: events are never updated or deleted"

NUMBERED = (
    "SELECT organization_id, id, row_number() OVER "
    "(PARTITION BY organization_id ORDER BY occurred_at, id) AS n FROM change_records"
)


def _number_change_records(postgres: bool) -> None:
    if postgres:
        op.execute("ALTER TABLE change_records DISABLE TRIGGER change_records_append_only")
        op.execute(
            f"UPDATE change_records SET position = numbered.n FROM ({NUMBERED}) AS numbered "
            "WHERE change_records.organization_id = numbered.organization_id "
            "AND change_records.id = numbered.id"
        )
        op.execute("ALTER TABLE change_records ENABLE TRIGGER change_records_append_only")
        op.execute("ALTER TABLE change_records ALTER COLUMN position SET NOT NULL")
        return
    op.execute("DROP TRIGGER change_records_no_update")
    op.execute(
        f"UPDATE change_records SET position = (SELECT numbered.n FROM ({NUMBERED}) AS numbered "
        "WHERE numbered.organization_id = change_records.organization_id "
        "AND numbered.id = change_records.id)"
    )
    op.execute(
        "CREATE TRIGGER change_records_no_update BEFORE UPDATE ON change_records "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "feed_counters",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_feed_counters_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("organization_id", name="pk_feed_counters"),
    )
    op.create_table(
        "events",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_events_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name="pk_events"),
    )
    op.create_index("uq_events_position", "events", ["organization_id", "position"], unique=True)
    op.create_index("ix_events_type", "events", ["organization_id", "type", "position"])

    # SQLite adds a NOT NULL column only with a default; PostgreSQL sets NOT NULL once filled.
    op.add_column(
        "change_records",
        sa.Column(
            "position",
            sa.BigInteger(),
            nullable=postgres,
            server_default=None if postgres else "0",
        ),
    )
    _number_change_records(postgres)
    op.create_index(
        "uq_change_records_position", "change_records", ["organization_id", "position"], unique=True
    )
    op.execute(
        "INSERT INTO feed_counters (organization_id, position) "
        "SELECT organization_id, max(position) FROM change_records GROUP BY organization_id"
    )


def downgrade() -> None:
    op.drop_index("uq_change_records_position", table_name="change_records")
    # A plain DROP COLUMN on both databases (SQLite 3.35+ drops in place, keeping triggers).
    op.execute("ALTER TABLE change_records DROP COLUMN position")
    op.drop_index("ix_events_type", table_name="events")
    op.drop_index("uq_events_position", table_name="events")
    op.drop_table("events")
    op.drop_table("feed_counters")
