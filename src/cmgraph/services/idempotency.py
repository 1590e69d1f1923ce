"""Idempotency keys: a mutation sent again under the same key answers what the first one
answered, without running again, across workers (the record is in the database).

A key belongs to (organization, caller, key): another token never sees its answers. A key
is reserved before the mutation runs, in its own transaction, rather than in the mutation's
transaction: the answer only exists once the payload is read back after the commit, and a
reservation is also what makes a concurrent duplicate wait its turn (IN_USE) instead of
running. What must be atomic is tied to the write itself: the mutation's own transaction
marks the key `written` and records what the write returned (mark_written; the record's id
and the warnings: services.recorded), fenced by the reservation's attempt id. So:

- a crash before that commit leaves the key `in_flight` with nothing written; a retry takes
  it over and runs (safe, as nothing was written) as soon as its holder is known to be gone
  (services.holders: a dead process on this machine, or an attempt this process ended), or
  else once its lease runs out;
- a crash after it leaves the key `written` with its writes' outcomes: a retry answers from
  them (the payload rebuilt from the recorded records as they are now) instead of writing
  again; only a write whose outcome could not be recorded is refused (RESPONSE_LOST);
- an execution whose key was taken over (it ran past its lease) cannot commit: its fence
  finds another attempt id, and its transaction is rolled back.

Only final answers are stored (the endpoint decides which: not UNAVAILABLE nor an internal
error); otherwise the reservation is released, so that a retry runs. A release that fails
(the database is what failed) is tried again in the background until it is done, so the key
is free as soon as the database is back. Expired keys are purged in the background, a
bounded batch at most once every PURGE_EVERY per process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db.engine import Database
from cmgraph.db.models import IdempotencyKey, utcnow
from cmgraph.services import holders

log = logging.getLogger("cmgraph.idempotency")

TTL = timedelta(hours=24)
"""A key expires this long after its first use; then it is new again."""
LEASE = timedelta(seconds=60)
"""How long an execution holds its key before a retry may take it over, when nothing tells
whether its holder still runs (a holder on another machine)."""
PURGE_EVERY = timedelta(minutes=1)
PURGE_BATCH = 500
"""Expired keys deleted by one background purge: bounded, so that it never holds locks long."""
RELEASE_RETRY_SECONDS = 0.5

_RUNNING: set[uuid.UUID] = set()
"""The attempts this process is running now: a key whose holder is this process but whose
attempt is not here was left by a request that ended (its release failed)."""

IN_FLIGHT, WRITTEN, DONE, LOST = "in_flight", "written", "done", "lost"

KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"
RESPONSE_LOST = "IDEMPOTENCY_RESPONSE_LOST"


def request_hash(query: str, operation_name: str | None, variables: dict[str, Any] | None) -> str:
    """What "the same request" means: the same query text (byte for byte), operationName and
    variables (as JSON values: key order and whitespace do not matter; absent = {})."""
    canonical = json.dumps(
        {"query": query, "operationName": operation_name, "variables": variables or {}},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyedRequest:
    organization_id: uuid.UUID
    principal: str  # Principal.actor: "token:<id>", "user:<subject>"
    key: str
    request_hash: str


@dataclass(frozen=True)
class Claim:
    """This execution holds the key. `recorded`: the outcomes of writes an earlier attempt
    committed under it, by the order of the request's writes (services.transaction answers
    those from the record instead of writing again)."""

    organization_id: uuid.UUID
    principal: str
    key: str
    attempt: uuid.UUID
    recorded: Mapping[int, dict[str, Any]] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Replay:
    """The stored answer of the first request."""

    status: int
    body: str


@dataclass(frozen=True)
class Conflict:
    code: str  # KEY_REUSED, KEY_IN_USE or RESPONSE_LOST


def _row_of(organization_id: uuid.UUID, principal: str, key: str) -> ColumnElement[bool]:
    return and_(
        IdempotencyKey.organization_id == organization_id,
        IdempotencyKey.principal == principal,
        IdempotencyKey.key == key,
    )


def _held_by(claim: Claim) -> ColumnElement[bool]:
    return and_(
        _row_of(claim.organization_id, claim.principal, claim.key),
        IdempotencyKey.attempt == claim.attempt,
    )


UNRECORDABLE: dict[str, Any] = {"unrecordable": True}


def _encode_outcomes(outcomes: Mapping[int, dict[str, Any]]) -> str:
    return json.dumps({str(index): o for index, o in outcomes.items()}, separators=(",", ":"))


def _decode_outcomes(text: str | None) -> dict[int, dict[str, Any]] | None:
    """The recorded outcomes of a written key; None when there are none (a key written
    before outcomes were recorded) or one of them could not be recorded."""
    outcomes = {int(index): o for index, o in json.loads(text or "{}").items()}
    return None if not outcomes or UNRECORDABLE in outcomes.values() else outcomes


async def mark_written(
    session: AsyncSession, claim: Claim, outcomes: Mapping[int, dict[str, Any]] | None = None
) -> bool:
    """In the mutation's own transaction: record that it wrote under this key, and what the
    request's writes returned so far (outcomes, by write). False when another attempt holds
    the key now; the caller must then roll back."""
    result = await session.execute(
        update(IdempotencyKey)
        .where(_held_by(claim))
        .values(state=WRITTEN, outcomes=_encode_outcomes(outcomes or {}))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _holder_is_gone(row: IdempotencyKey) -> bool:
    if row.holder == holders.this_process():
        return row.attempt not in _RUNNING
    return holders.is_gone(row.holder)


class IdempotencyStore:
    def __init__(
        self,
        db: Database,
        now: Callable[[], datetime] = utcnow,
        ttl: timedelta = TTL,
        lease: timedelta = LEASE,
        purge_every: timedelta = PURGE_EVERY,
    ) -> None:
        self.db, self.now, self.ttl, self.lease = db, now, ttl, lease
        self.purge_every = purge_every
        self._last_purge: datetime | None = None
        self._background: set[asyncio.Task[None]] = set()

    async def reserve(self, request: KeyedRequest) -> Claim | Replay | Conflict:
        """Hold the key for a new execution, or say why not: the stored answer to replay, or
        a conflict."""
        self._purge_when_due()
        attempt = uuid.uuid4()
        # Running before its reservation commits: a concurrent duplicate that reads the row
        # the moment it is committed must see a live holder, not one that ended.
        _RUNNING.add(attempt)
        try:
            try:
                reserved = await self._reserve(request, attempt)
            except IntegrityError:
                # A concurrent first use inserted the row between our read and our insert
                # (PostgreSQL); read what it wrote.
                reserved = await self._reserve(request, attempt)
        except BaseException:
            _RUNNING.discard(attempt)
            raise
        if not isinstance(reserved, Claim):
            _RUNNING.discard(attempt)
        return reserved

    async def _reserve(
        self, request: KeyedRequest, attempt: uuid.UUID
    ) -> Claim | Replay | Conflict:
        now = self.now()
        claim = Claim(request.organization_id, request.principal, request.key, attempt)
        async with self.db.write() as session:
            row = await session.scalar(
                select(IdempotencyKey)
                .where(_row_of(request.organization_id, request.principal, request.key))
                .with_for_update()
            )
            if row is None:
                session.add(
                    IdempotencyKey(
                        organization_id=request.organization_id,
                        principal=request.principal,
                        key=request.key,
                        request_hash=request.request_hash,
                        state=IN_FLIGHT,
                        attempt=claim.attempt,
                        created_at=now,
                        reserved_at=now,
                        holder=holders.this_process(),
                    )
                )
            elif row.created_at <= now - self.ttl:  # expired: the key is new again
                row.request_hash, row.state, row.attempt = (
                    request.request_hash,
                    IN_FLIGHT,
                    claim.attempt,
                )
                row.created_at = row.reserved_at = now
                row.response_status = row.response_body = row.outcomes = None
                row.holder = holders.this_process()
            elif row.request_hash != request.request_hash:
                return Conflict(KEY_REUSED)
            elif row.state == DONE:
                assert row.response_status is not None and row.response_body is not None
                return Replay(row.response_status, row.response_body)
            elif (
                row.state in (IN_FLIGHT, WRITTEN)
                and row.reserved_at > now - self.lease
                and not _holder_is_gone(row)
            ):
                return Conflict(KEY_IN_USE)  # still running (written: storing its answer)
            else:
                # Its holder stopped. Nothing written (in_flight): running now cannot write
                # twice. Written: its writes' outcomes answer for them. The fence stops the
                # old attempt, should it still run somewhere.
                recorded = _decode_outcomes(row.outcomes) if row.state != IN_FLIGHT else {}
                if recorded is None:
                    return Conflict(RESPONSE_LOST)
                claim = Claim(
                    claim.organization_id, claim.principal, claim.key, claim.attempt, recorded
                )
                if row.state == LOST:
                    row.state = WRITTEN
                row.attempt, row.reserved_at = claim.attempt, now
                row.holder = holders.this_process()
            await session.commit()
        return claim

    async def complete(self, claim: Claim, status: int, body: str) -> None:
        """Store the final answer, to be replayed until the key expires."""
        try:
            async with self.db.write() as session:
                await session.execute(
                    update(IdempotencyKey)
                    .where(_held_by(claim))
                    .values(state=DONE, response_status=status, response_body=body, outcomes=None)
                )
                await session.commit()
        finally:
            _RUNNING.discard(claim.attempt)

    async def release(self, claim: Claim) -> None:
        """Give the key back after an answer that is not final, so a retry runs: deleted
        while nothing was written under it; a written key is marked lost (its holder is
        done), so that a retry answers from its recorded outcomes at once."""
        try:
            async with self.db.write() as session:
                await session.execute(
                    delete(IdempotencyKey).where(_held_by(claim), IdempotencyKey.state == IN_FLIGHT)
                )
                await session.execute(
                    update(IdempotencyKey)
                    .where(_held_by(claim), IdempotencyKey.state == WRITTEN)
                    .values(state=LOST)
                )
                await session.commit()
        finally:
            _RUNNING.discard(claim.attempt)

    def release_later(self, claim: Claim) -> None:
        """Release in the background, again and again until the database takes it (for at
        most the lease): the failure that left the key settled nowhere is usually the
        database's, and the retry should run as soon as it is back."""
        _RUNNING.discard(claim.attempt)
        self._in_background(self._release_until_done(claim))

    async def _release_until_done(self, claim: Claim) -> None:
        give_up = asyncio.get_running_loop().time() + self.lease.total_seconds()
        while True:
            try:
                await self.release(claim)
                return
            except Exception as exc:
                if asyncio.get_running_loop().time() > give_up:
                    log.warning(
                        "idempotency key not released", extra={"error_type": type(exc).__name__}
                    )
                    return
            await asyncio.sleep(RELEASE_RETRY_SECONDS)

    def _in_background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)  # held, or the loop may collect it half-way
        task.add_done_callback(self._background.discard)

    def _purge_when_due(self) -> None:
        now = self.now()
        if self._last_purge is not None and now < self._last_purge + self.purge_every:
            return
        self._last_purge = now
        self._in_background(self._purge_quietly())

    async def _purge_quietly(self) -> None:
        try:
            await self.purge(limit=PURGE_BATCH)
        except Exception as exc:  # the next one will do; the command is there too
            log.warning("idempotency purge failed", extra={"error_type": type(exc).__name__})

    async def settled(self) -> None:
        """Until the background work started so far is done (for tests and shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def purge(self, limit: int | None = None) -> int:
        """Delete expired keys (every organization's), at most limit of them; how many."""
        expired = IdempotencyKey.created_at <= self.now() - self.ttl
        if limit is not None:
            oldest = (
                select(IdempotencyKey.organization_id, IdempotencyKey.principal, IdempotencyKey.key)
                .where(expired)
                .limit(limit)
            )
            key = tuple_(
                IdempotencyKey.organization_id, IdempotencyKey.principal, IdempotencyKey.key
            )
            # The expiry again on the row itself: a key a request is renewing right now
            # (reserve, under the row's lock) is young again when the delete reaches it.
            expired = and_(key.in_(oldest), expired)
        async with self.db.write() as session:
            result = await session.execute(delete(IdempotencyKey).where(expired))
            await session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]
