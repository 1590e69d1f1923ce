"""The stored findings are the live judge's, whatever the writes (services.findings).

Hypothesis builds a small practice (clients, BCBAs with licences, payors with and without
payor plugins) and a random program of writes through the services: appointments scheduled,
moved, completed or cancelled; case managers added, changed, end-dated and removed;
coverages added and ended; enrollments recorded; licences lapsing and renewed (rule 3 in
hindsight: a lapsed licence on a date of service is a finding); payors with plugins covering
clients. After every write it asserts that

- the compliance report and every client's findings (stored, with stale clients judged
  live) equal the live judgement, finding for finding and in order;
- every stored row of a client not marked stale is exactly what the live judge says now;
- once the stale clients are drained, every client's stored rows are.

Each program also draws how many clients a write may re-judge itself (0: every write leaves
its clients stale for the background job; 50: all in the transaction).

Profiles: "ci" (the default; a fixed seed, 40 programs), "thorough" (500 programs, random
seed): HYPOTHESIS_PROFILE=thorough pytest tests/findings.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from builders import next_npi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cmgraph import facts
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook, build_plugin_manager
from cmgraph.services import (
    appointments,
    case_managers,
    clients,
    compliance,
    coverages,
    enrollments,
    expiry,
    findings,
    payors,
    providers,
    tenants,
)
from cmgraph.services.appointments import AppointmentChange
from cmgraph.services.case_managers import Proposal
from cmgraph.services.outcome import Outcome
from cmgraph.services.scope import TenantScope

settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,  # the same programs on every run: CI fails for a reason, not by luck
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
BOOK = RuleBook(build_plugin_manager(PLUGINS))
PAYOR_PLUGINS = sorted(BOOK.plugin_names())

FIRST_DAY = date(2026, 1, 5)
DAYS = 40
WINDOW = (date(2025, 1, 1), date(2027, 12, 31))
LINES = ("ABA", "ST")
CLIENTS, PROVIDERS = 3, 3

day = st.integers(0, DAYS - 1)
few = st.integers(0, 5)  # an index into what exists (taken modulo its length)

OPERATIONS = st.one_of(
    st.tuples(st.just("schedule"), few, few, day, st.integers(8, 16), st.sampled_from(LINES)),
    st.tuples(st.just("status"), few, st.sampled_from(["COMPLETED", "CANCELLED", "NO_SHOW"])),
    st.tuples(st.just("move"), few, day, st.integers(8, 16)),
    st.tuples(st.just("deliverer"), few, few),
    st.tuples(st.just("add_cm"), few, st.sampled_from(LINES), few, day),
    st.tuples(st.just("change_cm"), few, st.sampled_from(LINES), few, day),
    st.tuples(st.just("end_cm"), few, day),
    st.tuples(st.just("remove_cm"), few),
    st.tuples(st.just("cover"), few, few, day, st.sampled_from([2, 2, 1])),
    st.tuples(st.just("uncover"), few, day),
    st.tuples(
        st.just("enroll"),
        few,
        few,
        st.sampled_from(["ENROLLED", "PENDING", "TERMINATED"]),
        day,
        st.none() | day,
    ),
    st.tuples(st.just("licence"), few, st.none() | day, st.sampled_from(["BCBA", "SLP", "RBT"])),
    st.tuples(st.just("new_payor"), st.lists(st.sampled_from(PAYOR_PLUGINS), max_size=2)),
)


def on(offset: int) -> date:
    return FIRST_DAY + timedelta(days=offset)


def at(offset: int, hour: int) -> datetime:
    return datetime.combine(on(offset), datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)


class Practice:
    """What the program has made so far, to pick from by index."""

    def __init__(self, scope: TenantScope) -> None:
        self.scope = scope
        self.clients: list[uuid.UUID] = []
        self.providers: list[uuid.UUID] = []
        self.payors: list[uuid.UUID] = []
        self.appointments: list[uuid.UUID] = []
        self.assignments: list[models.Assignment] = []
        self.coverages: list[uuid.UUID] = []

    @staticmethod
    def pick(items: list[Any], index: int) -> Any:
        return items[index % len(items)] if items else None

    def keep(self, outcome: Any, into: list[Any], key: Any = lambda row: row.id) -> None:
        if outcome.value is not None:
            into.append(key(outcome.value))

    async def build(self) -> None:
        s = self.scope
        for i in range(CLIENTS):
            self.keep(await clients.create_client(s, "C", f"L{i}", None, None), self.clients)
        for i in range(PROVIDERS):
            licence = facts.Credential("BCBA", "1", "TX", None, None)
            made: Outcome[Any] = await providers.create_provider(
                s, "P", f"N{i}", next_npi(), [licence]
            )
            self.keep(made, self.providers)
        self.keep(
            await payors.create_payor(s, "Plain", None, facts.PayorKind.COMMERCIAL, []), self.payors
        )
        made = await payors.create_payor(
            s, "Plugged", None, facts.PayorKind.MEDICAID, PAYOR_PLUGINS[:1]
        )
        self.keep(made, self.payors)  # a secondary nobody is enrolled with, at first
        for i, client in enumerate(self.clients):
            made = await coverages.add_coverage(s, client, self.payors[0], f"M{i}", 1, on(0), None)
            self.keep(made, self.coverages)
        for provider in self.providers[:2]:  # the third is enrolled with no one
            await enrollments.record_enrollment(
                s, provider, self.payors[0], facts.EnrollmentStatus.ENROLLED, on(0), None
            )
        # Each client starts with a CM (their own BCBA) and three sessions, so that every
        # write has findings to change.
        for client, provider in zip(self.clients, self.providers, strict=True):
            proposal = Proposal(client, "ABA", provider, on(0))
            self.keep(await case_managers.add(s, proposal), self.assignments, lambda r: r)
            for d in (3, 10, 20):
                made = await appointments.schedule_appointment(
                    s, client, "ABA", provider, at(d, 15), at(d, 16)
                )
                self.keep(made, self.appointments)

    async def run(self, op: tuple[Any, ...]) -> None:
        s, pick, name = self.scope, self.pick, op[0]
        if name == "schedule":
            _, c, p, d, hour, line = op
            made: Outcome[Any] = await appointments.schedule_appointment(
                s,
                pick(self.clients, c),
                line,
                pick(self.providers, p),
                at(d, hour),
                at(d, hour + 1),
            )
            self.keep(made, self.appointments)
        elif name == "status" and self.appointments:
            change = AppointmentChange(status=facts.AppointmentStatus(op[2]))
            await appointments.update_appointment(s, pick(self.appointments, op[1]), change)
        elif name == "move" and self.appointments:
            _, a, d, hour = op
            change = AppointmentChange(starts_at=at(d, hour), ends_at=at(d, hour + 1))
            await appointments.update_appointment(s, pick(self.appointments, a), change)
        elif name == "deliverer" and self.appointments:
            change = AppointmentChange(provider_id=pick(self.providers, op[2]))
            await appointments.update_appointment(s, pick(self.appointments, op[1]), change)
        elif name in ("add_cm", "change_cm"):
            _, c, line, p, d = op
            proposal = Proposal(pick(self.clients, c), line, pick(self.providers, p), on(d))
            if name == "add_cm":
                self.keep(await case_managers.add(s, proposal), self.assignments, lambda r: r)
            else:
                changed = await case_managers.change(s, proposal)
                self.keep(changed, self.assignments, lambda pair: pair[1])
        elif name == "end_cm" and self.assignments:
            row = pick(self.assignments, op[1])
            await case_managers.update(s, row.id, row.version, end_date=on(op[2]))
            await self.refresh(row)
        elif name == "remove_cm" and self.assignments:
            row = pick(self.assignments, op[1])
            await case_managers.remove(s, row.id, row.version)
        elif name == "cover":
            _, c, payor, d, priority = op
            made = await coverages.add_coverage(
                s, pick(self.clients, c), pick(self.payors, payor), None, priority, on(d), None
            )
            self.keep(made, self.coverages)
        elif name == "uncover" and self.coverages:
            await coverages.update_coverage(s, pick(self.coverages, op[1]), effective_to=on(op[2]))
        elif name == "enroll":
            _, p, payor, status, d, to = op
            await enrollments.record_enrollment(
                s,
                pick(self.providers, p),
                pick(self.payors, payor),
                facts.EnrollmentStatus(status),
                on(d),
                None if to is None else on(max(d, to)),
            )
        elif name == "licence":
            _, p, expires, kind = op
            licence = facts.Credential(
                kind, "2", "TX", None, None if expires is None else on(expires)
            )
            await providers.update_provider(s, pick(self.providers, p), credentials=[licence])
        elif name == "new_payor":
            made = await payors.create_payor(
                s, f"Payor {len(self.payors)}", None, facts.PayorKind.MEDICAID, op[1]
            )
            self.keep(made, self.payors)

    async def refresh(self, row: models.Assignment) -> None:
        """An assignment's version moves on with each edit: read it again."""
        async with self.scope.db.read() as session:
            fresh = await session.get(models.Assignment, (row.organization_id, row.id))
        if fresh is not None:
            self.assignments = [fresh if a is row else a for a in self.assignments]


