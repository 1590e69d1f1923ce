"""Reads by many keys at once, for the API's per-request DataLoaders: each answers a batch
of keys in one statement (or one per distinct filter), so the number of statements of a
query does not grow with its page size.

Rows are those of the caller's organization; where a row belongs to a client, only those
the caller may see (services.visibility): anything else is absent, as if it did not exist.

They come as plain records of the model's columns (named tuples), not ORM objects: the API
only reads their attributes (the same names), and building an ORM object (its state, the
identity map) took about a quarter of a caseload page's reads. Typed as the model for the
API. Where a page needs a row's parent too (a coverage's payor, an assignment's provider),
one joined statement reads both (`*_with_*` below): on SQLite every statement is several
round trips to the driver's thread."""

from __future__ import annotations

import functools
from collections import defaultdict, namedtuple
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.services import sessions, visibility
from cmgraph.services.scope import TenantScope

M = TypeVar("M", bound=models.Tenant)
N = TypeVar("N", bound=models.Tenant)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

BatchRead = Callable[[AsyncSession, TenantScope, Sequence[K]], Awaitable[dict[K, V]]]
ById = BatchRead[UUID, M]
Grouped = BatchRead[K, list[M]]


def _columns(model: type[Any]) -> list[Any]:
    return list(model.__table__.columns)


@functools.cache
def record(model: type[M]) -> Callable[[Sequence[Any]], M]:
    """Makes one of the model's records from its columns' values: a named tuple whose
    fields are the model's attribute names (see the module's doc)."""
    fields = [c.key for c in _columns(model)]
    make_type: Any = namedtuple  # its fields come from the table, not from literals
    return cast("Callable[[Sequence[Any]], M]", make_type(f"{model.__name__}Row", fields)._make)


async def _execute(session: AsyncSession, statement: Any) -> Any:
    """On the session's connection: a Core statement needs none of the ORM's steps."""
    connection = await session.connection()
    return await connection.execute(statement)


async def _rows(session: AsyncSession, model: type[M], statement: Any) -> list[M]:
    make = record(model)
    return [make(row) for row in await _execute(session, statement)]


async def _pairs(
    session: AsyncSession, first: type[M], second: type[N], statement: Any
) -> list[tuple[M, N]]:
    """Rows of a join that selects first's columns, then second's: each as two records."""
    split, make_first, make_second = len(_columns(first)), record(first), record(second)
    return [
        (make_first(row[:split]), make_second(row[split:]))
        for row in await _execute(session, statement)
    ]


def _by_id(model: type[M]) -> ById[M]:
    async def read(session: AsyncSession, scope: TenantScope, ids: Sequence[UUID]) -> dict[UUID, M]:
        rows = await _rows(
            session,
            model,
            select(*_columns(model)).where(
                model.organization_id == scope.organization_id,
                model.id.in_(ids),
                visibility.row_visible(scope, model),
            ),
        )
        return {r.id: r for r in rows}

    return read


clients_by_id = _by_id(models.Client)
providers_by_id = _by_id(models.Provider)
payors_by_id = _by_id(models.Payor)
coverages_by_id = _by_id(models.Coverage)
enrollments_by_id = _by_id(models.Enrollment)
appointments_by_id = _by_id(models.Appointment)
assignments_by_id = _by_id(models.Assignment)


def _grouped(
    model: type[M],
    column: str,
    order: Sequence[Any],
    *,
    filtered: Callable[[Any], list[ColumnElement[bool]]] | None = None,
    visible_only: bool = False,
) -> Grouped[Any, M]:
    """Rows grouped by `column`. A key is the column's value, or (value, filters) when
    `filtered` turns the filters into conditions; keys sharing filters share one query."""

    async def read(
        session: AsyncSession, scope: TenantScope, keys: Sequence[Any]
    ) -> dict[Any, list[M]]:
        by_filters: dict[Any, list[Any]] = defaultdict(list)
        for key in keys:
            value, filters = key if filtered else (key, None)
            by_filters[filters].append(value)
        found: dict[Any, list[M]] = defaultdict(list)
        for filters, values in by_filters.items():
            conditions = filtered(filters) if filtered else []
            if visible_only:
                conditions.append(visibility.row_visible(scope, model))
            rows = await _rows(
                session,
                model,
                select(*_columns(model))
                .where(
                    model.organization_id == scope.organization_id,
                    getattr(model, column).in_(values),
                    *conditions,
                )
                .order_by(*order),
            )
            for row in rows:
                value = getattr(row, column)
                found[(value, filters) if filtered else value].append(row)
        return found

    return read


AppointmentFilters = tuple[datetime | None, datetime | None, str | None]


