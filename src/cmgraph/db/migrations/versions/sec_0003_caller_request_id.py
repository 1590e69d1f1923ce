"""Audit events: the caller's X-Request-ID beside the server's request id.

Until now a caller's plain X-Request-ID became the request id itself, so a caller could give
two requests (its own, or a replay) one id. The server now always makes the request id, and
keeps the caller's value (sanitised, at most 64 characters) in this column.

Revision ID: sec_0003
Revises: sec_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sec_0003"
down_revision = "sec_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both databases; batch mode could copy the table on SQLite and
    # lose its append-only triggers.
    op.add_column("change_records", sa.Column("caller_request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place too, keeping the triggers.
    op.execute("ALTER TABLE change_records DROP COLUMN caller_request_id")
