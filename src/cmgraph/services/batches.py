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
round trips to the driver's thread.

Their statements are built once for each kind of database (`Keyed`), with the organization
and the keys as parameters, the keys as one list: building a select and its cache key took
about 0.2 ms, a tenth of a small page, and an expanding IN re-rendered the statement's text
on every execution. A clinician's are narrowed per request by the condition of their
caseload (services.visibility), which names them and today's date."""

from __future__ import annotations

import functools
from collections import defaultdict, namedtuple
from collections.abc import Awaitable, Callable, Collection, Hashable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID

from sqlalchemy import BindParameter, ColumnElement, Dialect, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from cmgraph.db import models
from cmgraph.services import reader, sessions, visibility
from cmgraph.services.inline_table import in_list, lister
from cmgraph.services.scope import TenantScope

M = TypeVar("M", bound=models.Tenant)
N = TypeVar("N", bound=models.Tenant)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Source = AsyncSession | AsyncConnection
"""Where the keyed reads below run: a session, or the reader's connection itself (they are
Core statements: services.reader.Reader.rows needs no session for them)."""
BatchRead = Callable[[Source, TenantScope, Sequence[K]], Awaitable[dict[K, V]]]
ById = BatchRead[UUID, M]
Grouped = BatchRead[K, list[M]]


@functools.cache
def _columns(model: type[models.Base]) -> tuple[Any, ...]:
    """The model's columns, in the table's order; looked up once per model, as rows are read
    on every request (a tenth of a one-client request's reading of rows)."""
    return tuple(model.__table__.columns)


@functools.cache
def _key_at(model: type[models.Base], key: str) -> int:
    """Where the column of this attribute is among the model's columns."""
    return [c.key for c in _columns(model)].index(key)


@functools.cache
def record(model: type[M]) -> Callable[[Sequence[Any]], M]:
    """Makes one of the model's records from its columns' values: a named tuple whose
    fields are the model's attribute names (see the module's doc)."""
    fields = [c.key for c in _columns(model)]
    make_type: Any = namedtuple  # its fields come from the table, not from literals
    return cast("Callable[[Sequence[Any]], M]", make_type(f"{model.__name__}Row", fields)._make)


# The caller's organization: a parameter of every statement here.
ORG: BindParameter[Any] = bindparam("org")


class Keyed:
    """A statement over a batch's keys (values of `column`), built once for each kind of
    database by `build`, given the condition on the keys: they are one parameter
    (inline_table.in_list), so the statement's text does not change with their number."""

    def __init__(self, column: Any, build: Callable[[ColumnElement[bool]], Select[Any]]) -> None:
        self.column, self.build = column, build
        self._built: dict[str, Select[Any]] = {}
        self._listers: dict[str, Callable[[Collection[Any]], Any]] = {}

    def statement(self, dialect: Dialect) -> Select[Any]:
        built = self._built.get(dialect.name)
        if built is None:
            built = self._built[dialect.name] = self.build(
                in_list(self.column, "keys", dialect.name)
            )
        return built

    def keys(self, dialect: Dialect, keys: Collection[Any]) -> Any:
        """The value of the statement's `keys` parameter (inline_table.listed)."""
        listed = self._listers.get(dialect.name)
        if listed is None:
            listed = self._listers[dialect.name] = lister(dialect, self.column)
        return listed(keys)


def narrowed(statement: Select[Any], scope: TenantScope, model: type[Any]) -> Select[Any]:
    """The statement narrowed to the rows of `model` the caller may see."""
    if scope.caseload_of is None:
        return statement  # everyone but a clinician sees every client: nothing to add
    return statement.where(visibility.row_visible(scope, model))


async def _execute(
    source: Source,
    scope: TenantScope,
    keyed: Keyed,
    keys: Collection[Any],
    adjust: Callable[[Select[Any]], Select[Any]] | None = None,
) -> Any:
    """The keyed statement (adjusted for this read, when it must be) on the connection, or
    the session's: a Core statement needs none of the ORM's steps (services.reader)."""
    connection = reader.connection(source)
    if connection is None:
        assert isinstance(source, AsyncSession)
        connection = await source.connection()
    dialect = connection.dialect
    statement = keyed.statement(dialect)
    if adjust is not None:
        statement = adjust(statement)
    parameters = {"org": scope.organization_id, "keys": keyed.keys(dialect, keys)}
    return await connection.execute(statement, parameters)


async def _rows(
    session: Source,
    scope: TenantScope,
    model: type[M],
    keyed: Keyed,
    keys: Collection[Any],
    adjust: Callable[[Select[Any]], Select[Any]] | None = None,
) -> list[M]:
    make = record(model)
    # all(): the rows fetched in one call, not one call per row as iterating fetches them
    return list(map(make, (await _execute(session, scope, keyed, keys, adjust)).all()))


def _by_id(model: type[M]) -> ById[M]:
    keyed = Keyed(
        model.id,
        lambda keys: select(*_columns(model)).where(model.organization_id == ORG, keys),
    )

    async def read(session: Source, scope: TenantScope, ids: Sequence[UUID]) -> dict[UUID, M]:
        rows = await _rows(session, scope, model, keyed, ids, lambda s: narrowed(s, scope, model))
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
    keyed = Keyed(
        getattr(model, column),
        lambda keys: (
            select(*_columns(model)).where(model.organization_id == ORG, keys).order_by(*order)
        ),
    )

    async def read(session: Source, scope: TenantScope, keys: Sequence[Any]) -> dict[Any, list[M]]:
        by_filters: dict[Any, list[Any]] = defaultdict(list)
        for key in keys:
            value, filters = key if filtered else (key, None)
            by_filters[filters].append(value)
        found: dict[Any, list[M]] = defaultdict(list)
        for filters, values in by_filters.items():

            def adjust(statement: Select[Any], filters: Any = filters) -> Select[Any]:
                if filtered:
                    statement = statement.where(*filtered(filters))
                return narrowed(statement, scope, model) if visible_only else statement

            rows = await _rows(session, scope, model, keyed, values, adjust)
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


