"""Enrollments keep their application date; payors keep their plugins' settings.

`enrollments.applied_on` lets a payor plugin count a pending enrollment for a while after
its application; `payors.settings` holds per-payor values the payor's plugins read
(validated by the core against what each plugin declares), instead of the environment.

Revision ID: plug_0001
Revises: rel3_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "plug_0001"
down_revision = "rel3_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (no batch copy of the tables).
    op.add_column("enrollments", sa.Column("applied_on", sa.Date(), nullable=True))
    op.add_column(
        "payors", sa.Column("settings", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
    )


def downgrade() -> None:
    op.execute("ALTER TABLE payors DROP COLUMN settings")
    op.execute("ALTER TABLE enrollments DROP COLUMN applied_on")
