"""Keeping the practice in sync: clients, providers, payors, coverages, enrollments and
appointments. Each write validates its input, writes, and records the change, in one
transaction; appointment writes come back with the findings of their session.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import changes, lookups, sessions
from cmgraph.services.outcome import INVALID_INPUT, KEEP, Outcome, refuse
from cmgraph.services.scope import Scope
from cmgraph.services.transaction import run_write

R = TypeVar("R", bound=models.Tenant)

# The NPI check digit is a Luhn digit over the number prefixed with 80840 (CMS).
NPI_PREFIX = "80840"


def _name(value: str, field: str) -> str:
    name = lookups.text(value, 100, field)
    if name is None:
        raise refuse(INVALID_INPUT, "A name cannot be empty.", field)
    return name


def valid_npi(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and luhn.is_valid(NPI_PREFIX + npi)


def _npi(value: str, field: str = "npi") -> str:
    value = value.strip()
    if not valid_npi(value):
        raise refuse(
            INVALID_INPUT, f"{value!r} is not a valid NPI (10 digits, check digit).", field
        )
    return value


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise refuse(
            INVALID_INPUT, "A date-time needs an offset (e.g. 2026-03-08T09:00-05:00).", field
        )
    return value


async def _unique(
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


def _created(
    session: AsyncSession, scope: Scope, operation: str, row: models.Tenant, **extra: Any
) -> None:
    changes.record_by(session, scope, operation, row, None, changes.snapshot(row, **extra))


def _updated(
    session: AsyncSession,
    scope: Scope,
    operation: str,
    row: models.Tenant,
    before: dict[str, Any],
    **extra: Any,
) -> None:
    changes.record_by(session, scope, operation, row, before, changes.snapshot(row, **extra))


def _apply(row: models.Base, **fields: Any) -> None:
    """Set the fields that were given; KEEP leaves a field as it is."""
    for name, value in fields.items():
        if value is not KEEP:
            setattr(row, name, value)


def _required(value: Any, field: str) -> None:
    if value is None:
        raise refuse(INVALID_INPUT, "This field cannot be cleared.", field)


# --- clients ---------------------------------------------------------------------------


def _external_id(value: str | None) -> str | None:
    """An EHR's id of the client; blank means none (so blanks never collide)."""
    return lookups.text(value, 100, "externalId")


def _birth_date(scope: Scope, value: date | None) -> None:
    if value is not None and value > scope.today():
        raise refuse(INVALID_INPUT, "The date of birth is in the future.", "dateOfBirth")


async def create_client(
    scope: Scope,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    external_id: str | None,
) -> Outcome[models.Client]:
    external_id = _external_id(external_id)

    async def use_case(session: AsyncSession) -> Outcome[models.Client]:
        _birth_date(scope, date_of_birth)
        await _unique(
            session, models.Client, scope.organization_id, "external_id", external_id, "externalId"
        )
        row = models.Client(
            organization_id=scope.organization_id,
            first_name=_name(first_name, "firstName"),
            last_name=_name(last_name, "lastName"),
            date_of_birth=date_of_birth,
            external_id=external_id,
            created_at=models.utcnow(),
        )
        session.add(row)
        await session.flush()
        _created(session, scope, "createClient", row)
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def update_client(
    scope: Scope,
    id: UUID | None,
    first_name: Any = KEEP,
    last_name: Any = KEEP,
    date_of_birth: Any = KEEP,
    external_id: Any = KEEP,
) -> Outcome[models.Client]:
    async def use_case(session: AsyncSession) -> Outcome[models.Client]:
        row = await lookups.get(session, models.Client, scope.organization_id, id, "id", lock=True)
        before = changes.snapshot(row)
        for value, field in ((first_name, "firstName"), (last_name, "lastName")):
            _required(value, field)
        if date_of_birth is not KEEP:
            _birth_date(scope, date_of_birth)
        if external_id is not KEEP:
            external = _external_id(external_id)
            await _unique(
                session,
                models.Client,
                scope.organization_id,
                "external_id",
                external,
                "externalId",
                row.id,
            )
        _apply(
            row,
            first_name=first_name if first_name is KEEP else _name(first_name, "firstName"),
            last_name=last_name if last_name is KEEP else _name(last_name, "lastName"),
            date_of_birth=date_of_birth,
            external_id=external_id if external_id is KEEP else _external_id(external_id),
        )
        await session.flush()
        _updated(session, scope, "updateClient", row, before)
        return Outcome(value=row)

    return await run_write(scope, use_case)


