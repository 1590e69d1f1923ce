"""What every directory write shares: checked names and date-times, unique columns,
applying the fields that were given, and recording the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.services import changes, lookups
from cmgraph.services.outcome import INVALID_INPUT, KEEP, Update, refuse
from cmgraph.services.scope import TenantScope

R = TypeVar("R", bound=models.Tenant)
T = TypeVar("T")


def name(value: str, field: str) -> str:
    cleaned = lookups.text(value, 100, field)
    if cleaned is None:
        raise refuse(INVALID_INPUT, "A name cannot be empty.", field)
    return cleaned


def aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise refuse(
            INVALID_INPUT, "A date-time needs an offset (e.g. 2026-03-08T09:00-05:00).", field
        )
    return value


async def ensure_unique(
    session: AsyncSession,
    model: type[R],
    org: UUID,
    column: str,
    value: Any,
    field: str,
    exclude: UUID | None = None,
) -> None:
    if value is None:
        return
    query = select(model.id).where(model.organization_id == org, getattr(model, column) == value)
    if exclude is not None:
        query = query.where(model.id != exclude)
    if await session.scalar(query.limit(1)) is not None:
        raise refuse(INVALID_INPUT, f"Another record already has this {field}.", field)


def record_created(
    session: AsyncSession, scope: TenantScope, operation: str, row: models.Tenant, **extra: Any
) -> None:
    changes.record_by(session, scope, operation, row, None, changes.snapshot(row, **extra))


def record_updated(
    session: AsyncSession,
    scope: TenantScope,
    operation: str,
    row: models.Tenant,
    before: dict[str, Any],
    **extra: Any,
) -> bool:
    """Record the change, if there is one: a write that changes nothing (an update giving
    the values already there) writes no event. True when recorded."""
    after = changes.snapshot(row, **extra)
    if after == before:
        return False
    changes.record_by(session, scope, operation, row, before, after)
    return True


def apply_given(row: models.Base, **fields: Any) -> None:
    """Set the fields that were given; KEEP leaves a field as it is."""
    for name, value in fields.items():
        if value is not KEEP:
            setattr(row, name, value)


def not_cleared(value: Update[T | None], field: str) -> Update[T]:
    """An update's field that may be left out (KEEP) but not cleared (None is refused)."""
    if value is None:
        raise refuse(INVALID_INPUT, "This field cannot be cleared.", field)
    return value
