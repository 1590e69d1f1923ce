"""Appointments by date of service, then start and id: the order claim lines and the
compliance report page in.

ix_appointments_date_of_service was (organization, date of service): a page of claim lines
(`ORDER BY date_of_service, starts_at, id LIMIT 101`) read every session of its first day
and sorted them (PostgreSQL: 1,392 rows and an incremental sort, 7-12 ms for a month of the
benchmark's practice; SQLite: a temporary B-tree, 12 ms). With the start and the id after
the date, the index hands the page over in order and the read stops after 101 rows (0.5 ms
on PostgreSQL), from the window's first day or from a keyset cursor alike. The columns
before are the same, so what read the old index reads this one.

Revision ID: clm_0001
Revises: rnd_0001
"""

from __future__ import annotations

from alembic import op

revision = "clm_0001"
down_revision = "rnd_0001"
branch_labels = None
depends_on = None

NAME = "ix_appointments_date_of_service"


def upgrade() -> None:
    _date_of_service(["organization_id", "date_of_service", "starts_at", "id"])


def downgrade() -> None:
    _date_of_service(["organization_id", "date_of_service"])


def _date_of_service(columns: list[str]) -> None:
    op.drop_index(NAME, table_name="appointments")
    op.create_index(NAME, "appointments", columns)
