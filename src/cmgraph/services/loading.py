"""Load facts for the rules, set-based: one query per kind of fact, whatever the batch size."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Protocol, TypeVar, TypeVarTuple
from uuid import UUID

from sqlalchemy import CursorResult, Row, Select, Text, Uuid, and_, select, tuple_, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import pacing
from cmgraph.services.inline_table import any_of, inline_table

AnyRow = Row[*tuple[Any, ...]]
Columns = TypeVarTuple("Columns")
R = TypeVar("R")
F = TypeVar("F")


async def rows_of(session: AsyncSession, statement: Select[*Columns]) -> CursorResult[*Columns]:
    """Core rows of a statement of columns, on the session's connection: the ORM's steps
    around a result (its compile state, a loading pass per row) cost a batch of 500
    rendering answers about a tenth of its time, for rows that are columns anyway. Pending
    changes are flushed first, as the ORM's autoflush would (a write judges what it wrote)."""
    if session.autoflush:
        await session.flush()
    connection = await session.connection()
    return await connection.execute(statement)


async def facts_of(rows: Iterable[R], make: Callable[[R], F]) -> list[F]:
    """A fact per row, made a chunk at a time (pacing): a batch's rows are thousands."""
    found: list[F] = []
    async for chunk in pacing.Pacer().chunks(rows):
        found += map(make, chunk)
    return found


# Facts are read as Core rows of the columns they need (the *_FACT tuples below): a batch
# reads thousands of enrollments and coverages, and ORM objects cost three times as much.
# Facts made per row are facts.assembled, and statuses looked up by value (calling an enum
# costs more than the rest of the fact; it still answers what is not a known value). The
# `*_of_row` makers take a Core row of their *_FACT tuple apart by position: a Row looks
# each attribute up by name, and that was a third of a batch's time making facts.
ENROLLMENT_STATUS = {s.value: s for s in facts.EnrollmentStatus}
APPOINTMENT_STATUS = {s.value: s for s in facts.AppointmentStatus}


def payor_fact(row: models.Payor | AnyRow) -> facts.Payor:
    return payor_of(row.id, row.name, row.kind, row.plugins, row.settings)


def payor_of(
    id_: UUID, name: str, kind: str, plugins: list[str] | None, settings: dict[str, Any] | None
) -> facts.Payor:
    return facts.Payor(
        id=id_,
        name=name,
        kind=facts.PayorKind(kind),
        plugins=tuple(plugins or ()),
        settings=MappingProxyType(dict(settings or {})),
    )


_cr = models.Credential
CREDENTIAL_FACT = (_cr.provider_id, _cr.type, _cr.number, _cr.state, _cr.issued_on, _cr.expires_on)


def credential_fact(row: models.Credential | AnyRow) -> facts.Credential:
    return facts.assembled(
        facts.Credential,
        type=row.type,
        number=row.number,
        state=row.state,
        issued_on=row.issued_on,
        expires_on=row.expires_on,
    )


def credential_of_row(row: AnyRow) -> tuple[UUID, facts.Credential]:
    """The provider and credential_fact of a Core row of CREDENTIAL_FACT."""
    provider_id, type_, number, state, issued_on, expires_on = row
    return provider_id, facts.assembled(
        facts.Credential,
        type=type_,
        number=number,
        state=state,
        issued_on=issued_on,
        expires_on=expires_on,
    )


_en = models.Enrollment
ENROLLMENT_FACT = (
    _en.provider_id,
    _en.payor_id,
    _en.status,
    _en.effective_from,
    _en.effective_to,
    _en.applied_on,
)


def enrollment_fact(row: models.Enrollment | AnyRow) -> facts.Enrollment:
    return facts.assembled(
        facts.Enrollment,
        provider_id=row.provider_id,
        payor_id=row.payor_id,
        status=ENROLLMENT_STATUS.get(row.status) or facts.EnrollmentStatus(row.status),
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        applied_on=row.applied_on,
    )


def enrollment_of_row(row: AnyRow) -> facts.Enrollment:
    """enrollment_fact of a Core row of ENROLLMENT_FACT."""
    provider_id, payor_id, status, effective_from, effective_to, applied_on = row
    return facts.assembled(
        facts.Enrollment,
        provider_id=provider_id,
        payor_id=payor_id,
        status=ENROLLMENT_STATUS.get(status) or facts.EnrollmentStatus(status),
        effective_from=effective_from,
        effective_to=effective_to,
        applied_on=applied_on,
    )


