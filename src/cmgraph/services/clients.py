"""Clients: create and update, each in one write transaction that records the change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.services import changes, editing, lookups, people
from cmgraph.services.outcome import INVALID_INPUT, KEEP, Outcome, Update, refuse
from cmgraph.services.scope import TenantScope
from cmgraph.services.transaction import run_write


def external_id_of(value: str | None) -> str | None:
    """An EHR's id of the client; blank means none (so blanks never collide)."""
    return lookups.text(value, 100, "externalId")


def check_birth_date(scope: TenantScope, value: date | None) -> None:
    if value is not None and value > scope.today():
        raise refuse(INVALID_INPUT, "The date of birth is in the future.", "dateOfBirth")


def new_row(
    scope: TenantScope,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    external_id: str | None,
) -> models.Client:
    """The client createClient adds, its names checked (raises Refused); the caller checked
    the rest (check_birth_date, external_id_of, and that the external id is not taken)."""
    return models.Client(
        organization_id=scope.organization_id,
        first_name=editing.name(first_name, "firstName"),
        last_name=editing.name(last_name, "lastName"),
        date_of_birth=date_of_birth,
        external_id=external_id,
        created_at=models.utcnow(),
    )


async def create_client(
    scope: TenantScope,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    external_id: str | None,
) -> Outcome[models.Client]:
    external_id = external_id_of(external_id)

    async def use_case(session: AsyncSession) -> Outcome[models.Client]:
        check_birth_date(scope, date_of_birth)
        await editing.ensure_unique(
            session, models.Client, scope.organization_id, "external_id", external_id, "externalId"
        )
        row = new_row(scope, first_name, last_name, date_of_birth, external_id)
        session.add(row)
        await session.flush()
        editing.record_created(session, scope, "createClient", row)
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def update_client(
    scope: TenantScope,
    id: UUID | None,
    first_name: Update[str | None] = KEEP,
    last_name: Update[str | None] = KEEP,
    date_of_birth: Update[date | None] = KEEP,
    external_id: Update[str | None] = KEEP,
) -> Outcome[models.Client]:
    async def use_case(session: AsyncSession) -> Outcome[models.Client]:
        row = await lookups.get(session, models.Client, scope.organization_id, id, "id", lock=True)
        before = changes.snapshot(row)
        first = editing.not_cleared(first_name, "firstName")
        last = editing.not_cleared(last_name, "lastName")
        if date_of_birth is not KEEP:
            check_birth_date(scope, date_of_birth)
        if external_id is not KEEP:
            external = external_id_of(external_id)
            await editing.ensure_unique(
                session,
                models.Client,
                scope.organization_id,
                "external_id",
                external,
                "externalId",
                row.id,
            )
        editing.apply_given(
            row,
            first_name=first if first is KEEP else editing.name(first, "firstName"),
            last_name=last if last is KEEP else editing.name(last, "lastName"),
            date_of_birth=date_of_birth,
            external_id=external_id if external_id is KEEP else external_id_of(external_id),
        )
        await session.flush()
        editing.record_updated(session, scope, "updateClient", row, before)
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def page(
    session: AsyncSession,
    scope: TenantScope,
    words: Sequence[str],
    after: people.NameKey | None,
    limit: int,
) -> tuple[int, list[models.Client], bool]:
    """Clients with every word in their first or last name: how many there are, the page
    after `after` by name, and whether more follow."""
    conditions = people.name_matches(models.Client, words)
    return await people.page(session, scope, models.Client, conditions, after, limit)
