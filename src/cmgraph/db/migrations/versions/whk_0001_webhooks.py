"""Webhooks: endpoints (with the dispatcher's state), deliveries and their attempts.

Revision ID: whk_0001
Revises: plug_0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "whk_0001"
down_revision = "plug_0001"
branch_labels = None
depends_on = None


def _owner(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id"], ["organizations.id"], name=f"fk_{table}_organization_id_organizations"
    )


def _when(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        _when("previous_secret_until"),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("next_sequence", sa.BigInteger(), nullable=False),
        _when("due_at"),
        _when("failing_since"),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        _when("leased_until"),
        _owner("webhook_endpoints"),
        sa.PrimaryKeyConstraint("organization_id", "id", name="pk_webhook_endpoints"),
    )
    op.create_index(
        "ix_webhook_endpoints_due", "webhook_endpoints", ["organization_id", "enabled", "due_at"]
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("created_at", nullable=False),
        _when("finished_at"),
        _owner("webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["organization_id", "endpoint_id"],
            ["webhook_endpoints.organization_id", "webhook_endpoints.id"],
            name="fk_webhook_deliveries_organization_id_webhook_endpoints",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name="pk_webhook_deliveries"),
    )
    op.create_index(
        "uq_webhook_deliveries_sequence",
        "webhook_deliveries",
        ["organization_id", "endpoint_id", "sequence"],
        unique=True,
    )
    op.create_index(
        "ix_webhook_deliveries_status",
        "webhook_deliveries",
        ["organization_id", "endpoint_id", "status"],
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        _when("attempted_at", nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        _owner("webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["organization_id", "delivery_id"],
            ["webhook_deliveries.organization_id", "webhook_deliveries.id"],
            name="fk_webhook_attempts_organization_id_webhook_deliveries",
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name="pk_webhook_attempts"),
    )
    op.create_index(
        "ix_webhook_attempts_delivery",
        "webhook_attempts",
        ["organization_id", "delivery_id", "attempted_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_attempts_delivery", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_status", table_name="webhook_deliveries")
    op.drop_index("uq_webhook_deliveries_sequence", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhook_endpoints_due", table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
