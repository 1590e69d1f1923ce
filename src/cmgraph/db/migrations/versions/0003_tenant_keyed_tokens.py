"""Tenant-keyed token lookup: the unique index on api_tokens.token_hash includes organization_id.

A tenant-sharded PostgreSQL (Citus, distributed by organization_id) only accepts unique
indexes that include the distribution column, and a lookup by hash alone would ask every
shard. From this revision a token names its organization (`cmg_<organization id>_<secret>`),
so authentication looks up (organization_id, token_hash) on one shard.

Tokens issued before it do not name their organization; finding them would need exactly the
cross-tenant lookup this revision removes. They are therefore revoked here (an operator
reissues them with `cmgraph token create`; `cmgraph token list` shows them revoked). The
revocation is not undone by the downgrade: the downgrade restores the global index, under
which tokens of the new form keep working too (their hash is of the whole token).

Revision ID: 0003
Revises: sec_0001
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "sec_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # cmgraph stores naive UTC on SQLite
    tokens = sa.table("api_tokens", sa.column("revoked_at", sa.DateTime(timezone=True)))
    op.execute(tokens.update().where(tokens.c.revoked_at.is_(None)).values(revoked_at=now))
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index("ix_api_tokens_token_hash")
        batch.create_index(
            "uq_api_tokens_token_hash", ["organization_id", "token_hash"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index("uq_api_tokens_token_hash")
        batch.create_index("ix_api_tokens_token_hash", ["token_hash"], unique=True)