def by_client(pairs: Any) -> dict[uuid.UUID, list[facts.Finding]]:
    found: dict[uuid.UUID, list[facts.Finding]] = {}
    for client_id, finding in pairs:
        found.setdefault(client_id, []).append(finding)
    return found


async def live_judgement(practice: Practice) -> dict[uuid.UUID, list[facts.Finding]]:
    """The live judge over every client of the practice: the source of truth."""
    async with practice.scope.db.read() as session:
        verdicts = await findings.judge_clients(session, practice.scope, practice.clients)
    return by_client((v.key.client_id, f) for v in verdicts for f in v.findings)


async def stored_rows(
    scope: TenantScope,
) -> tuple[dict[uuid.UUID, list[facts.Finding]], set[uuid.UUID]]:
    """What the findings table holds, per client in report order, and the stale clients."""
    f, s = models.StoredFinding, models.StaleClient
    org = scope.organization_id
    async with scope.db.read() as session:
        rows = await session.execute(
            select(f.client_id, f.finding)
            .where(f.organization_id == org)
            .order_by(f.date_of_service, f.starts_at, f.appointment_id, f.seq)
        )
        stored = by_client((c, findings.decode(body)) for c, body in rows)
        stale = set(await session.scalars(select(s.client_id).where(s.organization_id == org)))
    return stored, stale