# --- providers -------------------------------------------------------------------------


def _credentials(
    scope: Scope, provider_id: UUID, given: Sequence[facts.Credential]
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
    scope: Scope, first_name: str, last_name: str, npi: str, credentials: Sequence[facts.Credential]
) -> Outcome[models.Provider]:
    async def use_case(session: AsyncSession) -> Outcome[models.Provider]:
        checked_npi = _npi(npi)
        await _unique(session, models.Provider, scope.organization_id, "npi", checked_npi, "npi")
        row = models.Provider(
            organization_id=scope.organization_id,
            first_name=_name(first_name, "firstName"),
            last_name=_name(last_name, "lastName"),
            npi=checked_npi,
            active=True,
            created_at=models.utcnow(),
        )
        session.add(row)
        await session.flush()
        credential_rows = _credentials(scope, row.id, credentials)
        session.add_all(credential_rows)
        await session.flush()
        _created(
            session,
            scope,
            "createProvider",
            row,
            credentials=[changes.snapshot(c) for c in credential_rows],
        )
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def update_provider(
    scope: Scope,
    id: UUID | None,
    first_name: Any = KEEP,
    last_name: Any = KEEP,
    npi: Any = KEEP,
    active: Any = KEEP,
    credentials: Any = KEEP,
) -> Outcome[models.Provider]:
    """`credentials`, when given, replace the provider's list."""

    async def use_case(session: AsyncSession) -> Outcome[models.Provider]:
        org = scope.organization_id
        row = await lookups.get(session, models.Provider, org, id, "id", lock=True)
        before = changes.snapshot(row, credentials=await credentials_of(session, org, row.id))
        for value, field in (
            (first_name, "firstName"),
            (last_name, "lastName"),
            (npi, "npi"),
            (active, "active"),
            (credentials, "credentials"),
        ):
            _required(value, field)
        if npi is not KEEP:
            await _unique(session, models.Provider, org, "npi", _npi(npi), "npi", row.id)
        _apply(
            row,
            first_name=first_name if first_name is KEEP else _name(first_name, "firstName"),
            last_name=last_name if last_name is KEEP else _name(last_name, "lastName"),
            npi=npi if npi is KEEP else _npi(npi),
            active=active,
        )
        if credentials is not KEEP:
            new_rows = _credentials(scope, row.id, credentials)
            await session.execute(
                delete(models.Credential).where(
                    models.Credential.organization_id == org,
                    models.Credential.provider_id == row.id,
                )
            )
            session.add_all(new_rows)
        await session.flush()
        _updated(
            session,
            scope,
            "updateProvider",
            row,
            before,
            credentials=await credentials_of(session, org, row.id),
        )
        return Outcome(value=row)

    return await run_write(scope, use_case)


# --- payors ----------------------------------------------------------------------------


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
        _created(session, scope, "createPayor", row)
        return Outcome(value=row)

    return await run_write(scope, use_case)


# --- coverages and enrollments ---------------------------------------------------------