class AppointmentRow(Protocol):
    """An appointment as the rules need it: an ORM row, or a Core row of APPOINTMENT_FACT."""

    id: UUID
    client_id: UUID
    service_line: str
    provider_id: UUID
    starts_at: datetime
    ends_at: datetime
    status: str
    service_code: str | None
    telehealth: bool
    date_of_service: date


_ap = models.Appointment
APPOINTMENT_FACT = (
    _ap.id,
    _ap.client_id,
    _ap.service_line,
    _ap.provider_id,
    _ap.starts_at,
    _ap.ends_at,
    _ap.status,
    _ap.service_code,
    _ap.telehealth,
    _ap.date_of_service,
)
"""The columns of an appointment fact: reading these, not ORM rows, is what makes the
compliance report's hundred thousand sessions affordable."""


def appointment_fact(row: AppointmentRow) -> facts.Appointment:
    return facts.assembled(
        facts.Appointment,
        id=row.id,
        client_id=row.client_id,
        service_line=row.service_line,
        provider_id=row.provider_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        status=APPOINTMENT_STATUS.get(row.status) or facts.AppointmentStatus(row.status),
        service_code=row.service_code,
        telehealth=row.telehealth,
    )


def appointment_of_row(row: AnyRow) -> tuple[date, facts.Appointment]:
    """The date of service and appointment_fact of a Core row of APPOINTMENT_FACT."""
    id_, client_id, line, provider_id, starts_at, ends_at, status, code, telehealth, day = row
    return day, facts.assembled(
        facts.Appointment,
        id=id_,
        client_id=client_id,
        service_line=line,
        provider_id=provider_id,
        starts_at=starts_at,
        ends_at=ends_at,
        status=APPOINTMENT_STATUS.get(status) or facts.AppointmentStatus(status),
        service_code=code,
        telehealth=telehealth,
    )


_as = models.Assignment
ASSIGNMENT_FACT = (
    _as.id,
    _as.client_id,
    _as.service_line,
    _as.provider_id,
    _as.start_date,
    _as.end_date,
)


def assignment_fact(row: models.Assignment | AnyRow) -> facts.Assignment:
    return facts.assembled(
        facts.Assignment,
        id=row.id,
        client_id=row.client_id,
        service_line=row.service_line,
        provider_id=row.provider_id,
        start_date=row.start_date,
        end_date=row.end_date,
    )


def assignment_of_row(row: AnyRow) -> facts.Assignment:
    """assignment_fact of a Core row of ASSIGNMENT_FACT."""
    id_, client_id, line, provider_id, start_date, end_date = row
    return facts.assembled(
        facts.Assignment,
        id=id_,
        client_id=client_id,
        service_line=line,
        provider_id=provider_id,
        start_date=start_date,
        end_date=end_date,
    )


def display_name(row: models.Provider | models.Client | AnyRow) -> str:
    return f"{row.first_name} {row.last_name}"


async def providers(
    session: AsyncSession, org: UUID, ids: Collection[UUID]
) -> dict[UUID, facts.Provider]:
    """Providers with their credentials, in two queries."""
    if not ids:
        return {}
    p = models.Provider
    rows = await rows_of(
        session,
        select(p.id, p.first_name, p.last_name, p.npi, p.active).where(
            p.organization_id == org, any_of(session, "ids", p.id, ids)
        ),
    )
    credentials: dict[UUID, list[facts.Credential]] = defaultdict(list)
    async for chunk in pacing.Pacer().chunks(
        await rows_of(
            session,
            select(*CREDENTIAL_FACT).where(
                _cr.organization_id == org, any_of(session, "ids", _cr.provider_id, ids)
            ),
        )
    ):
        for provider_id, credential in map(credential_of_row, chunk):
            credentials[provider_id].append(credential)
    return {
        p.id: facts.Provider(
            id=p.id,
            display_name=display_name(p),
            npi=p.npi,
            active=p.active,
            credentials=tuple(credentials[p.id]),
        )
        for p in rows
    }


