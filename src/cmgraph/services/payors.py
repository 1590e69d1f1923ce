"""Payors: create one, checking that the plugins it names are loaded."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import editing, lookups
from cmgraph.services.outcome import INVALID_INPUT, Outcome, refuse
from cmgraph.services.scope import Scope
from cmgraph.services.transaction import run_write


async def create_payor(
    scope: Scope, name: str, payer_id: str | None, kind: facts.PayorKind, plugins: Sequence[str]
) -> Outcome[models.Payor]:
    async def use_case(session: AsyncSession) -> Outcome[models.Payor]:
        loaded = scope.book.plugin_names()
        for index, plugin in enumerate(plugins):
            if plugin not in loaded:
                known = ", ".join(sorted(loaded)) or "none"
                raise refuse(
                    INVALID_INPUT,
                    f"No plugin named {plugin!r} is loaded (loaded: {known}).",
                    "plugins",
                    str(index),
                )
        clean_name = lookups.text(name, 200, "name")
        if not clean_name:
            raise refuse(INVALID_INPUT, "A payor needs a name.", "name")
        row = models.Payor(
            organization_id=scope.organization_id,
            name=clean_name,
            payer_id=lookups.text(payer_id, 64, "payerId"),
            kind=kind.value,
            plugins=list(dict.fromkeys(plugins)),
        )
        session.add(row)
        await session.flush()
        editing.record_created(session, scope, "createPayor", row)
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def listed(session: AsyncSession, organization_id: UUID) -> list[models.Payor]:
    """The organization's payors by name."""
    rows = await session.scalars(
        select(models.Payor)
        .where(models.Payor.organization_id == organization_id)
        .order_by(models.Payor.name, models.Payor.id)
    )
    return list(rows)
