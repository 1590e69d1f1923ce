"""Security: token scopes, clinician binding and last use; audit columns; append-only events.

Revision ID: sec_0001
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sec_0001"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = "change_records are append-only: events are never updated or deleted"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("provider_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            "fk_api_tokens_organization_id_provider_id_providers",
            "providers",
            ["organization_id", "provider_id"],
            ["organization_id", "id"],
        )
    with op.batch_alter_table("change_records") as batch:
        batch.add_column(sa.Column("role", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("actor_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
    op.create_index("ix_change_records_time", "change_records", ["organization_id", "occurred_at"])
    # The backstop: whatever the code does, the database refuses to rewrite history.
    if postgres:
        op.execute(
            "CREATE FUNCTION cmgraph_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER change_records_append_only BEFORE UPDATE OR DELETE ON change_records "
            "FOR EACH ROW EXECUTE FUNCTION cmgraph_append_only()"
        )
        op.execute(
            "CREATE TRIGGER change_records_no_truncate BEFORE TRUNCATE ON change_records "
            "FOR EACH STATEMENT EXECUTE FUNCTION cmgraph_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER change_records_no_{verb.lower()} BEFORE {verb} ON change_records "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER change_records_no_truncate ON change_records")
        op.execute("DROP TRIGGER change_records_append_only ON change_records")
        op.execute("DROP FUNCTION cmgraph_append_only()")
    else:
        op.execute("DROP TRIGGER change_records_no_update")
        op.execute("DROP TRIGGER change_records_no_delete")
    op.drop_index("ix_change_records_time", table_name="change_records")
    with op.batch_alter_table("change_records") as batch:
        batch.drop_column("request_id")
        batch.drop_column("actor_name")
        batch.drop_column("role")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(
            "fk_api_tokens_organization_id_provider_id_providers", type_="foreignkey"
        )
        batch.drop_column("last_used_at")
        batch.drop_column("provider_id")
        batch.drop_column("scopes")
