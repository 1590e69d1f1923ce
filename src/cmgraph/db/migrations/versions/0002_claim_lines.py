"""Claim lines: an appointment's procedure code (CPT/HCPCS) and whether it was telehealth.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("service_code", sa.String(length=5), nullable=True))
        batch.add_column(
            sa.Column("telehealth", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("telehealth")
        batch.drop_column("service_code")
