"""Stored findings: each session's findings as the live judge made them, the clients whose
stored findings await re-judging, and which rules each organization's were judged by.

Revision ID: fs_0001
Revises: evt_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fs_0001"
down_revision = "evt_0001"
branch_labels = None
depends_on = None


def _owner(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id"],
        ["organizations.id"],
        name=op.f(f"fk_{table}_organization_id_organizations"),
    )


def _client(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id", "client_id"],
        ["clients.organization_id", "clients.id"],
        name=op.f(f"fk_{table}_organization_id_client_id_clients"),
    )


def upgrade() -> None:
    op.create_table(
        "findings",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("date_of_service", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("finding", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id", "appointment_id", "seq", name=op.f("pk_findings")
        ),
        _owner("findings"),
        _client("findings"),
    )
    op.create_index(
        "ix_findings_report",
        "findings",
        ["organization_id", "date_of_service", "starts_at", "appointment_id", "seq"],
    )
    op.create_index("ix_findings_client", "findings", ["organization_id", "client_id"])
    op.create_table(
        "findings_stale_clients",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("mark", sa.Uuid(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id", "client_id", name=op.f("pk_findings_stale_clients")
        ),
        _owner("findings_stale_clients"),
        _client("findings_stale_clients"),
    )
    op.create_table(
        "findings_builds",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_findings_builds")),
        _owner("findings_builds"),
    )


def downgrade() -> None:
    op.drop_table("findings_builds")
    op.drop_table("findings_stale_clients")
    op.drop_index("ix_findings_client", table_name="findings")
    op.drop_index("ix_findings_report", table_name="findings")
    op.drop_table("findings")
