"""Appointments: schedule and update; a write comes back with its session's findings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import bulk, ids, models
from cmgraph.services import changes, editing, lookups, sessions
from cmgraph.services.outcome import INVALID_INPUT, KEEP, Outcome, Update, refuse
from cmgraph.services.scope import TenantScope
from cmgraph.services.transaction import run_write


@dataclass(frozen=True)
class AppointmentChange:
    status: Update[facts.AppointmentStatus | None] = KEEP
    provider_id: Update[UUID | None] = KEEP
    starts_at: Update[datetime | None] = KEEP
    ends_at: Update[datetime | None] = KEEP
    service_code: Update[str | None] = KEEP
    telehealth: Update[bool | None] = KEEP


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
    session: AsyncSession, scope: TenantScope, row: models.Appointment
) -> Outcome[models.Appointment]:
    """The session's findings never block scheduling; they come back as warnings."""
    if row.status == facts.AppointmentStatus.CANCELLED.value:
        return Outcome(value=row)
    (verdict,) = await sessions.judge(session, scope, [sessions.key_of(row)])
    return Outcome(value=row, warnings=tuple(verdict.findings))


def _times(scope: TenantScope, row: models.Appointment) -> None:
    if row.ends_at <= row.starts_at:
        raise refuse(INVALID_INPUT, "The appointment ends before it starts.", "endsAt")
    row.date_of_service = scope.clock.date_of(row.starts_at)


@dataclass(frozen=True)
class NewAppointment:
    """An appointment to schedule; a bulk import may give it a status already (a session
    of the past is imported as it ended)."""

    client_id: UUID
    service_line: str
    provider_id: UUID
    starts_at: datetime
    ends_at: datetime
    service_code: str | None = None
    telehealth: bool = False
    status: facts.AppointmentStatus = facts.AppointmentStatus.SCHEDULED


def new_values(scope: TenantScope, new: NewAppointment) -> dict[str, Any]:
    """The columns of an appointment to schedule, every one of them (its id made now), its
    input checked; raises Refused. The caller has found its client and provider in the
    organization.

    The id is time-ordered (db.ids), as change records' and events' are: appointments are
    the most numerous rows (a bulk import writes a hundred thousand)."""
    service_line = lookups.service_line(scope.book, new.service_line)
    starts_at = editing.aware(new.starts_at, "startsAt")
    ends_at = editing.aware(new.ends_at, "endsAt")
    service_code = _service_code(new.service_code)
    if ends_at <= starts_at:
        raise refuse(INVALID_INPUT, "The appointment ends before it starts.", "endsAt")
    values = {
        "organization_id": scope.organization_id,
        "id": ids.time_ordered(),
        "client_id": new.client_id,
        "service_line": service_line,
        "provider_id": new.provider_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "status": new.status.value,
        "service_code": service_code,
        "telehealth": new.telehealth,
        "created_at": models.utcnow(),
        "date_of_service": scope.clock.date_of(starts_at),
    }
    return values


def new_row(scope: TenantScope, new: NewAppointment) -> models.Appointment:
    """The row of an appointment to schedule (new_values), to add to the session."""
    return models.Appointment(**new_values(scope, new))


async def schedule_appointment(
    scope: TenantScope,
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
        lookups.service_line(scope.book, service_line)
        _service_code(service_code)
        client = await lookups.get(session, models.Client, org, client_id, "clientId", lock=True)
        provider = await lookups.get(session, models.Provider, org, provider_id, "providerId")
        row = new_row(
            scope,
            NewAppointment(
                client.id, service_line, provider.id, starts_at, ends_at, service_code, telehealth
            ),
        )
        session.add(row)
        await session.flush()
        editing.record_created(session, scope, "scheduleAppointment", row)
        return await _with_findings(session, scope, row)

    return await run_write(scope, use_case)


async def schedule_checked(
    scope: TenantScope, rows: Sequence[dict[str, Any]]
) -> Outcome[list[models.Appointment]]:
    """Schedule many appointments at once (a bulk import): rows of columns made by
    new_values, their clients and providers checked in two queries, inserted together, each
    with its change record (operation scheduleAppointment). Their sessions' findings, which
    never block scheduling, are not computed here: the compliance report and the client
    show them.

    The rows go in as their columns, at once (db.bulk), and stay out of the session: a
    practice's history is most of an import's rows, and the unit of work costs several
    times a plain insert."""

    async def use_case(session: AsyncSession) -> Outcome[list[models.Appointment]]:
        org = scope.organization_id
        await lookups.all_exist(
            session, models.Client, org, {r["client_id"] for r in rows}, "clientId"
        )
        await lookups.all_exist(
            session, models.Provider, org, {r["provider_id"] for r in rows}, "providerId"
        )
        table = models.Appointment.__table__
        await session.run_sync(lambda s: bulk.insert_rows(s.connection(), table, rows))
        made = [bulk.mapped(models.Appointment, r) for r in rows]
        changes.record_created_rows(
            session, scope, "scheduleAppointment", models.Appointment, rows, made
        )
        return Outcome(value=made)

    return await run_write(scope, use_case)


async def update_appointment(
    scope: TenantScope, id: UUID | None, change: AppointmentChange
) -> Outcome[models.Appointment]:
    async def use_case(session: AsyncSession) -> Outcome[models.Appointment]:
        org = scope.organization_id
        row = await lookups.get(session, models.Appointment, org, id, "id")
        await lookups.get(session, models.Client, org, row.client_id, "id", lock=True)
        await session.refresh(row)  # as it is now that writers of this client wait for us
        before = changes.snapshot(row)
        status = editing.not_cleared(change.status, "status")
        provider = editing.not_cleared(change.provider_id, "providerId")
        starts = editing.not_cleared(change.starts_at, "startsAt")
        ends = editing.not_cleared(change.ends_at, "endsAt")
        telehealth = editing.not_cleared(change.telehealth, "telehealth")
        if provider is not KEEP:
            await lookups.get(session, models.Provider, org, provider, "providerId")
        editing.apply_given(
            row,
            status=status if status is KEEP else status.value,
            provider_id=provider,
            starts_at=starts if starts is KEEP else editing.aware(starts, "startsAt"),
            ends_at=ends if ends is KEEP else editing.aware(ends, "endsAt"),
            service_code=change.service_code
            if change.service_code is KEEP
            else _service_code(change.service_code),
            telehealth=telehealth,
        )
        _times(scope, row)
        await session.flush()
        editing.record_updated(session, scope, "updateAppointment", row, before)
        return await _with_findings(session, scope, row)

    return await run_write(scope, use_case)