async def coverages(
    session: AsyncSession, org: UUID, client_ids: Collection[UUID]
) -> dict[UUID, list[facts.Coverage]]:
    """Every coverage of the clients (all dates), with its payor, in one query."""
    found: dict[UUID, list[facts.Coverage]] = defaultdict(list)
    if not client_ids:
        return found
    cv, py = models.Coverage, models.Payor
    as_text = session.get_bind().dialect.name == "sqlite"  # see _as_text
    rows = await rows_of(
        session,
        select(
            cv.client_id,
            cv.priority,
            cv.effective_from,
            cv.effective_to,
            py.id,
            py.name,
            py.kind,
            *(_as_text(c) if as_text else c for c in (py.plugins, py.settings)),
        )
        .join(py, (py.organization_id == cv.organization_id) & (py.id == cv.payor_id))
        .where(cv.organization_id == org, any_of(session, "ids", cv.client_id, client_ids)),
    )
    payors: dict[UUID, facts.Payor] = {}  # a few payors, shared by thousands of coverages
    async for chunk in pacing.Pacer().chunks(rows):
        for client_id, priority, start, end, payor_id, name, kind, plugins, settings in chunk:
            payor = payors.get(payor_id)
            if payor is None:
                if as_text:
                    plugins, settings = _json(plugins), _json(settings)
                payor = payors[payor_id] = payor_of(payor_id, name, kind, plugins, settings)
            found[client_id].append(
                facts.assembled(
                    facts.Coverage,
                    payor=payor,
                    priority=priority,
                    effective_from=start,
                    effective_to=end,
                )
            )
    return found


def _as_text(column: Any) -> Any:
    """A JSON column as SQLite stores it, its text, to parse once per value where many rows
    repeat it (a payor's, on every coverage's row): SQLAlchemy's JSON type parses each row's.
    PostgreSQL's driver decodes JSON itself: there columns are read as they are."""
    return type_coerce(column, Text)


def _json(stored: str | None) -> Any:
    """A JSON column's value from its text (_as_text), as SQLAlchemy's JSON type reads it."""
    return None if stored is None else json.loads(stored)


async def enrollments(
    session: AsyncSession, org: UUID, provider_ids: Collection[UUID]
) -> list[facts.Enrollment]:
    if not provider_ids:
        return []
    rows = await rows_of(
        session,
        select(*ENROLLMENT_FACT).where(
            _en.organization_id == org, _en.provider_id.in_(provider_ids)
        ),
    )
    return await facts_of(rows, enrollment_of_row)


async def enrollments_of(
    session: AsyncSession, org: UUID, pairs: Collection[tuple[UUID, UUID]]
) -> list[facts.Enrollment]:
    """The enrollments of these (provider, payor) pairs: joined to the pairs themselves,
    so a batch reads what its verdicts ask (a provider is enrolled with every payor of
    the practice, and a batch's sessions reach few of them per provider)."""
    if not pairs:
        return []
    wanted = inline_table(
        session, "wanted", (("provider_id", Uuid()), ("payor_id", Uuid())), set(pairs)
    )
    rows = await rows_of(
        session,
        select(*ENROLLMENT_FACT)
        .join(
            wanted,
            and_(_en.provider_id == wanted.c.provider_id, _en.payor_id == wanted.c.payor_id),
        )
        .where(_en.organization_id == org),
    )
    return await facts_of(rows, enrollment_of_row)


async def appointments_of(
    session: AsyncSession,
    org: UUID,
    pairs: Collection[tuple[UUID, str]],
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[facts.Appointment]:
    """Appointments of (client, line) pairs, optionally within [since, until)."""
    if not pairs:
        return []
    query = select(models.Appointment).where(
        models.Appointment.organization_id == org,
        tuple_(models.Appointment.client_id, models.Appointment.service_line).in_(list(pairs)),
    )
    if since is not None:
        query = query.where(models.Appointment.starts_at >= since)
    if until is not None:
        query = query.where(models.Appointment.starts_at < until)
    return [appointment_fact(a) for a in await session.scalars(query)]


async def assignments_of(
    session: AsyncSession, org: UUID, pairs: Collection[tuple[UUID, str]]
) -> list[facts.Assignment]:
    """The assignments of these (client, line) pairs. Asked by client and filtered here: a
    list of thousands of row values made PostgreSQL spend 1.6 s planning it."""
    if not pairs:
        return []
    wanted = set(pairs)
    rows = await rows_of(
        session,
        select(*ASSIGNMENT_FACT).where(
            _as.organization_id == org,
            any_of(session, "ids", _as.client_id, {client for client, _ in wanted}),
        ),
    )
    found = await facts_of(rows, assignment_of_row)
    return [a for a in found if (a.client_id, a.service_line) in wanted]
