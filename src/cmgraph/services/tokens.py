"""API tokens: created, listed and revoked by admins (CLI and mutations), used by
integrations and scripts.

A token is random and names its organization (`cmg_<organization id>_<secret>`), so that its
lookup includes organization_id and stays on one tenant's shard. It is shown once, stored
only as its SHA-256 hash, bound to one organization and a role (an integration's to its
scopes, a clinician's to one provider), and may expire. Its last use is kept to the minute
so that stale tokens can be found and revoked.

A verified token is remembered by the process for VERIFIED_FOR (its lookup was a statement on
every request, the only one of a refused or rate-limited one): a token revoked through this
process is forgotten at once, one revoked elsewhere (another worker, the command line)
authenticates nothing after VERIFIED_FOR at most; its expiry is checked on every use."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import changes, lookups
from cmgraph.services.access import CLINICIAN, INTEGRATION, ROLES, SCOPES, Principal
from cmgraph.services.outcome import INVALID_INPUT, Outcome, refuse
from cmgraph.services.scope import TenantScope
from cmgraph.services.transaction import run_write

TOKEN_PREFIX = "cmg_"
LAST_USED_PRECISION = timedelta(minutes=1)
VERIFIED_FOR = 5.0
"""Seconds a process trusts a token it verified before it looks the token up again."""
VERIFIED_MOST = 4096  # tokens remembered at once; the oldest go first


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(organization_id: UUID) -> str:
    return f"{TOKEN_PREFIX}{organization_id.hex}_{secrets.token_urlsafe(32)}"


def organization_of(token: str) -> UUID | None:
    """The organization a token names, or None when it names none (tokens issued before
    migration 0003 included: that migration revoked them)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    org, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not sep or not secret or len(org) != 32:
        return None
    try:
        return UUID(hex=org)
    except ValueError:
        return None


@dataclass(frozen=True)
class TokenRequest:
    name: str
    role: str
    scopes: tuple[str, ...] = ()
    provider_id: UUID | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Issued:
    token: str  # the secret: shown once, never stored
    row: models.ApiToken


def _check(request: TokenRequest, now: datetime) -> None:
    """Refuse a request outside the vocabulary; the message names the valid choices."""
    if request.role not in ROLES:
        raise refuse(INVALID_INPUT, f"Unknown role; roles: {', '.join(ROLES)}.", "role")
    unknown = sorted(set(request.scopes) - set(SCOPES))
    if unknown:
        raise refuse(
            INVALID_INPUT,
            f"Unknown scope {unknown[0]!r}; scopes: {', '.join(SCOPES)}.",
            "scopes",
        )
    if request.role == INTEGRATION and not request.scopes:
        raise refuse(INVALID_INPUT, "An integration token needs at least one scope.", "scopes")
    if request.role != INTEGRATION and request.scopes:
        raise refuse(INVALID_INPUT, "Only integration tokens carry scopes.", "scopes")
    if request.role == CLINICIAN and request.provider_id is None:
        raise refuse(INVALID_INPUT, "A clinician token is bound to one provider.", "providerId")
    if request.role != CLINICIAN and request.provider_id is not None:
        raise refuse(INVALID_INPUT, "Only clinician tokens are bound to a provider.", "providerId")
    if request.expires_at is not None and request.expires_at.utcoffset() is None:
        raise refuse(
            INVALID_INPUT, "A date-time needs an offset (e.g. 2027-01-01T00:00Z).", "expiresAt"
        )
    if request.expires_at is not None and request.expires_at <= now:
        raise refuse(INVALID_INPUT, "The expiry must be in the future.", "expiresAt")


def snapshot(row: models.ApiToken) -> dict[str, object]:
    """What the audit trail keeps of a token: never the secret nor its hash."""
    return changes.snapshot(row) | {"token_hash": None}


async def issue(
    session: AsyncSession,
    organization_id: UUID,
    request: TokenRequest,
    *,
    actor: str,
    role: str,
    actor_name: str = "",
    request_id: str | None = None,
    caller_request_id: str | None = None,
) -> Issued:
    now = models.utcnow()
    _check(request, now)
    if request.provider_id is not None:
        await lookups.get(
            session, models.Provider, organization_id, request.provider_id, "providerId"
        )
    token = new_token(organization_id)
    row = models.ApiToken(
        organization_id=organization_id,
        name=lookups.text(request.name, 100, "name") or f"{request.role} token",
        role=request.role,
        scopes=sorted(set(request.scopes)),
        provider_id=request.provider_id,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=request.expires_at,
    )
    session.add(row)
    await session.flush()
    changes.record(
        session,
        organization_id=organization_id,
        actor=actor,
        role=role,
        actor_name=actor_name,
        request_id=request_id,
        caller_request_id=caller_request_id,
        operation="createApiToken",
        entity=row,
        entity_id=row.id,
        before=None,
        after=snapshot(row),
    )
    return Issued(token, row)


async def revoke(
    session: AsyncSession,
    organization_id: UUID,
    token_id: UUID | None,
    *,
    actor: str,
    role: str,
    actor_name: str = "",
    request_id: str | None = None,
    caller_request_id: str | None = None,
) -> models.ApiToken:
    row = await lookups.get(session, models.ApiToken, organization_id, token_id, "id")
    if row.revoked_at is None:
        before = snapshot(row)
        row.revoked_at = models.utcnow()
        await session.flush()
        changes.record(
            session,
            organization_id=organization_id,
            actor=actor,
            role=role,
            actor_name=actor_name,
            request_id=request_id,
            caller_request_id=caller_request_id,
            operation="revokeApiToken",
            entity=row,
            entity_id=row.id,
            before=before,
            after=snapshot(row),
        )
    return row