async def add_coverage(
    scope: Scope,
    client_id: UUID | None,
    payor_id: UUID | None,
    member_id: str | None,
    priority: int,
    effective_from: date,
    effective_to: date | None,
) -> Outcome[models.Coverage]:
    async def use_case(session: AsyncSession) -> Outcome[models.Coverage]:
        org = scope.organization_id
        client = await lookups.get(session, models.Client, org, client_id, "clientId", lock=True)
        payor = await lookups.get(session, models.Payor, org, payor_id, "payorId")
        if priority < 1:
            raise refuse(INVALID_INPUT, "Priority starts at 1 (primary).", "priority")
        lookups.period(effective_from, effective_to, "effectiveTo")
        row = models.Coverage(
            organization_id=org,
            client_id=client.id,
            payor_id=payor.id,
            member_id=lookups.text(member_id, 64, "memberId"),
            priority=priority,
            effective_from=effective_from,
            effective_to=effective_to,
        )
        session.add(row)
        await session.flush()
        _created(session, scope, "addCoverage", row)
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def update_coverage(
    scope: Scope,
    id: UUID | None,
    member_id: Any = KEEP,
    priority: Any = KEEP,
    effective_from: Any = KEEP,
    effective_to: Any = KEEP,
) -> Outcome[models.Coverage]:
    async def use_case(session: AsyncSession) -> Outcome[models.Coverage]:
        row = await lookups.get(
            session, models.Coverage, scope.organization_id, id, "id", lock=True
        )
        before = changes.snapshot(row)
        _required(priority, "priority")
        _required(effective_from, "effectiveFrom")
        if priority is not KEEP and priority < 1:
            raise refuse(INVALID_INPUT, "Priority starts at 1 (primary).", "priority")
        _apply(
            row,
            member_id=member_id if member_id is KEEP else lookups.text(member_id, 64, "memberId"),
            priority=priority,
            effective_from=effective_from,
            effective_to=effective_to,
        )
        lookups.period(row.effective_from, row.effective_to, "effectiveTo")
        await session.flush()
        _updated(session, scope, "updateCoverage", row, before)
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def record_enrollment(
    scope: Scope,
    provider_id: UUID | None,
    payor_id: UUID | None,
    status: facts.EnrollmentStatus,
    effective_from: date | None,
    effective_to: date | None,
) -> Outcome[models.Enrollment]:
    async def use_case(session: AsyncSession) -> Outcome[models.Enrollment]:
        org = scope.organization_id
        provider = await lookups.get(
            session, models.Provider, org, provider_id, "providerId", lock=True
        )
        payor = await lookups.get(session, models.Payor, org, payor_id, "payorId")
        lookups.period(effective_from, effective_to, "effectiveTo")
        row = models.Enrollment(
            organization_id=org,
            provider_id=provider.id,
            payor_id=payor.id,
            status=status.value,
            effective_from=effective_from,
            effective_to=effective_to,
        )
        session.add(row)
        await session.flush()
        _created(session, scope, "recordEnrollment", row)
        return Outcome(value=row)

    return await run_write(scope, use_case)


async def update_enrollment(
    scope: Scope,
    id: UUID | None,
    status: Any = KEEP,
    effective_from: Any = KEEP,
    effective_to: Any = KEEP,
) -> Outcome[models.Enrollment]:
    async def use_case(session: AsyncSession) -> Outcome[models.Enrollment]:
        row = await lookups.get(
            session, models.Enrollment, scope.organization_id, id, "id", lock=True
        )
        before = changes.snapshot(row)
        _required(status, "status")
        _apply(
            row,
            status=status if status is KEEP else status.value,
            effective_from=effective_from,
            effective_to=effective_to,
        )
        lookups.period(row.effective_from, row.effective_to, "effectiveTo")
        await session.flush()
        _updated(session, scope, "updateEnrollment", row, before)
        return Outcome(value=row)

    return await run_write(scope, use_case)


# --- appointments ----------------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentChange:
    status: Any = KEEP
    provider_id: Any = KEEP
    starts_at: Any = KEEP
    ends_at: Any = KEEP
    service_code: Any = KEEP
    telehealth: Any = KEEP