def _appointment_filters(filters: AppointmentFilters) -> list[ColumnElement[bool]]:
    since, until, line = filters
    a = models.Appointment
    conditions = []
    if since is not None:
        conditions.append(a.starts_at >= since)
    if until is not None:
        conditions.append(a.starts_at < until)
    if line is not None:
        conditions.append(a.service_line == line)
    return conditions


credentials_by_provider = _grouped(models.Credential, "provider_id", (models.Credential.type,))
enrollments_by_provider = _grouped(
    models.Enrollment, "provider_id", (models.Enrollment.effective_from,)
)
# The orders end on the id: the joined reads below give the same order, ties included.
COVERAGE_ORDER = (models.Coverage.priority, models.Coverage.effective_from, models.Coverage.id)
ASSIGNMENT_ORDER = (
    models.Assignment.service_line,
    models.Assignment.start_date,
    models.Assignment.id,
)
coverages_by_client = _grouped(models.Coverage, "client_id", COVERAGE_ORDER)
assignments_by_client = _grouped(models.Assignment, "client_id", ASSIGNMENT_ORDER)
# a provider's caseload lists only the clients the caller may see
assignments_by_provider = _grouped(
    models.Assignment,
    "provider_id",
    (models.Assignment.start_date, models.Assignment.id),
    visible_only=True,
)
# keyed by (client id, (from, to, service line))
appointments_by_client = _grouped(
    models.Appointment,
    "client_id",
    (models.Appointment.starts_at, models.Appointment.id),
    filtered=_appointment_filters,
)


async def _with_parents(
    session: AsyncSession,
    scope: TenantScope,
    client_ids: Sequence[UUID],
    rows: tuple[type[M], Sequence[Any]],
    parents: tuple[type[N], str],
) -> tuple[dict[UUID, list[M]], dict[UUID, N]]:
    """The clients' rows of a model (in the given order), grouped by client, and the parent
    row each one names (by the given column), in one joined statement."""
    (model, order), (parent, column) = rows, parents
    pairs = await _pairs(
        session,
        model,
        parent,
        select(*_columns(model), *_columns(parent))
        .join(
            parent,
            (parent.organization_id == model.organization_id)
            & (parent.id == getattr(model, column)),
        )
        .where(
            model.organization_id == scope.organization_id,
            cast(Any, model).client_id.in_(client_ids),
            visibility.row_visible(scope, parent),
        )
        .order_by(*order),
    )
    by_client: dict[UUID, list[M]] = defaultdict(list)
    by_id: dict[UUID, N] = {}
    for row, parent_row in pairs:
        by_client[cast(Any, row).client_id].append(row)
        by_id[parent_row.id] = parent_row
    return by_client, by_id


async def coverages_with_payors(
    session: AsyncSession, scope: TenantScope, client_ids: Sequence[UUID]
) -> tuple[dict[UUID, list[models.Coverage]], dict[UUID, models.Payor]]:
    """What coverages_by_client and payors_by_id answer for these clients' coverages and
    their payors, in one statement."""
    return await _with_parents(
        session,
        scope,
        client_ids,
        (models.Coverage, COVERAGE_ORDER),
        (models.Payor, "payor_id"),
    )


async def assignments_with_providers(
    session: AsyncSession, scope: TenantScope, client_ids: Sequence[UUID]
) -> tuple[dict[UUID, list[models.Assignment]], dict[UUID, models.Provider]]:
    """What assignments_by_client and providers_by_id answer for these clients' assignments
    and their providers, in one statement."""
    return await _with_parents(
        session,
        scope,
        client_ids,
        (models.Assignment, ASSIGNMENT_ORDER),
        (models.Provider, "provider_id"),
    )


async def lines_by_client(
    session: AsyncSession, scope: TenantScope, ids: Sequence[UUID]
) -> dict[UUID, list[str]]:
    """The service lines each client has appointments in."""
    a = models.Appointment
    rows = await session.execute(
        select(a.client_id, a.service_line)
        .distinct()
        .where(a.organization_id == scope.organization_id, a.client_id.in_(ids))
    )
    found: dict[UUID, list[str]] = defaultdict(list)
    for client_id, line in rows:
        found[client_id].append(line)
    return found


async def verdicts_by_appointment(
    session: AsyncSession, scope: TenantScope, ids: Sequence[UUID]
) -> dict[UUID, sessions.Verdict]:
    """The verdict (rendering provider, findings) of each appointment's session."""
    rows = list(
        await session.scalars(
            select(models.Appointment).where(
                models.Appointment.organization_id == scope.organization_id,
                models.Appointment.id.in_(ids),
            )
        )
    )
    verdicts = await sessions.judge(session, scope, [sessions.key_of(r) for r in rows])
    return {r.id: v for r, v in zip(rows, verdicts, strict=True)}