async def create(scope: TenantScope, request: TokenRequest) -> Outcome[Issued]:
    """createApiToken: an admin issues a token in their own organization."""

    async def use_case(session: AsyncSession) -> Outcome[Issued]:
        issued = await issue(
            session,
            scope.organization_id,
            request,
            actor=scope.actor,
            role=scope.role,
            actor_name=scope.actor_name,
            request_id=scope.request_id,
            caller_request_id=scope.caller_request_id,
        )
        return Outcome(issued)

    return await run_write(scope, use_case)


async def revoke_in(scope: TenantScope, token_id: UUID | None) -> Outcome[models.ApiToken]:
    """revokeApiToken: from now on the token authenticates nothing; revoking twice is a no-op."""

    async def use_case(session: AsyncSession) -> Outcome[models.ApiToken]:
        row = await revoke(
            session,
            scope.organization_id,
            token_id,
            actor=scope.actor,
            role=scope.role,
            actor_name=scope.actor_name,
            request_id=scope.request_id,
            caller_request_id=scope.caller_request_id,
        )
        return Outcome(row)

    outcome = await run_write(scope, use_case)
    if outcome.value is not None:
        verified.forget(outcome.value.id)  # committed: no request of this process may use it
    return outcome


async def listed(session: AsyncSession, organization_id: UUID) -> list[models.ApiToken]:
    rows = await session.scalars(
        select(models.ApiToken)
        .where(models.ApiToken.organization_id == organization_id)
        .order_by(models.ApiToken.created_at, models.ApiToken.id)
    )
    return list(rows)


def usable(row: models.ApiToken, now: datetime) -> bool:
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    expires_at: datetime | None
    until: float  # time.monotonic()


class VerifiedTokens:
    """The tokens this process verified lately, by hash (never the token itself)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._by_hash: dict[str, _Verified] = {}

    def get(self, token_hash: str, now: datetime) -> Principal | None:
        found = self._by_hash.get(token_hash)
        if found is None:
            return None
        if self.clock() >= found.until or (found.expires_at and found.expires_at <= now):
            del self._by_hash[token_hash]
            return None
        return found.principal

    def keep(self, token_hash: str, principal: Principal, expires_at: datetime | None) -> None:
        self._by_hash.pop(token_hash, None)
        self._by_hash[token_hash] = _Verified(principal, expires_at, self.clock() + VERIFIED_FOR)
        while len(self._by_hash) > VERIFIED_MOST:
            del self._by_hash[next(iter(self._by_hash))]

    def forget(self, token_id: UUID) -> None:
        for token_hash, found in list(self._by_hash.items()):
            if found.principal.token_id == token_id:
                del self._by_hash[token_hash]


verified = VerifiedTokens()


async def authenticate(db: Database, token: str) -> Principal | None:
    """The caller a token names, or None when it is unknown, revoked or expired."""
    organization_id = organization_of(token)
    if organization_id is None:
        return None
    token_hash, now = hash_token(token), models.utcnow()
    known = verified.get(token_hash, now)
    if known is not None:
        return known
    return await _looked_up(db, organization_id, token_hash, now)


async def _looked_up(
    db: Database, organization_id: UUID, token_hash: str, now: datetime
) -> Principal | None:
    async with db.read() as session:
        found = (
            await session.execute(
                select(models.ApiToken, models.Organization.timezone)
                .join(
                    models.Organization, models.Organization.id == models.ApiToken.organization_id
                )
                .where(
                    models.ApiToken.organization_id == organization_id,
                    models.ApiToken.token_hash == token_hash,
                )
            )
        ).first()
    if found is None:
        return None
    row, timezone = found
    if not usable(row, now):
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        await _touch(db, row, now)
    principal = Principal(
        organization_id=row.organization_id,
        timezone=timezone,
        role=row.role,
        actor=f"token:{row.id}",
        actor_name=row.name,
        scopes=frozenset(row.scopes or ()),
        provider_id=row.provider_id,
        token_id=row.id,
    )
    verified.keep(token_hash, principal, row.expires_at)
    return principal


async def _touch(db: Database, row: models.ApiToken, now: datetime) -> None:
    async with db.write() as session:
        await session.execute(
            update(models.ApiToken)
            .where(
                models.ApiToken.organization_id == row.organization_id,
                models.ApiToken.id == row.id,
            )
            .values(last_used_at=now)
        )
        await session.commit()


def scopes_of(text: str | None) -> tuple[str, ...]:
    """A comma-separated list of scopes, as operators type it."""
    return tuple(s.strip() for s in (text or "").split(",") if s.strip())


def describe(rows: Iterable[models.ApiToken], now: datetime) -> list[str]:
    """One tab-separated line per token, for `cmgraph token list`."""

    def when(value: datetime | None) -> str:
        return value.isoformat(timespec="seconds") if value else "-"

    lines = []
    for r in rows:
        state = "revoked" if r.revoked_at else ("expired" if not usable(r, now) else "active")
        lines.append(
            "\t".join(
                [
                    str(r.id),
                    r.name,
                    r.role,
                    ",".join(r.scopes or ()) or "-",
                    state,
                    f"created {when(r.created_at)}",
                    f"expires {when(r.expires_at)}",
                    f"last used {when(r.last_used_at)}",
                ]
            )
        )
    return lines
