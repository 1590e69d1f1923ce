"""Payors: create and edit one, checking that the plugins it names are loaded and that its
settings are those its plugins declare."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import changes, editing, lookups
from cmgraph.services.outcome import (
    INVALID_INPUT,
    KEEP,
    Outcome,
    Refused,
    Update,
    UserError,
    refuse,
)
from cmgraph.services.scope import TenantScope
from cmgraph.services.tenants import organization_id
from cmgraph.services.transaction import run_write


def _plugins(scope: TenantScope, plugins: Sequence[str]) -> list[str]:
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
    return list(dict.fromkeys(plugins))


def _settings(scope: TenantScope, plugins: Sequence[str], settings: Any) -> dict[str, Any]:
    """The settings, if every one is declared by one of the plugins and of its kind."""
    if not isinstance(settings, Mapping):
        raise refuse(INVALID_INPUT, "Settings are a JSON object of name: value.", "settings")
    errors = scope.book.setting_errors(plugins, settings)
    if errors:
        raise Refused(
            *(
                UserError(("input", "settings", message.split(":", 1)[0]), INVALID_INPUT, message)
                for message in errors
            )
        )
    return dict(settings)


def _name(name: str) -> str:
    clean = lookups.text(name, 200, "name")
    if not clean:
        raise refuse(INVALID_INPUT, "A payor needs a name.", "name")
    return clean


async def create_payor(
    scope: TenantScope,
    name: str,
    payer_id: str | None,
    kind: facts.PayorKind,
    plugins: Sequence[str],
    settings: Any = None,  # JSON from the caller: checked to be an object of settings
) -> Outcome[models.Payor]:
    async def use_case(session: AsyncSession) -> Outcome[models.Payor]:
        named = _plugins(scope, plugins)
        row = models.Payor(
            organization_id=scope.organization_id,
            name=_name(name),
            payer_id=lookups.text(payer_id, 64, "payerId"),
            kind=kind.value,
            plugins=named,
            settings=_settings(scope, named, settings or {}),
        )
        session.add(row)
        await session.flush()
        editing.record_created(session, scope, "createPayor", row)
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def update_payor(
    scope: TenantScope,
    id: UUID | None,
    name: Update[str | None] = KEEP,
    payer_id: Update[str | None] = KEEP,
    plugins: Update[Sequence[str] | None] = KEEP,
    settings: Update[dict[str, Any] | None] = KEEP,
) -> Outcome[models.Payor]:
    """Edit what was given; the settings kept or given are checked against the plugins
    kept or given (dropping a plugin whose setting the payor still holds is refused)."""

    async def use_case(session: AsyncSession) -> Outcome[models.Payor]:
        row = await lookups.get(session, models.Payor, scope.organization_id, id, "id", lock=True)
        before = changes.snapshot(row)
        new_name = editing.not_cleared(name, "name")
        new_plugins = editing.not_cleared(plugins, "plugins")
        new_settings = editing.not_cleared(settings, "settings")
        named = row.plugins if new_plugins is KEEP else _plugins(scope, new_plugins)
        editing.apply_given(
            row,
            name=new_name if new_name is KEEP else _name(new_name),
            payer_id=payer_id if payer_id is KEEP else lookups.text(payer_id, 64, "payerId"),
            plugins=new_plugins if new_plugins is KEEP else named,
            settings=_settings(
                scope, named, row.settings if new_settings is KEEP else new_settings
            ),
        )
        await session.flush()
        editing.record_updated(session, scope, "updatePayor", row, before)
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


async def names_by_plugin(db: Database, slug: str) -> dict[str, list[str]]:
    """An organization's payor names by the plugins they name (for `cmgraph plugins`)."""
    async with db.read() as session:
        naming: dict[str, list[str]] = {}
        for row in await listed(session, await organization_id(session, slug)):
            for plugin in row.plugins or []:
                naming.setdefault(plugin, []).append(row.name)
        return naming
