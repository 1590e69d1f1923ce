"""A batch of rendering questions answers each one as it would be answered alone: the batch
loads its facts together (the sessions of every (client, date) pair in one join), and
nothing of one question may leak into another's answer."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date
from typing import Any

import builders as b
import pytest
from counting import seed
from sqlalchemy import select

from cmgraph.api.ids import decode_as, encode
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.facts import SessionCheck
from cmgraph.plugins import RuleBook
from cmgraph.services import pacing
from tests.support import Api

ANSWER = """
    clientId serviceLine dateOfService
    provider { id } assignment { id startDate endDate }
    findings { code severity message field rule plugin date payor { id } appointment { id } }
"""
ONE = f"""query($client: ID!, $line: String!, $day: Date!, $appointment: ID) {{
  renderingProvider(
    clientId: $client, serviceLine: $line, dateOfService: $day, appointmentId: $appointment
  ) {{ {ANSWER} }}
}}"""
BATCH = f"""query($requests: [RenderingProviderRequest!]!) {{
  renderingProviders(requests: $requests) {{ {ANSWER} }}
}}"""

LIGHT = """query($requests: [RenderingProviderRequest!]!) {
  renderingProviders(requests: $requests) { clientId provider { id } findings { code } }
}"""

DAYS = (date(2026, 2, 10), date(2026, 3, 10), date(2026, 3, 12), date(2026, 3, 15))


async def _varied_practice(db: Database, slug: str) -> list[dict[str, Any]]:
    """seed's practice (an ABA CM from 2026-03-01, sessions on 2026-02-10 and 2026-03-10),
    varied per client: a substitute on a CM's day, a cancelled session, sessions of a line
    without a CM by two providers on a day, two sessions on one day. Returns a question for
    every client, date (and one without sessions) and line, and one naming each session."""
    decoded = [decode_as(c, "Client") for c in await seed(db, slug, clients=12, judged=False)]
    clients = [c for c in decoded if c is not None]
    assert len(clients) == len(decoded)
    org = await b.org_id(db, slug)
    async with db.write() as session:
        providers = list(
            await session.scalars(
                select(models.Provider.id)
                .where(models.Provider.organization_id == org)
                .order_by(models.Provider.last_name)
            )
        )
        for i, client in enumerate(clients):
            other = providers[(i + 1) % len(providers)]
            if i % 3 == 0:  # a substitute beside the CM's own session
                session.add(b.session_row(org, client, other, DAYS[1], hour=18))
            if i % 4 == 0:
                row = b.session_row(org, client, other, DAYS[2])
                row.status = "CANCELLED"
                session.add(row)
            if i % 5 == 0:  # a line without a CM, by two providers on a day
                for provider, hour in ((other, 9), (providers[i % len(providers)], 11)):
                    row = b.session_row(org, client, provider, DAYS[1], hour=hour)
                    row.service_line = "ST"
                    session.add(row)
            if i % 2 == 1:  # two sessions of one provider on a day
                mine = providers[i % len(providers)]
                session.add(b.session_row(org, client, mine, DAYS[3], hour=9))
                session.add(b.session_row(org, client, mine, DAYS[3], hour=16))
        await session.commit()
    async with db.read() as session:
        sessions = list(
            await session.execute(
                select(
                    models.Appointment.id,
                    models.Appointment.client_id,
                    models.Appointment.service_line,
                    models.Appointment.date_of_service,
                )
                .where(models.Appointment.organization_id == org)
                .order_by(models.Appointment.starts_at, models.Appointment.id)
            )
        )
    questions = [
        {"clientId": encode("Client", c), "serviceLine": line, "dateOfService": day.isoformat()}
        for c in clients
        for day in (*DAYS, date(2026, 4, 1))
        for line in ("ABA", "ST")
    ]
    questions += [
        {
            "clientId": encode("Client", client),
            "serviceLine": line,
            "dateOfService": day.isoformat(),
            "appointmentId": encode("Appointment", appointment),
        }
        for appointment, client, line, day in sessions
    ]
    return questions


async def test_a_batch_answers_each_question_as_it_is_answered_alone(
    api: Api, db: Database
) -> None:
    questions = await _varied_practice(db, api.slug)

    batch = (await api(BATCH, {"requests": questions}))["renderingProviders"]
    alone = [
        (
            await api(
                ONE,
                {
                    "client": q["clientId"],
                    "line": q["serviceLine"],
                    "day": q["dateOfService"],
                    "appointment": q.get("appointmentId"),
                },
            )
        )["renderingProvider"]
        for q in questions
    ]

    assert batch == alone
    # the practice's variety reached the answers
    codes = {f["code"] for answer in batch for f in answer["findings"]}
    assert "NO_CASE_MANAGER" in codes, codes
    # a session named where its day has sessions of the line by two providers
    assert any(
        f["appointment"] is not None and q.get("appointmentId") and q["serviceLine"] == "ST"
        for q, answer in zip(questions, batch, strict=True)
        for f in answer["findings"]
    )
    assert sum(a["provider"] is not None for a in batch) > len(batch) // 4


async def test_judging_a_batch_lets_the_event_loop_serve_others_meanwhile(
    api: Api, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judging yields to the event loop between chunks (every STEP_S of hooks; here after
    every session): other tasks on the worker run between the sessions of a batch, rather
    than waiting behind all of it."""
    client_ids = await seed(db, api.slug)
    batch = [
        {"clientId": c, "serviceLine": "ABA", "dateOfService": f"2026-03-{day:02d}"}
        for c in client_ids
        for day in range(10, 20)
    ]
    monkeypatch.setattr(pacing, "STEP_S", -1.0)
    happened: list[str] = []
    check_session = RuleBook.check_session

    def judged(book: RuleBook, check: Any) -> Any:
        happened.append("judged")
        return check_session(book, check)

    monkeypatch.setattr(RuleBook, "check_session", judged)

    async def other_task() -> None:
        while True:
            happened.append("other")
            await asyncio.sleep(0)

    other = asyncio.create_task(other_task())
    try:
        answers = (await api(LIGHT, {"requests": batch}))["renderingProviders"]
    finally:
        other.cancel()

    assert len(answers) == len(batch) == 500
    first, last = happened.index("judged"), len(happened) - happened[::-1].index("judged")
    while_judging = happened[first:last]
    assert while_judging.count("judged") == len(batch)
    # the other task ran between every two sessions judged
    assert while_judging.count("other") >= len(batch) - 1, while_judging.count("other")


