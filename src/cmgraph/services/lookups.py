"""Fetch one row of the organization or refuse with NOT_FOUND; validate shared inputs."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import TypeVar
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.plugins import RuleBook
from cmgraph.services import text as text_rule
from cmgraph.services.outcome import (
    INVALID_INPUT,
    NOT_FOUND,
    UNKNOWN_SERVICE_LINE,
    Refused,
    refuse,
)

R = TypeVar("R", bound=models.Tenant)


async def get(
    session: AsyncSession,
    model: type[R],
    org: UUID,
    id: UUID | None,
    field: str,
    *,
    lock: bool = False,
    reread: bool = False,
) -> R:
    """The row of this organization with that id; `lock` serializes writers on PostgreSQL;
    `reread` reads it from the database even when the session already has it (another
    writer may have changed or deleted it while this one waited for a lock)."""
    if id is not None:
        query = select(model).where(model.organization_id == org, model.id == id)
        if lock:
            query = query.with_for_update()
        if reread:
            query = query.execution_options(populate_existing=True)
        row = await session.scalar(query)
        if row is not None:
            return row
    raise not_found(model, field)


def not_found(model: type[models.Tenant], field: str) -> Refused:
    return refuse(NOT_FOUND, f"No {model.__name__.lower()} with this id.", field)


async def all_exist(
    session: AsyncSession, model: type[R], org: UUID, ids: Collection[UUID], field: str
) -> None:
    """Refuse with NOT_FOUND unless every id is a row of this organization (one query)."""
    found = set(
        await session.scalars(
            select(model.id).where(model.organization_id == org, model.id.in_(list(ids)))
        )
    )
    if found != set(ids):
        raise refuse(NOT_FOUND, f"No {model.__name__.lower()} with this id.", field)


def service_line(book: RuleBook, code: str, field: str = "serviceLine") -> str:
    normalized = code.strip().upper()
    if normalized not in book.service_lines:
        known = ", ".join(sorted(book.service_lines))
        raise refuse(
            UNKNOWN_SERVICE_LINE, f"Unknown service line {code!r} (known: {known}).", field
        )
    return normalized


def period(start: date | None, end: date | None, end_field: str = "endDate") -> None:
    if start is not None and end is not None and end < start:
        raise refuse(INVALID_INPUT, "The end date is before the start date.", end_field)


def text(value: str | None, max_length: int, *field: str, multiline: bool = False) -> str | None:
    """Trimmed text (None when blank, formatting characters aside), refused when it is not
    text (services.text: lone surrogates, control or bidirectional formatting characters; a
    line break only when `multiline`) or too long. Every text a use case stores passes here."""
    if value is None:
        return None
    reason = text_rule.problem(value, multiline)
    if reason is not None:
        raise refuse(INVALID_INPUT, reason, *field)
    if not text_rule.visible(value):
        return None
    value = value.strip()
    if len(value) > max_length:
        raise refuse(INVALID_INPUT, f"At most {max_length} characters.", *field)
    return value