# CPT (five digits, or four and F/T/U) and HCPCS Level II (a letter and four digits).
SERVICE_CODE = re.compile(r"^(\d{5}|\d{4}[FTU]|[A-V]\d{4})$")


def _service_code(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if not SERVICE_CODE.match(code):
        raise refuse(
            INVALID_INPUT,
            f"{value!r} is not a CPT or HCPCS code (e.g. 97153, G0515).",
            "serviceCode",
        )
    return code


async def _with_findings(
    session: AsyncSession, scope: Scope, row: models.Appointment
) -> Outcome[models.Appointment]:
    """The session's findings never block scheduling; they come back as warnings."""
    if row.status == facts.AppointmentStatus.CANCELLED.value:
        return Outcome(value=row)
    (verdict,) = await sessions.judge(session, scope, [sessions.key_of(row)])
    return Outcome(value=row, warnings=tuple(verdict.findings))


def _times(scope: Scope, row: models.Appointment) -> None:
    if row.ends_at <= row.starts_at:
        raise refuse(INVALID_INPUT, "The appointment ends before it starts.", "endsAt")
    row.date_of_service = scope.clock.date_of(row.starts_at)


async def schedule_appointment(
    scope: Scope,
    client_id: UUID | None,
    service_line: str,
    provider_id: UUID | None,
    starts_at: datetime,
    ends_at: datetime,
    service_code: str | None = None,
    telehealth: bool = False,
) -> Outcome[models.Appointment]:
    async def use_case(session: AsyncSession) -> Outcome[models.Appointment]:
        org = scope.organization_id
        line = lookups.service_line(scope.book, service_line)
        code = _service_code(service_code)
        client = await lookups.get(session, models.Client, org, client_id, "clientId", lock=True)
        provider = await lookups.get(session, models.Provider, org, provider_id, "providerId")
        row = models.Appointment(
            organization_id=org,
            client_id=client.id,
            service_line=line,
            provider_id=provider.id,
            starts_at=_aware(starts_at, "startsAt"),
            ends_at=_aware(ends_at, "endsAt"),
            status=facts.AppointmentStatus.SCHEDULED.value,
            service_code=code,
            telehealth=telehealth,
            created_at=models.utcnow(),
        )
        _times(scope, row)
        session.add(row)
        await session.flush()
        _created(session, scope, "scheduleAppointment", row)
        return await _with_findings(session, scope, row)

    return await run_write(scope, use_case)


async def update_appointment(
    scope: Scope, id: UUID | None, change: AppointmentChange
) -> Outcome[models.Appointment]:
    async def use_case(session: AsyncSession) -> Outcome[models.Appointment]:
        org = scope.organization_id
        row = await lookups.get(session, models.Appointment, org, id, "id")
        await lookups.get(session, models.Client, org, row.client_id, "id", lock=True)
        await session.refresh(row)  # as it is now that writers of this client wait for us
        before = changes.snapshot(row)
        for value, field in (
            (change.status, "status"),
            (change.provider_id, "providerId"),
            (change.starts_at, "startsAt"),
            (change.ends_at, "endsAt"),
            (change.telehealth, "telehealth"),
        ):
            _required(value, field)
        if change.provider_id is not KEEP:
            await lookups.get(session, models.Provider, org, change.provider_id, "providerId")
        _apply(
            row,
            status=change.status if change.status is KEEP else change.status.value,
            provider_id=change.provider_id,
            starts_at=change.starts_at
            if change.starts_at is KEEP
            else _aware(change.starts_at, "startsAt"),
            ends_at=change.ends_at if change.ends_at is KEEP else _aware(change.ends_at, "endsAt"),
            service_code=change.service_code
            if change.service_code is KEEP
            else _service_code(change.service_code),
            telehealth=change.telehealth,
        )
        _times(scope, row)
        await session.flush()
        _updated(session, scope, "updateAppointment", row, before)
        return await _with_findings(session, scope, row)

    return await run_write(scope, use_case)
