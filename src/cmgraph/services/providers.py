"""Providers and their credentials: create and update (credentials are replaced as a
list), each in one write transaction that records the change."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import changes, editing, lookups, people
from cmgraph.services.npi import checked_npi
from cmgraph.services.outcome import INVALID_INPUT, KEEP, Outcome, Update, refuse
from cmgraph.services.scope import TenantScope
from cmgraph.services.transaction import run_write


def credential_rows(
    scope: TenantScope, provider_id: UUID, given: Sequence[facts.Credential]
) -> list[models.Credential]:
    rows = []
    for index, c in enumerate(given):
        kind = (lookups.text(c.type, 32, "credentials", str(index), "type") or "").upper()
        if not kind:
            raise refuse(
                INVALID_INPUT, "A credential needs a type.", "credentials", str(index), "type"
            )
        if c.issued_on and c.expires_on and c.expires_on < c.issued_on:
            raise refuse(
                INVALID_INPUT,
                "The credential expires before it is issued.",
                "credentials",
                str(index),
                "expiresOn",
            )
        if c.state is not None and (len(c.state) != 2 or not c.state.isalpha()):
            raise refuse(
                INVALID_INPUT, "A state is a two-letter code.", "credentials", str(index), "state"
            )
        rows.append(
            models.Credential(
                organization_id=scope.organization_id,
                provider_id=provider_id,
                type=kind,
                number=lookups.text(c.number, 64, "credentials", str(index), "number"),
                state=c.state.upper() if c.state else None,
                issued_on=c.issued_on,
                expires_on=c.expires_on,
            )
        )
    return rows


def held(credentials: Sequence[models.Credential | dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a list of credentials says, whatever the rows' ids: the same list given again
    is no change (and writes nothing)."""
    fields = ("type", "number", "state", "issued_on", "expires_on")
    snapshots = [c if isinstance(c, dict) else changes.snapshot(c) for c in credentials]
    return sorted(tuple(str(s.get(f)) for f in fields) for s in snapshots)


async def credentials_of(
    session: AsyncSession, org: UUID, provider_id: UUID
) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(models.Credential).where(
            models.Credential.organization_id == org, models.Credential.provider_id == provider_id
        )
    )
    return [changes.snapshot(c) for c in rows]


async def create_provider(
    scope: TenantScope,
    first_name: str,
    last_name: str,
    npi: str,
    credentials: Sequence[facts.Credential],
) -> Outcome[models.Provider]:
    async def use_case(session: AsyncSession) -> Outcome[models.Provider]:
        number = checked_npi(npi)
        await editing.ensure_unique(
            session, models.Provider, scope.organization_id, "npi", number, "npi"
        )
        row = models.Provider(
            organization_id=scope.organization_id,
            first_name=editing.name(first_name, "firstName"),
            last_name=editing.name(last_name, "lastName"),
            npi=number,
            active=True,
            created_at=models.utcnow(),
        )
        session.add(row)
        await session.flush()
        held_rows = credential_rows(scope, row.id, credentials)
        session.add_all(held_rows)
        await session.flush()
        editing.record_created(
            session,
            scope,
            "createProvider",
            row,
            credentials=[changes.snapshot(c) for c in held_rows],
        )
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def update_provider(
    scope: TenantScope,
    id: UUID | None,
    first_name: Update[str | None] = KEEP,
    last_name: Update[str | None] = KEEP,
    npi: Update[str | None] = KEEP,
    active: Update[bool | None] = KEEP,
    credentials: Update[Sequence[facts.Credential] | None] = KEEP,
) -> Outcome[models.Provider]:
    """`credentials`, when given, replace the provider's list."""

    async def use_case(session: AsyncSession) -> Outcome[models.Provider]:
        org = scope.organization_id
        row = await lookups.get(session, models.Provider, org, id, "id", lock=True)
        before = changes.snapshot(row, credentials=await credentials_of(session, org, row.id))
        first = editing.not_cleared(first_name, "firstName")
        last = editing.not_cleared(last_name, "lastName")
        new_npi = editing.not_cleared(npi, "npi")
        is_active = editing.not_cleared(active, "active")
        given = editing.not_cleared(credentials, "credentials")
        if new_npi is not KEEP:
            await editing.ensure_unique(
                session, models.Provider, org, "npi", checked_npi(new_npi), "npi", row.id
            )
        editing.apply_given(
            row,
            first_name=first if first is KEEP else editing.name(first, "firstName"),
            last_name=last if last is KEEP else editing.name(last, "lastName"),
            npi=new_npi if new_npi is KEEP else checked_npi(new_npi),
            active=is_active,
        )
        new_rows = [] if given is KEEP else credential_rows(scope, row.id, given)
        if given is not KEEP and held(new_rows) != held(before["credentials"]):
            await session.execute(
                delete(models.Credential).where(
                    models.Credential.organization_id == org,
                    models.Credential.provider_id == row.id,
                )
            )
            session.add_all(new_rows)
        await session.flush()
        editing.record_updated(
            session,
            scope,
            "updateProvider",
            row,
            before,
            credentials=await credentials_of(session, org, row.id),
        )
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def page(
    session: AsyncSession,
    scope: TenantScope,
    words: Sequence[str],
    qualifying: Collection[str] | None,
    after: people.NameKey | None,
    limit: int,
) -> tuple[int, list[models.Provider], bool]:
    """Providers with every word in their first or last name and, when `qualifying` is
    given, a credential of one of those types that is valid today: how many there are, the
    page after `after` by name, and whether more follow."""
    conditions = people.name_matches(models.Provider, words)
    if qualifying is not None:
        today, c = scope.today(), models.Credential
        conditions.append(
            exists().where(
                c.organization_id == models.Provider.organization_id,
                c.provider_id == models.Provider.id,
                func.upper(c.type).in_(sorted(qualifying)),
                or_(c.issued_on.is_(None), c.issued_on <= today),
                or_(c.expires_on.is_(None), c.expires_on >= today),
            )
        )
    return await people.page(session, scope, models.Provider, conditions, after, limit)
