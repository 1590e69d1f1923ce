"""Who goes on the claim: the rendering provider of a client's line on a date (rule 1)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import loading, lookups, sessions
from cmgraph.services.outcome import NOT_FOUND, Refused, UserError
from cmgraph.services.scope import Scope


@dataclass(frozen=True)
class Question:
    client_id: UUID | None
    service_line: str
    date_of_service: date


async def answer(
    scope: Scope, questions: Sequence[Question], *, batch: bool = False
) -> list[sessions.Verdict]:
    """One verdict per question, in order; unknown clients or lines refuse the whole batch
    (a `batch` names the failing request in the error's field path)."""
    keys = []
    for index, q in enumerate(questions):
        where = ("requests", str(index)) if batch else ()
        try:
            line = lookups.service_line(scope.book, q.service_line)
        except Refused as refused:
            error = refused.errors[0]
            raise Refused(UserError((*where, "serviceLine"), error.code, error.message)) from None
        keys.append((q.client_id, line, q.date_of_service, where))
    async with scope.db.read() as session:
        wanted = {k[0] for k in keys if k[0] is not None}
        known = (
            set(
                await session.scalars(
                    select(models.Client.id).where(
                        models.Client.organization_id == scope.organization_id,
                        models.Client.id.in_(wanted),
                    )
                )
            )
            if wanted
            else set()
        )
        for client_id, _, _, where in keys:
            if client_id not in known:
                raise Refused(UserError((*where, "clientId"), NOT_FOUND, "No client with this id."))
        sessions_of = await _sessions_of(session, scope, [(c, li, d) for c, li, d, _ in keys])
        return await sessions.judge(
            session,
            scope,
            [
                sessions.SessionKey(c, line, day, sessions_of.get((c, line, day)))
                for c, line, day, _ in keys
                if c is not None
            ],
        )


async def _sessions_of(
    session: AsyncSession, scope: Scope, questions: list[tuple[UUID | None, str, date]]
) -> dict[tuple[UUID, str, date], facts.Appointment]:
    """The session a question is about, where that date has sessions by one provider only:
    then payors that bill the provider who delivered can be answered too."""
    ap = models.Appointment
    rows = await session.scalars(
        select(ap)
        .where(
            ap.organization_id == scope.organization_id,
            tuple_(ap.client_id, ap.service_line, ap.date_of_service).in_(
                [q for q in questions if q[0] is not None]
            ),
            ap.status != facts.AppointmentStatus.CANCELLED.value,
        )
        .order_by(ap.starts_at, ap.id)
    )
    by_question: dict[tuple[UUID, str, date], list[facts.Appointment]] = defaultdict(list)
    for row in rows:
        key = (row.client_id, row.service_line, row.date_of_service)
        by_question[key].append(loading.appointment_fact(row))
    return {
        key: found[0]
        for key, found in by_question.items()
        if len({a.provider_id for a in found}) == 1
    }
