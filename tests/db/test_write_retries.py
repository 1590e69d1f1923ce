"""A write that loses a race (serialization failure, deadlock) is
run again from the start in a fresh transaction, a bounded number of times; after the last
attempt the caller gets a clear, retryable error and nothing is written."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from pytest import MonkeyPatch
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.db.faults import is_retryable
from cmgraph.facts import Clock, Field
from cmgraph.plugins import RuleBook
from cmgraph.services import changes, clients, tenants, transaction
from cmgraph.services.outcome import Outcome, refuse
from cmgraph.services.scope import TenantScope
from cmgraph.services.transaction import ATTEMPTS, WriteConflict, run_batch, run_write


class DriverError(Exception):
    """What SQLAlchemy's asyncpg adapter puts in DBAPIError.orig: the SQLSTATE in
    `sqlstate` and `pgcode`."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = self.pgcode = sqlstate


def lost_race(sqlstate: str) -> DBAPIError:
    return DBAPIError("UPDATE ...", None, DriverError(sqlstate))


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transaction, "BACKOFF_SECONDS", 0.001)


@pytest.fixture
async def scope(db: Database, book: RuleBook) -> TenantScope:
    slug = f"t-{uuid.uuid4().hex[:12]}"
    organization = await tenants.create_organization(db, f"Practice {slug}", slug, "UTC")
    return TenantScope(
        db=db, book=book, organization_id=organization.id, clock=Clock("UTC"), actor="t"
    )


async def clients_named(scope: TenantScope, last_name: str) -> int:
    async with scope.db.read() as session:
        return (
            await session.scalar(
                select(func.count())
                .select_from(models.Client)
                .where(
                    models.Client.organization_id == scope.organization_id,
                    models.Client.last_name == last_name,
                )
            )
            or 0
        )


class FailsFirst:
    """A use case that writes a client and then loses the race its first `failures` times."""

    def __init__(self, scope: TenantScope, failures: int, error: Exception) -> None:
        self.scope, self.failures, self.error, self.runs = scope, failures, error, 0

    async def __call__(self, session: AsyncSession) -> Outcome[str]:
        self.runs += 1
        session.add(
            models.Client(
                organization_id=self.scope.organization_id, first_name="R", last_name="Retried"
            )
        )
        await session.flush()  # the row was sent: only a rollback takes it back
        if self.runs <= self.failures:
            raise self.error
        return Outcome(value="done")


@pytest.mark.parametrize(
    "error",
    [
        lost_race("40001"),  # serialization_failure
        lost_race("40P01"),  # deadlock_detected
    ],
    ids=["serialization_failure", "deadlock"],
)
async def test_a_lost_race_runs_again_and_commits_once(
    scope: TenantScope, error: DBAPIError
) -> None:
    use_case = FailsFirst(scope, ATTEMPTS - 1, error)
    outcome = await run_write(scope, use_case)
    assert outcome.value == "done"
    assert use_case.runs == ATTEMPTS
    assert await clients_named(scope, "Retried") == 1


async def test_after_the_last_attempt_the_conflict_is_raised_and_nothing_is_written(
    scope: TenantScope,
) -> None:
    use_case = FailsFirst(scope, ATTEMPTS, lost_race("40001"))
    with pytest.raises(WriteConflict) as raised:
        await run_write(scope, use_case)
    assert raised.value.attempts == ATTEMPTS == use_case.runs
    assert await clients_named(scope, "Retried") == 0


async def test_other_database_errors_are_not_retried(scope: TenantScope) -> None:
    use_case = FailsFirst(scope, 1, lost_race("42P01"))  # undefined_table: a bug, not a race
    with pytest.raises(DBAPIError):
        await run_write(scope, use_case)
    assert use_case.runs == 1
    assert await clients_named(scope, "Retried") == 0


def test_what_counts_as_a_lost_race() -> None:
    assert is_retryable(lost_race("40001")) and is_retryable(lost_race("40P01"))
    assert not is_retryable(lost_race("23505"))  # unique_violation: an answer, not a race
    assert not is_retryable(OperationalError("SELECT 1", None, Exception("disk I/O error")))
    # SQLite already waited its busy timeout: another attempt would wait as long again.
    assert not is_retryable(OperationalError("BEGIN", None, Exception("database is locked")))
    wrapped = RuntimeError("while writing")
    wrapped.__cause__ = lost_race("40001")
    assert is_retryable(wrapped)


async def test_over_http_a_write_that_keeps_conflicting_is_a_503_to_retry(
    db: Database, book: RuleBook, settings: Settings, monkeypatch: MonkeyPatch
) -> None:
    """Not an internal error with a trace: 503, WRITE_CONFLICT, Retry-After; and under an
    Idempotency-Key it is not kept, so the retry runs."""
    slug = f"t-{uuid.uuid4().hex[:12]}"
    await tenants.create_organization(db, f"Practice {slug}", slug, "UTC")
    token = await tenants.create_token(db, slug, "admin")
    real = clients.create_client

    async def contended(scope: TenantScope, *args: Any) -> Any:
        async def use_case(session: AsyncSession) -> Outcome[Any]:
            raise lost_race("40001")

        return await run_write(scope, use_case)

    mutation = {
        "query": "mutation($i: CreateClientInput!) { createClient(input: $i) { client { id } } }",
        "variables": {"i": {"firstName": "C", "lastName": "Contended"}},
    }
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "contended"}
    transport = httpx.ASGITransport(app=create_app(settings, db=db, book=book))
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        monkeypatch.setattr(clients, "create_client", contended)
        response = await client.post("/graphql", json=mutation, headers=headers)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"]
        body = response.json()
        assert "data" not in body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["WRITE_CONFLICT"]
        assert "Traceback" not in response.text

        monkeypatch.setattr(clients, "create_client", real)
        retry = await client.post("/graphql", json=mutation, headers=headers)
        assert retry.status_code == 200 and "idempotent-replayed" not in retry.headers
        assert retry.json()["data"]["createClient"]["client"]["id"]


