"""DataLoaders, created per request: each batches its keys into one query, so the number of
SQL statements of a query does not grow with the page size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from cmgraph import facts
from cmgraph.api.errors import PluginFailedError
from cmgraph.api.reader import Reader
from cmgraph.db import models
from cmgraph.plugins import PluginFailed
from cmgraph.services import audit, compliance, sessions, visibility
from cmgraph.services.scope import Scope

M = TypeVar("M", bound=models.Tenant)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _by_id(reader: Reader, scope: Scope, model: type[M]) -> DataLoader[UUID, M | None]:
    """Rows by id, of the caller's organization and visible to the caller: anything else
    loads as None, as if it did not exist."""
    org = scope.organization_id
    visible = visibility.row_visible(scope, model)

    async def load(ids: list[UUID]) -> list[M | None]:
        async def query(session: AsyncSession) -> dict[UUID, M]:
            rows = await session.scalars(
                select(model).where(model.organization_id == org, model.id.in_(ids), visible)
            )
            return {r.id: r for r in rows}

        found = await reader.run(query)
        return [found.get(i) for i in ids]

    return DataLoader(load)


def _grouped(
    reader: Reader,
    org: UUID,
    model: type[M],
    column: str,
    order: Sequence[Any] = (),
    extra: Callable[[Any], list[ColumnElement[bool]]] | None = None,
    visible: ColumnElement[bool] | None = None,
) -> DataLoader[Any, list[M]]:
    """Rows grouped by `column`. A key is the column's value, or (value, filters) when
    `extra` turns the filters into conditions; keys sharing filters share one query."""

    async def load(keys: list[Any]) -> list[list[M]]:
        by_filters: dict[Any, list[Any]] = defaultdict(list)
        for key in keys:
            value, filters = key if extra else (key, None)
            by_filters[filters].append(value)

        async def query(session: AsyncSession) -> dict[Any, list[M]]:
            found: dict[Any, list[M]] = defaultdict(list)
            for filters, values in by_filters.items():
                conditions = extra(filters) if extra else []
                if visible is not None:
                    conditions.append(visible)
                rows = await session.scalars(
                    select(model)
                    .where(
                        model.organization_id == org,
                        getattr(model, column).in_(values),
                        *conditions,
                    )
                    .order_by(*order)
                )
                for row in rows:
                    value = getattr(row, column)
                    found[(value, filters) if extra else value].append(row)
            return found

        found = await reader.run(query)
        return [found.get(key, []) for key in keys]

    return DataLoader(load)


def _appointment_filters(filters: tuple[datetime | None, datetime | None, str | None]) -> list:
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


def ready(loader: DataLoader[K, V], key: K) -> V | Awaitable[V]:
    """The loaded value when the loader holds it already (api.prefetch), else its future."""
    future = loader.cache_map.get(key)
    settled = future is not None and future.done() and not future.cancelled()
    if future is not None and settled and future.exception() is None:
        return future.result()
    return loader.load(key)  # pending, or failed: awaiting it raises as before


@contextmanager
def plugin_failures() -> Iterator[None]:
    """A plugin that raises while a field resolves fails that field with PLUGIN_FAILED."""
    try:
        yield
    except PluginFailed as failed:
        raise PluginFailedError(failed) from None


class Loaders:
    """`<Model>By<Key>` loaders for one request."""

    def __init__(self, scope: Scope, reader: Reader) -> None:
        org = scope.organization_id
        self.client_by_id = _by_id(reader, scope, models.Client)
        self.provider_by_id = _by_id(reader, scope, models.Provider)
        self.payor_by_id = _by_id(reader, scope, models.Payor)
        self.coverage_by_id = _by_id(reader, scope, models.Coverage)
        self.enrollment_by_id = _by_id(reader, scope, models.Enrollment)
        self.appointment_by_id = _by_id(reader, scope, models.Appointment)
        self.assignment_by_id = _by_id(reader, scope, models.Assignment)
        self.credentials_by_provider = _grouped(
            reader, org, models.Credential, "provider_id", (models.Credential.type,)
        )
        self.enrollments_by_provider = _grouped(
            reader, org, models.Enrollment, "provider_id", (models.Enrollment.effective_from,)
        )
        self.coverages_by_client = _grouped(
            reader,
            org,
            models.Coverage,
            "client_id",
            (models.Coverage.priority, models.Coverage.effective_from),
        )
        self.assignments_by_client = _grouped(
            reader,
            org,
            models.Assignment,
            "client_id",
            (models.Assignment.service_line, models.Assignment.start_date),
        )
        self.assignments_by_provider = _grouped(
            reader,
            org,
            models.Assignment,
            "provider_id",
            (models.Assignment.start_date, models.Assignment.id),
            # a provider's caseload lists only the clients the caller may see
            visible=visibility.row_visible(scope, models.Assignment),
        )
        self.appointments_by_client = _grouped(
            reader,
            org,
            models.Appointment,
            "client_id",
            (models.Appointment.starts_at, models.Appointment.id),
            extra=_appointment_filters,
        )
        self.lines_by_client = self._lines_by_client(org, reader)
        self.findings_by_client = self._findings_by_client(scope, reader)
        self.changes_by_entity = self._changes_by_entity(scope, reader)
        self.verdict_by_appointment = self._verdict_by_appointment(scope, reader)

    @staticmethod
    def _lines_by_client(org: UUID, reader: Reader) -> DataLoader[UUID, list[str]]:
        """The service lines each client has appointments in."""

        async def load(ids: list[UUID]) -> list[list[str]]:
            async def query(session: AsyncSession) -> dict[UUID, list[str]]:
                a = models.Appointment
                rows = await session.execute(
                    select(a.client_id, a.service_line)
                    .distinct()
                    .where(a.organization_id == org, a.client_id.in_(ids))
                )
                found: dict[UUID, list[str]] = defaultdict(list)
                for client_id, line in rows:
                    found[client_id].append(line)
                return found

            found = await reader.run(query)
            return [sorted(found.get(i, [])) for i in ids]

        return DataLoader(load)

    @staticmethod
    def _findings_by_client(scope: Scope, reader: Reader) -> DataLoader[UUID, list[facts.Finding]]:
        async def load(ids: list[UUID]) -> list[list[facts.Finding]]:
            with plugin_failures():
                found = await reader.run(
                    lambda session: compliance.client_findings(session, scope, ids)
                )
            return [found[i] for i in ids]

        return DataLoader(load)

    @staticmethod
    def _changes_by_entity(
        scope: Scope, reader: Reader
    ) -> DataLoader[UUID, list[models.ChangeRecord]]:
        async def load(ids: list[UUID]) -> list[list[models.ChangeRecord]]:
            found = await reader.run(
                lambda session: audit.events_by_entity(session, scope.organization_id, ids)
            )
            return [found.get(i, []) for i in ids]

        return DataLoader(load)

    @staticmethod
    def _verdict_by_appointment(
        scope: Scope, reader: Reader
    ) -> DataLoader[UUID, sessions.Verdict | None]:
        async def load(ids: list[UUID]) -> list[sessions.Verdict | None]:
            async def query(session: AsyncSession) -> dict[UUID, sessions.Verdict]:
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

            with plugin_failures():
                found = await reader.run(query)
            return [found.get(i) for i in ids]

        return DataLoader(load)
