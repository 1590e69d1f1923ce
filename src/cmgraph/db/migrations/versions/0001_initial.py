"""Initial schema: organizations, tokens, the practice, assignments, change records.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 03:31:28.771983
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # btree_gist lets the exclusion constraint below compare uuids and text with =.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organizations_slug")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_api_tokens_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_api_tokens")),
    )
    op.create_index("ix_api_tokens_token_hash", "api_tokens", ["token_hash"], unique=True)
    op.create_table(
        "change_records",
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_change_records_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_change_records")),
    )
    op.create_index(
        "ix_change_records_entity",
        "change_records",
        ["organization_id", "entity_id", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "clients",
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_clients_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_clients")),
    )
    op.create_index(
        "ix_clients_name", "clients", ["organization_id", "last_name", "first_name"], unique=False
    )
    op.create_index(
        "uq_clients_external_id", "clients", ["organization_id", "external_id"], unique=True
    )
    op.create_table(
        "payors",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("plugins", sa.JSON(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payors_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_payors")),
    )
    op.create_table(
        "providers",
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_providers_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_providers")),
    )
    op.create_index(
        "ix_providers_name",
        "providers",
        ["organization_id", "last_name", "first_name"],
        unique=False,
    )
    op.create_index("uq_providers_npi", "providers", ["organization_id", "npi"], unique=True)
    op.create_table(
        "appointments",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("service_line", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("date_of_service", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "client_id"],
            ["clients.organization_id", "clients.id"],
            name=op.f("fk_appointments_organization_id_client_id_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "provider_id"],
            ["providers.organization_id", "providers.id"],
            name=op.f("fk_appointments_organization_id_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_appointments")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_appointments_period")),
    )
    op.create_index(
        "ix_appointments_client",
        "appointments",
        ["organization_id", "client_id", "service_line", "starts_at"],
        unique=False,
    )
    op.create_index(
        "ix_appointments_date_of_service",
        "appointments",
        ["organization_id", "date_of_service"],
        unique=False,
    )
    op.create_table(
        "case_manager_assignments",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("service_line", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "client_id"],
            ["clients.organization_id", "clients.id"],
            name=op.f("fk_case_manager_assignments_organization_id_client_id_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "provider_id"],
            ["providers.organization_id", "providers.id"],
            name=op.f("fk_case_manager_assignments_organization_id_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_case_manager_assignments")),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_case_manager_assignments_period"),
        ),
    )
    op.create_index(
        "ix_assignments_client",
        "case_manager_assignments",
        ["organization_id", "client_id", "service_line", "start_date"],
        unique=False,
    )
    op.create_index(
        "ix_assignments_provider",
        "case_manager_assignments",
        ["organization_id", "provider_id"],
        unique=False,
    )
    op.create_table(
        "coverages",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("payor_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "client_id"],
            ["clients.organization_id", "clients.id"],
            name=op.f("fk_coverages_organization_id_client_id_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "payor_id"],
            ["payors.organization_id", "payors.id"],
            name=op.f("fk_coverages_organization_id_payor_id_payors"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_coverages")),
    )
    op.create_index(
        "ix_coverages_client", "coverages", ["organization_id", "client_id"], unique=False
    )
    op.create_table(
        "credentials",
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "provider_id"],
            ["providers.organization_id", "providers.id"],
            name=op.f("fk_credentials_organization_id_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_credentials")),
    )
    op.create_index(
        "ix_credentials_provider", "credentials", ["organization_id", "provider_id"], unique=False
    )
    op.create_table(
        "enrollments",
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("payor_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id", "payor_id"],
            ["payors.organization_id", "payors.id"],
            name=op.f("fk_enrollments_organization_id_payor_id_payors"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id", "provider_id"],
            ["providers.organization_id", "providers.id"],
            name=op.f("fk_enrollments_organization_id_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "id", name=op.f("pk_enrollments")),
    )
    op.create_index(
        "ix_enrollments_provider", "enrollments", ["organization_id", "provider_id"], unique=False
    )
    if postgres:
        # The backstop of rule 5: no two assignments of one client and line overlap,
        # whatever the service does. Dates are inclusive; a null end date is open.
        op.execute(
            "ALTER TABLE case_manager_assignments ADD CONSTRAINT ex_assignments_no_overlap "
            "EXCLUDE USING gist (organization_id WITH =, client_id WITH =, service_line WITH =, "
            "daterange(start_date, end_date, '[]') WITH &&)"
        )


def downgrade() -> None:
    op.drop_table("enrollments")
    op.drop_table("credentials")
    op.drop_table("coverages")
    op.drop_table("case_manager_assignments")
    op.drop_table("appointments")
    op.drop_table("providers")
    op.drop_table("payors")
    op.drop_table("clients")
    op.drop_table("change_records")
    op.drop_table("api_tokens")
    op.drop_table("organizations")
