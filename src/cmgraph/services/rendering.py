"""Who goes on the claim: the rendering provider of a client's line on a date (rule 1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import loading, lookups, pacing, sessions
from cmgraph.services.inline_table import any_of
from cmgraph.services.outcome import INVALID_INPUT, NOT_FOUND, Refused, UserError
from cmgraph.services.scope import TenantScope

Key = tuple[UUID, str, date]


@dataclass(frozen=True)
class Question:
    """A client's line on a date; `appointment_id` names the session when the caller knows
    it (`appointment_given` tells an unknown or malformed id apart from none)."""

    client_id: UUID | None
    service_line: str
    date_of_service: date
    appointment_id: UUID | None = None
    appointment_given: bool = False


def _refuse(where: tuple[str, ...], field: str, code: str, message: str) -> Refused:
    return Refused(UserError((*where, field), code, message))


async def answer(
    session: AsyncSession,
    scope: TenantScope,
    questions: Sequence[Question],
    *,
    batch: bool = False,
) -> list[sessions.Verdict]:
    """One verdict per question, in order; unknown clients, lines or sessions refuse the
    whole batch (a `batch` names the failing request in the error's field path). On the
    caller's session: the request's reader, on whose connection the answers' assignments
    and providers are read too (a session of its own was a second checkout, ping, BEGIN and
    ROLLBACK per request)."""
    lines = []
    pacer = pacing.Pacer()  # a batch asks up to a thousand questions
    for index, q in enumerate(questions):
        if pacer.due():
            await pacer.turn()
        try:
            lines.append(lookups.service_line(scope.book, q.service_line))
        except Refused as refused:
            where = ("requests", str(index)) if batch else ()
            error = refused.errors[0]
            raise _refuse(where, "serviceLine", error.code, error.message) from None
    known = await _known_clients(session, scope, {q.client_id for q in questions})
    named = await _named_sessions(session, scope, questions)
    keys = []
    for index, (q, line) in enumerate(zip(questions, lines, strict=True)):
        if pacer.due():
            await pacer.turn()
        where = ("requests", str(index)) if batch else ()
        if q.client_id is None or q.client_id not in known:
            raise _refuse(where, "clientId", NOT_FOUND, "No client with this id.")
        key = (q.client_id, line, q.date_of_service)
        appointment = named.get(q.appointment_id) if q.appointment_id else None
        if q.appointment_given and appointment is None:
            raise _refuse(where, "appointmentId", NOT_FOUND, "No appointment with this id.")
        if appointment is not None and _key_of(appointment, scope) != key:
            raise _refuse(
                where,
                "appointmentId",
                INVALID_INPUT,
                "That appointment is not of this client, service line and date of service.",
            )
        keys.append((key, appointment))
    days = await sessions.day_sessions(
        session, scope.organization_id, {(client, day) for (client, _, day), _ in keys}
    )
    asked = []
    async for chunk in pacer.chunks(keys):
        asked += [
            sessions.SessionKey(*key, appointment or _single_deliverer_session(days, key))
            for key, appointment in chunk
        ]
    return await sessions.judge(session, scope, asked, days=days)


def _key_of(appointment: facts.Appointment, scope: TenantScope) -> Key:
    day = scope.clock.date_of(appointment.starts_at)
    return (appointment.client_id, appointment.service_line, day)


async def _known_clients(
    session: AsyncSession, scope: TenantScope, wanted: set[UUID | None]
) -> set[UUID]:
    ids = {i for i in wanted if i is not None}
    if not ids:
        return set()
    rows = await session.scalars(
        select(models.Client.id).where(
            models.Client.organization_id == scope.organization_id,
            any_of(session, "ids", models.Client.id, ids),
        )
    )
    return set(rows.all())


async def _named_sessions(
    session: AsyncSession, scope: TenantScope, questions: Sequence[Question]
) -> dict[UUID, facts.Appointment]:
    ids = {q.appointment_id for q in questions if q.appointment_id is not None}
    if not ids:
        return {}
    ap = models.Appointment
    rows = await session.scalars(
        select(ap).where(ap.organization_id == scope.organization_id, ap.id.in_(ids))
    )
    return {row.id: loading.appointment_fact(row) for row in rows}


def _single_deliverer_session(days: sessions.Days, key: Key) -> facts.Appointment | None:
    """The session a question without one is about, where that date has sessions of the line
    by one provider only: then payors that bill the provider who delivered can be answered
    too."""
    client, line, day = key
    found = [a for a in days.get((client, day), ()) if a.service_line == line]
    return found[0] if found and len({a.provider_id for a in found}) == 1 else None