async def test_a_real_deadlock_on_postgresql_is_resolved_by_the_retry(
    scope: TenantScope, is_postgres: bool
) -> None:
    """Two writes lock two rows in opposite orders. PostgreSQL aborts one of them
    (deadlock_detected, after its deadlock_timeout); that one runs again once the other has
    committed, and both writes land."""
    if not is_postgres:
        pytest.skip("SQLite has one writer at a time: its writes cannot deadlock")
    async with scope.db.write() as session:
        a = models.Client(organization_id=scope.organization_id, first_name="A", last_name="A")
        b = models.Client(organization_id=scope.organization_id, first_name="B", last_name="B")
        session.add_all([a, b])
        await session.commit()
    first_locked, second_locked = asyncio.Event(), asyncio.Event()
    runs = {"first": 0, "second": 0}

    def crossing(
        name: str,
        mine: uuid.UUID,
        theirs: uuid.UUID,
        locked: asyncio.Event,
        other_locked: asyncio.Event,
    ) -> Any:
        async def use_case(session: AsyncSession) -> Outcome[str]:
            runs[name] += 1
            await rename(session, mine, name)
            locked.set()
            await other_locked.wait()  # both hold one row: each now asks for the other's
            await rename(session, theirs, name)
            return Outcome(value=name)

        return use_case

    async def rename(session: AsyncSession, id: uuid.UUID, name: str) -> None:
        await session.execute(
            update(models.Client)
            .where(models.Client.organization_id == scope.organization_id, models.Client.id == id)
            .values(first_name=name)
        )

    done = await asyncio.wait_for(
        asyncio.gather(
            run_write(scope, crossing("first", a.id, b.id, first_locked, second_locked)),
            run_write(scope, crossing("second", b.id, a.id, second_locked, first_locked)),
        ),
        timeout=30,
    )
    assert [o.value for o in done] == ["first", "second"]
    assert sorted(runs.values()) == [1, 2]  # exactly one was the deadlock's victim
    async with scope.db.read() as session:
        names = set(
            await session.scalars(
                select(models.Client.first_name).where(
                    models.Client.organization_id == scope.organization_id
                )
            )
        )
    assert len(names) == 1  # whichever committed last renamed both rows


async def test_the_overlap_backstop_refuses_in_the_overlap_rules_words(scope: TenantScope) -> None:
    """PostgreSQL's exclusion constraint fired: a concurrent write assigned a CM first."""

    async def use_case(session: AsyncSession) -> Outcome[str]:
        raise IntegrityError(
            "INSERT ...",
            None,
            Exception(
                'conflicting key value violates exclusion constraint "ex_assignments_no_overlap"'
            ),
        )

    outcome = await run_write(scope, use_case)

    [error] = outcome.errors
    assert (error.code, error.rule, error.plugin) == (
        "OVERLAPPING_ASSIGNMENT",
        "no_overlap",
        "cmgraph",
    )
    assert error.field is Field.START_DATE
    assert "at the same time" in error.message


async def test_a_use_case_refused_in_a_batch_takes_only_its_own_records_and_events(
    scope: TenantScope,
) -> None:
    """A bulk import runs each row in a savepoint of one transaction: a row refused after it
    recorded its change leaves no record nor event, and the other rows keep theirs."""

    async def refused_after_recording(session: AsyncSession) -> Outcome[str]:
        row = models.Client(organization_id=scope.organization_id, first_name="B", last_name="Two")
        session.add(row)
        await session.flush()
        changes.record_by(session, scope, "createClient", row, None, changes.snapshot(row))
        raise refuse("INVALID_INPUT", "Refused after it recorded its change.")

    async def work(batch: TenantScope) -> list[Outcome[Any]]:
        return [
            await clients.create_client(batch, "A", "One", None, None),
            await run_write(batch, refused_after_recording),
            await clients.create_client(batch, "C", "Three", None, None),
        ]

    outcomes = await run_batch(scope, work, keep=lambda _: True)

    assert [bool(o.errors) for o in outcomes] == [False, True, False]
    async with scope.db.read() as session:
        recorded = await session.scalar(
            select(func.count())
            .select_from(models.ChangeRecord)
            .where(models.ChangeRecord.organization_id == scope.organization_id)
        )
        emitted = await session.scalar(
            select(func.count())
            .select_from(models.Event)
            .where(models.Event.organization_id == scope.organization_id)
        )
    assert (recorded, emitted) == (1 + 2, 2)  # createOrganization, then A and C