# ends on the id: the case managers' joined read below gives the same order, ties included
CREDENTIAL_ORDER = (models.Credential.type, models.Credential.id)
credentials_by_provider = _grouped(models.Credential, "provider_id", CREDENTIAL_ORDER)
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


def _joined(
    rows: tuple[type[M], Sequence[Any]], parents: tuple[type[N], str], keys: ColumnElement[bool]
) -> Select[Any]:
    """The statement of a model's rows (in the given order) of the clients whose ids meet
    `keys`, each with the parent row it names by the given column."""
    (model, order), (parent, column) = rows, parents
    return (
        select(*_columns(model), *_columns(parent))
        .join(
            parent,
            (parent.organization_id == model.organization_id)
            & (parent.id == getattr(model, column)),
        )
        .where(model.organization_id == ORG, keys)
        .order_by(*order)
    )


async def _with_parents(
    session: Source,
    scope: TenantScope,
    client_ids: Sequence[UUID],
    keyed: Keyed,
    models_read: tuple[type[M], type[N]],
) -> tuple[dict[UUID, list[M]], dict[UUID, N]]:
    """The clients' rows, grouped by client, and the parent row each one names, from one
    statement made by _joined."""
    model, parent = models_read
    split, make_first, make_second = len(_columns(model)), record(model), record(parent)
    by_client: dict[UUID, list[M]] = defaultdict(list)
    by_id: dict[UUID, N] = {}
    visible = functools.partial(narrowed, scope=scope, model=model)
    for row in await _execute(session, scope, keyed, client_ids, visible):
        first = make_first(row[:split])
        by_client[cast(Any, first).client_id].append(first)
        parent_row = make_second(row[split:])
        by_id[parent_row.id] = parent_row
    return by_client, by_id


COVERAGES_WITH_PAYORS = Keyed(
    models.Coverage.client_id,
    lambda keys: _joined((models.Coverage, COVERAGE_ORDER), (models.Payor, "payor_id"), keys),
)
ASSIGNMENTS_WITH_PROVIDERS = Keyed(
    models.Assignment.client_id,
    lambda keys: _joined(
        (models.Assignment, ASSIGNMENT_ORDER), (models.Provider, "provider_id"), keys
    ),
)
# ... and each provider's credentials: a row per credential (one with none where there is
# none), as credentials_by_provider orders them
ASSIGNMENTS_WITH_CREDENTIALS = Keyed(
    models.Assignment.client_id,
    lambda keys: (
        ASSIGNMENTS_WITH_PROVIDERS.build(keys)
        .outerjoin(
            models.Credential,
            (models.Credential.organization_id == models.Provider.organization_id)
            & (models.Credential.provider_id == models.Provider.id),
        )
        .add_columns(*_columns(models.Credential))
        .order_by(*CREDENTIAL_ORDER)
    ),
)


async def coverages_with_payors(
    session: Source, scope: TenantScope, client_ids: Sequence[UUID]
) -> tuple[dict[UUID, list[models.Coverage]], dict[UUID, models.Payor]]:
    """What coverages_by_client and payors_by_id answer for these clients' coverages and
    their payors, in one statement."""
    return await _with_parents(
        session, scope, client_ids, COVERAGES_WITH_PAYORS, (models.Coverage, models.Payor)
    )


async def assignments_with_providers(
    session: Source, scope: TenantScope, client_ids: Sequence[UUID]
) -> tuple[dict[UUID, list[models.Assignment]], dict[UUID, models.Provider]]:
    """What assignments_by_client and providers_by_id answer for these clients' assignments
    and their providers, in one statement."""
    return await _with_parents(
        session,
        scope,
        client_ids,
        ASSIGNMENTS_WITH_PROVIDERS,
        (models.Assignment, models.Provider),
    )


async def assignments_with_credentials(
    session: Source, scope: TenantScope, client_ids: Sequence[UUID]
) -> tuple[
    dict[UUID, list[models.Assignment]],
    dict[UUID, models.Provider],
    dict[UUID, list[models.Credential]],
]:
    """What assignments_with_providers answers, and credentials_by_provider for those
    providers (an empty list for one without credentials), in one statement."""
    assignment_of, provider_of = record(models.Assignment), record(models.Provider)
    credential_of = record(models.Credential)
    first = len(_columns(models.Assignment))
    second = first + len(_columns(models.Provider))
    assignment_id = _key_at(models.Assignment, "id")
    credential_id = second + _key_at(models.Credential, "id")
    visible = functools.partial(narrowed, scope=scope, model=models.Assignment)
    by_client: dict[UUID, list[models.Assignment]] = defaultdict(list)
    providers: dict[UUID, models.Provider] = {}
    credentials: dict[UUID, list[models.Credential]] = {}
    # a provider's credentials repeat with each of their assignments: taken from the first
    read_with: dict[UUID, Any] = {}
    last: Any = None
    for row in await _execute(session, scope, ASSIGNMENTS_WITH_CREDENTIALS, client_ids, visible):
        if last is None or row[assignment_id] != last.id:  # the next assignment
            last = assignment_of(row[:first])
            by_client[last.client_id].append(last)
            if last.provider_id not in providers:
                providers[last.provider_id] = provider_of(row[first:second])
                credentials[last.provider_id] = []
                read_with[last.provider_id] = last.id
        if read_with[last.provider_id] == last.id and row[credential_id] is not None:
            credentials[last.provider_id].append(credential_of(row[second:]))
    return by_client, providers, credentials


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
