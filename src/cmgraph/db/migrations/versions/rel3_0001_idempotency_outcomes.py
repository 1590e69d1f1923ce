"""Idempotency keys: which process holds a key, and the outcomes its writes recorded.

`holder` names the process of the attempt holding the key (boot id, pid namespace, pid and
the pid's start time), so that a retry can tell a holder that no longer exists from a live
one at once instead of waiting out the lease. `outcomes` is the JSON list of what the
request's writes returned (the written record's id and the warnings), appended in each
write's own transaction: a committed write carries what its answer is rebuilt from.

Revision ID: rel3_0001
Revises: fs_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rel3_0001"
down_revision = "fs_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("holder", sa.String(200), nullable=True))
    op.add_column("idempotency_keys", sa.Column("outcomes", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE idempotency_keys DROP COLUMN outcomes")
    op.execute("ALTER TABLE idempotency_keys DROP COLUMN holder")