async def test_the_checks_a_batch_judges_carry_every_field(
    api: Api, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """judge makes its checks without SessionCheck's __init__ (facts.assembled): each must
    still be the check the constructor makes, every field set."""
    client_ids = await seed(db, api.slug)
    seen: list[SessionCheck] = []
    check_session = RuleBook.check_session

    def judged(book: RuleBook, check: SessionCheck) -> Any:
        seen.append(check)
        return check_session(book, check)

    monkeypatch.setattr(RuleBook, "check_session", judged)
    batch = [
        {"clientId": c, "serviceLine": "ABA", "dateOfService": "2026-03-10"} for c in client_ids
    ]
    await api(LIGHT, {"requests": batch})

    names = {f.name for f in dataclasses.fields(SessionCheck)}
    assert len(seen) == len(batch)
    for check in seen:
        assert set(vars(check)) >= names
        assert check == SessionCheck(**{name: getattr(check, name) for name in names})


async def test_a_batch_reads_each_case_managers_enrollment_with_every_payor_of_the_day(
    api: Api,
) -> None:
    """A batch reads only the enrollments its verdicts ask: the CM's with each payor of the
    session's date, the secondary too (a warning when missing), and nobody else's."""
    primary, secondary = await b.payor(api, "Primary"), await b.payor(api, "Secondary")
    both, primary_only = await b.provider(api, last="Both"), await b.provider(api, last="One")
    for provider in (both, primary_only):
        await b.enrollment(api, provider, primary)
    await b.enrollment(api, both, secondary)
    questions = []
    for provider in (both, primary_only):
        client = await b.client(api, last=f"Of{provider[-4:]}")
        await b.coverage(api, client, primary)
        await b.coverage(api, client, secondary, priority=2)
        await b.case_manager(api, client, provider, "2026-03-01")
        questions.append({"clientId": client, "serviceLine": "ABA", "dateOfService": "2026-03-10"})

    answers = (await api(BATCH, {"requests": questions}))["renderingProviders"]

    assert [a["provider"]["id"] for a in answers] == [both, primary_only]
    assert answers[0]["findings"] == []
    assert [(f["code"], f["severity"], f["payor"]["id"]) for f in answers[1]["findings"]] == [
        ("NOT_CREDENTIALED", "WARNING", secondary)
    ]