async def check(practice: Practice, step: str) -> None:
    scope = practice.scope
    truth = await live_judgement(practice)
    stored, stale = await stored_rows(scope)
    for client in practice.clients:
        if client not in stale:
            assert stored.get(client, []) == truth.get(client, []), (
                f"after {step}: a client not marked stale has stored findings the live judge "
                "no longer makes (a write did not re-judge the clients it reaches)"
            )
    async with scope.db.snapshot() as session:
        assert await findings.stored(session, scope) is not None, "the stored path answers"
        live = await compliance.live_findings_page(
            session, scope, *WINDOW, None, None, 10_000, count=True
        )
        ahead = await expiry.findings(session, scope, practice.clients)
    answered = await compliance.findings_page(scope, *WINDOW, None, None, 10_000, count=True)
    assert answered == live, f"after {step}: the compliance report differs from the live judge"
    after = live.places[1] if len(live.places) > 1 else None
    page = await compliance.findings_page(scope, *WINDOW, None, after, 3, count=False)
    rest = live.findings[2:5] if after is not None else live.findings[:3]
    assert page.findings == rest, f"after {step}: a later page differs"
    assert page.has_next == (len(live.findings) > (5 if after is not None else 3))
    async with scope.db.read() as session:
        per_client = await compliance.client_findings(session, scope, practice.clients)
    for client in practice.clients:
        expected = truth.get(client, []) + ahead.get(client, [])
        assert per_client[client] == expected, f"after {step}: a client's findings differ"


async def drained(practice: Practice, step: str) -> None:
    scope = practice.scope
    await findings.drain(scope.db, scope.book, scope.organization_id)
    stored, stale = await stored_rows(scope)
    assert stale == set(), f"after {step}: stale clients left after draining"
    truth = await live_judgement(practice)
    assert {c: f for c, f in stored.items() if f} == {c: f for c, f in truth.items() if f}, (
        f"after {step} and draining: the stored findings differ from the live judge"
    )


@settings(settings.get_profile(PROFILE))
@given(
    program=st.lists(OPERATIONS, min_size=1, max_size=12),
    in_transaction=st.sampled_from([0, 1, findings.IN_TRANSACTION]),
)
async def test_stored_findings_equal_the_live_judge_after_every_write(
    db: Database, program: list[tuple[Any, ...]], in_transaction: int
) -> None:
    slug = f"p-{uuid.uuid4().hex[:12]}"
    org = await tenants.create_organization(db, slug, slug, "America/Chicago")
    scope = TenantScope(db, BOOK, org.id, facts.Clock("America/Chicago"), actor="property-test")
    kept = findings.IN_TRANSACTION, findings.BACKGROUND
    findings.IN_TRANSACTION, findings.BACKGROUND = in_transaction, False
    try:
        practice = Practice(scope)
        await practice.build()
        await check(practice, "building the practice")
        for number, op in enumerate(program, 1):
            await practice.run(op)
            await check(practice, f"write {number} {op}")
        await drained(practice, "the program")
    finally:
        findings.IN_TRANSACTION, findings.BACKGROUND = kept
