"""Organizations and their API tokens: created by operators, used to authenticate calls."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select

from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import changes

ROLES = ("admin",)
TOKEN_PREFIX = "cmg_"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class TenantError(Exception):
    """Bad operator input; the message fits on one line."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token bound to one organization and a role."""

    organization_id: UUID
    timezone: str
    role: str
    token_id: UUID

    @property
    def actor(self) -> str:
        return f"token:{self.token_id}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


async def create_organization(
    db: Database, name: str, slug: str, timezone: str
) -> models.Organization:
    if not name.strip():
        raise TenantError("an organization needs a name")
    if not SLUG.match(slug):
        raise TenantError(f"invalid slug {slug!r}: lower-case letters, digits and dashes")
    check_timezone(timezone)
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
            actor="cli",
            operation="createOrganization",
            entity=org,
            entity_id=org.id,
            before=None,
            after=changes.snapshot(org),
        )
        await session.commit()
        return org


async def create_token(db: Database, slug: str, role: str, name: str = "") -> str:
    """Create a token and return it; only its hash is stored, so it is shown once."""
    if role not in ROLES:
        raise TenantError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    async with db.write() as session:
        org = await session.scalar(
            select(models.Organization).where(models.Organization.slug == slug)
        )
        if org is None:
            raise TenantError(f"no organization with slug {slug!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = models.ApiToken(
            organization_id=org.id,
            name=name or f"{role} token",
            role=role,
            token_hash=hash_token(token),
            created_at=models.utcnow(),
        )
        session.add(row)
        await session.flush()
        changes.record(
            session,
            organization_id=org.id,
            actor="cli",
            operation="createToken",
            entity=row,
            entity_id=row.id,
            before=None,
            after={"name": row.name, "role": role},  # never the token or its hash
        )
        await session.commit()
        return token


async def authenticate(db: Database, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    async with db.read() as session:
        found = (
            await session.execute(
                select(models.ApiToken, models.Organization.timezone)
                .join(
                    models.Organization, models.Organization.id == models.ApiToken.organization_id
                )
                .where(models.ApiToken.token_hash == hash_token(token))
            )
        ).first()
    if found is None:
        return None
    row, timezone = found
    now = models.utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return Principal(row.organization_id, timezone, row.role, row.id)
