"""Organizations and their API tokens, as operators manage them from the command line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import access, changes, tokens
from cmgraph.services.outcome import Refused

# Who acts from the command line, in the audit trail.
OPERATOR = "cli"

ROLES = access.ROLES
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class TenantError(Exception):
    """Bad operator input; the message fits on one line."""


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TenantError(
            f"unknown time zone {name!r} (use an IANA name such as America/Chicago)"
        ) from exc
    if name not in available_timezones():
        raise TenantError(f"unknown time zone {name!r} (use an IANA name such as America/Chicago)")
    return name


def check_new_organization(name: str, slug: str, timezone: str) -> None:
    """What an organization needs before it is made (TenantError otherwise)."""
    if not name.strip():
        raise TenantError("an organization needs a name")
    if not SLUG.match(slug):
        raise TenantError(f"invalid slug {slug!r}: lower-case letters, digits and dashes")
    check_timezone(timezone)


async def create_organization(
    db: Database, name: str, slug: str, timezone: str
) -> models.Organization:
    check_new_organization(name, slug, timezone)
    async with db.write() as session:
        if await session.scalar(
            select(models.Organization.id).where(models.Organization.slug == slug)
        ):
            raise TenantError(f"an organization with slug {slug!r} exists")
        org = models.Organization(
            name=name.strip(), slug=slug, timezone=timezone, created_at=models.utcnow()
        )
        session.add(org)
        await session.flush()
        changes.record(
            session,
            organization_id=org.id,
            actor=OPERATOR,
            role=OPERATOR,
            operation="createOrganization",
            entity=org,
            entity_id=org.id,
            before=None,
            after=changes.snapshot(org),
        )
        await session.commit()
        return org


async def _organization(session: AsyncSession, slug: str) -> models.Organization:
    org = await session.scalar(select(models.Organization).where(models.Organization.slug == slug))
    if org is None:
        raise TenantError(f"no organization with slug {slug!r}")
    return org


async def organization_id(session: AsyncSession, slug: str) -> UUID:
    """The id of the organization with this slug (TenantError when there is none)."""
    return (await _organization(session, slug)).id


async def create_token(
    db: Database,
    slug: str,
    role: str,
    name: str = "",
    *,
    scopes: tuple[str, ...] = (),
    provider_id: UUID | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Create a token and return it; only its hash is stored, so it is shown once."""
    async with db.write() as session:
        org = await _organization(session, slug)
        try:
            issued = await tokens.issue(
                session,
                org.id,
                tokens.TokenRequest(name, role, scopes, provider_id, expires_at),
                actor=OPERATOR,
                role=OPERATOR,
            )
        except Refused as refused:
            raise TenantError(str(refused)) from None
        await session.commit()
        return issued.token


async def list_tokens(db: Database, slug: str) -> list[models.ApiToken]:
    async with db.read() as session:
        org = await _organization(session, slug)
        return await tokens.listed(session, org.id)


async def revoke_token(db: Database, slug: str, token_id: str) -> models.ApiToken:
    try:
        pk = UUID(token_id)
    except ValueError:
        raise TenantError(f"not a token id: {token_id!r} (see `cmgraph token list`)") from None
    async with db.write() as session:
        org = await _organization(session, slug)
        try:
            row = await tokens.revoke(session, org.id, pk, actor=OPERATOR, role=OPERATOR)
        except Refused:
            raise TenantError(f"no token {token_id} in organization {slug!r}") from None
        await session.commit()
        return row


async def organization(db: Database, slug: str) -> models.Organization:
    async with db.read() as session:
        return await _organization(session, slug)


async def list_organizations(db: Database) -> list[models.Organization]:
    async with db.read() as session:
        return list(
            await session.scalars(select(models.Organization).order_by(models.Organization.slug))
        )


@dataclass(frozen=True)
class OrganizationSummary:
    organization: models.Organization
    counts: dict[str, int]  # records per kind, in a fixed order
    plugins: list[str]  # the rule plugins the organization's payors name


COUNTED: tuple[tuple[str, type[models.Tenant]], ...] = (
    ("payors", models.Payor),
    ("providers", models.Provider),
    ("enrollments", models.Enrollment),
    ("clients", models.Client),
    ("coverages", models.Coverage),
    ("appointments", models.Appointment),
    ("case_managers", models.Assignment),
    ("api_tokens", models.ApiToken),
)


async def describe_organization(db: Database, slug: str) -> OrganizationSummary:
    """What an operator wants to see of one organization: counts, time zone, plugins."""
    async with db.read() as session:
        org = await _organization(session, slug)
        counts = {}
        for name, model in COUNTED:
            counts[name] = (
                await session.scalar(
                    select(func.count()).select_from(model).where(model.organization_id == org.id)
                )
                or 0
            )
        named = await session.scalars(
            select(models.Payor.plugins).where(models.Payor.organization_id == org.id)
        )
        plugins = sorted({p for listed in named for p in listed or []})
        return OrganizationSummary(org, counts, plugins)
