"""Appointments by client and date of service; by client, line, date and start.

A batch of rendering questions (and claim lines, and an appointment write's warnings) reads
the sessions of (client, date of service) pairs in every line. ix_appointments_client_day
puts the service line between client and date, so each pair read every session of the
client to keep those of the day: 8 ms on SQLite for a batch of 500 pairs of the benchmark's
practice, 3 ms from this index. Checked with EXPLAIN on both databases: of the benchmark's
reads (caseload, client, Clinical tab, claim lines, compliance, rendering) and
addCaseManager, only that join changes its plan.

ix_appointments_client_day gains the start after the date: the first session an assignment
covers is asked for in that order (services.sessions._first_covered), which PostgreSQL
sorted for every assignment (0.07 ms each, 30 ms for a batch's 418) and now reads off the
index, stopping at the first row (0.03 ms).

Revision ID: rnd_0001
Revises: bat_0001
"""

from __future__ import annotations

from alembic import op

revision = "rnd_0001"
down_revision = "bat_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_appointments_client_date",
        "appointments",
        ["organization_id", "client_id", "date_of_service"],
    )
    _client_day(["organization_id", "client_id", "service_line", "date_of_service", "starts_at"])


def downgrade() -> None:
    _client_day(["organization_id", "client_id", "service_line", "date_of_service"])
    op.drop_index("ix_appointments_client_date", table_name="appointments")


def _client_day(columns: list[str]) -> None:
    op.drop_index("ix_appointments_client_day", table_name="appointments")
    op.create_index("ix_appointments_client_day", "appointments", columns)
