"""What the benchmark asks: the GraphQL documents, and request bodies built from the data.

The documents are those of the product's users (README, tests/api/test_statements.py): the
Clients screen's caseload page, one client's Clinical tab, a billing batch of rendering
questions, a month of claim lines, a month of compliance findings, and addCaseManager.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.practice import WINDOW_START
from bench.queries import (
    ADD_CASE_MANAGER,
    CASELOAD,
    CLAIM_LINES,
    CLIENT,
    CLINICAL,
    COMPLIANCE,
    COMPLIANCE_PAGE_ONLY,
    RENDERING,
)
from cmgraph.api.ids import encode
from cmgraph.db import models

# A month inside the window, for claim lines and compliance.
MONTH = ("2026-10-01", "2026-10-31")
# addCaseManager adds one-day MH assignments from here on (after every session), and the
# runner deletes them again before each run, so the practice stays as built.
ADD_FROM = date(2026, 12, 1)
PAGE = 100
RENDERING_BATCH = 500

SCENARIOS = ("caseload", "clinical", "rendering500", "claims", "compliance", "addCaseManager")
DESCRIPTIONS = {
    "floor": "raw floor (caseload page, by hand)",
    "caseload": "caseload page (50 clients)",
    "clinical": "Clinical tab (one client)",
    "client": "one client (caseload item)",
    "rendering500": "500 rendering answers",
    "claims": "claim lines, a month, first 100",
    "compliance": "compliance, a month, first 100",
    "addCaseManager": "addCaseManager",
}
READS = ("caseload", "clinical", "rendering500", "claims", "compliance")


def body(query: str, variables: dict[str, Any]) -> bytes:
    return orjson.dumps({"query": query, "variables": variables})


@dataclass
class Data:
    """What the bodies are made of, read from the practice."""

    organization_id: UUID
    clients: list[UUID]  # by name, as the caseload page lists them
    sessions: list[tuple[UUID, str, date]]  # (client, line, date of service)
    add_targets: list[tuple[UUID, UUID]]  # (client, provider) for addCaseManager
    weeks: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def window(self) -> tuple[date, date]:
        return WINDOW_START, WINDOW_START + timedelta(weeks=self.weeks, days=-1)


async def read_data(engine: AsyncEngine, organization_id: UUID, weeks: int) -> Data:
    C, CV, A, AP = (
        models.Client.__table__,
        models.Coverage.__table__,
        models.Assignment.__table__,
        models.Appointment.__table__,
    )
    CR, E, P = models.Credential.__table__, models.Enrollment.__table__, models.Provider.__table__
    org = organization_id
    async with engine.connect() as connection:
        clients = list(
            (
                await connection.execute(
                    select(C.c.id)
                    .where(C.c.organization_id == org)
                    .order_by(C.c.last_name, C.c.first_name, C.c.id)
                )
            ).scalars()
        )
        sessions = [
            (r[0], r[1], r[2])
            for r in await connection.execute(
                select(AP.c.client_id, AP.c.service_line, AP.c.date_of_service)
                .where(AP.c.organization_id == org, AP.c.status != "CANCELLED")
                .order_by(AP.c.date_of_service, AP.c.starts_at, AP.c.id)
            )
        ]
        with_mh = set(
            (
                await connection.execute(
                    select(A.c.client_id).where(
                        A.c.organization_id == org, A.c.service_line == "MH"
                    )
                )
            ).scalars()
        )
        # every payor a client has from ADD_FROM on, and its primary one
        payors: dict[UUID, set[UUID]] = {}
        for client_id, payor_id, _priority, end in await connection.execute(
            select(CV.c.client_id, CV.c.payor_id, CV.c.priority, CV.c.effective_to).where(
                CV.c.organization_id == org
            )
        ):
            if end is None:
                payors.setdefault(client_id, set()).add(payor_id)
        # qualified MH providers, active, credential good well past ADD_FROM, with the
        # payors they are enrolled with for good
        mh = set(
            (
                await connection.execute(
                    select(CR.c.provider_id)
                    .join(
                        P,
                        (P.c.organization_id == CR.c.organization_id)
                        & (P.c.id == CR.c.provider_id),
                    )
                    .where(
                        CR.c.organization_id == org,
                        CR.c.type.in_(("LPC", "LCSW")),
                        CR.c.expires_on > ADD_FROM + timedelta(days=365),
                        P.c.active.is_(True),
                    )
                )
            ).scalars()
        )
        enrolled: dict[UUID, set[UUID]] = {}
        for provider_id, payor_id in await connection.execute(
            select(E.c.provider_id, E.c.payor_id).where(
                E.c.organization_id == org,
                E.c.status == "ENROLLED",
                E.c.effective_to.is_(None),
            )
        ):
            if provider_id in mh:
                enrolled.setdefault(provider_id, set()).add(payor_id)
    targets = []
    providers = sorted(enrolled, key=lambda p: p.int)
    for client_id in clients:
        needed = payors.get(client_id)
        if client_id in with_mh or not needed:
            continue
        fits = [p for p in providers if needed <= enrolled[p]]
        if fits:
            targets.append((client_id, fits[client_id.int % len(fits)]))
    return Data(org, clients, sessions, targets, weeks)


def caseload(first: int = 50) -> list[bytes]:
    return [body(CASELOAD, {"first": first})]


def clinical(data: Data, count: int = 200) -> list[bytes]:
    rng = random.Random(7)
    picked = rng.sample(data.clients, min(count, len(data.clients)))
    return [body(CLINICAL, {"id": encode("Client", c)}) for c in picked]


def one_client(data: Data, count: int = 200) -> list[bytes]:
    """The one-client page of `count` clients picked at random (seeded)."""
    rng = random.Random(5)
    picked = rng.sample(data.clients, min(count, len(data.clients)))
    return [body(CLIENT, {"id": encode("Client", c)}) for c in picked]


def rendering(data: Data, size: int = RENDERING_BATCH, batches: int = 8) -> list[bytes]:
    rng = random.Random(11)
    out = []
    for _ in range(batches):
        picked = rng.sample(data.sessions, min(size, len(data.sessions)))
        requests = [
            {"clientId": encode("Client", c), "serviceLine": line, "dateOfService": d.isoformat()}
            for c, line, d in picked
        ]
        out.append(body(RENDERING, {"requests": requests}))
    return out


def claims(first: int = PAGE, window: tuple[str, str] = MONTH) -> list[bytes]:
    return [body(CLAIM_LINES, {"from": window[0], "to": window[1], "first": first})]


def compliance(
    first: int = PAGE,
    window: tuple[str, str] = MONTH,
    after: str | None = None,
    *,
    counted: bool = True,
) -> list[bytes]:
    variables: dict[str, Any] = {"from": window[0], "to": window[1], "first": first}
    if after is not None:
        variables["after"] = after
    return [body(COMPLIANCE if counted else COMPLIANCE_PAGE_ONLY, variables)]


def add_case_manager(data: Data, start: int, count: int) -> list[bytes]:
    """`count` distinct additions, the start-th first: one-day MH assignments that break no
    rule (qualified, credentialed with every payor of the client, no session to cover), a
    day later each time round the targets, so that none overlaps another."""
    out = []
    targets = data.add_targets
    for i in range(start, start + count):
        client, provider = targets[i % len(targets)]
        day = (ADD_FROM + timedelta(days=i // len(targets))).isoformat()
        variables = {
            "input": {
                "clientId": encode("Client", client),
                "serviceLine": "MH",
                "providerId": encode("Provider", provider),
                "startDate": day,
                "endDate": day,
            }
        }
        out.append(body(ADD_CASE_MANAGER, variables))
    return out


def bodies(name: str, data: Data, *, start: int = 0, count: int = 0) -> list[bytes]:
    if name in ("caseload", "floor"):
        return caseload()
    if name == "clinical":
        return clinical(data)
    if name == "client":
        return one_client(data)
    if name == "rendering500":
        return rendering(data)
    if name == "claims":
        return claims()
    if name == "compliance":
        return compliance()
    if name == "addCaseManager":
        return add_case_manager(data, start, count)
    raise ValueError(f"unknown scenario {name!r}")
