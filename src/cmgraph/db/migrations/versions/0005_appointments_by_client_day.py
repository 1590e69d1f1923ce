"""Appointments by client, line and date of service.

The facts of a batch of sessions ask, per assignment, for the first session it covers (a
range of dates of service of one client's line) and for the sessions of a client's day.
Without table statistics SQLite answered those from ix_appointments_date_of_service, a scan
of every later session per assignment: minutes for a practice of 100,000 sessions. This
index matches the questions exactly.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_appointments_client_day",
        "appointments",
        ["organization_id", "client_id", "service_line", "date_of_service"],
    )


def downgrade() -> None:
    op.drop_index("ix_appointments_client_day", table_name="appointments")
