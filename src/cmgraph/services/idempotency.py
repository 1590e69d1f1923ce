"""Idempotency keys: a mutation sent again under the same key answers what the first one
answered, without running again, across workers (the record is in the database).

A key belongs to (organization, caller, key): another token never sees its answers. A key
is reserved before the mutation runs, in its own transaction, rather than in the mutation's
transaction: the answer only exists once the payload is read back after the commit, and a
reservation is also what makes a concurrent duplicate wait its turn (IN_USE) instead of
running. What must be atomic is tied to the write itself: the mutation's own transaction
marks the key `written` (mark_written), fenced by the reservation's attempt id. So:

- a crash before that commit leaves the key `in_flight` with nothing written; once its lease
  runs out a retry takes it over and runs (safe, as nothing was written);
- a crash after it leaves the key `written` without an answer; a retry is told to wait
  (IN_USE) until the lease runs out, then refused (RESPONSE_LOST) rather than writing twice;
  an answer after the write that is not final (the database went away while the payload
  was read) marks the key `lost` at once;
- an execution whose key was taken over (it ran past its lease) cannot commit: its fence
  finds another attempt id, and its transaction is rolled back.

Only final answers are stored (the endpoint decides which: not UNAVAILABLE nor an internal
error); otherwise the reservation is released, so that a retry runs.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db.engine import Database
from cmgraph.db.models import IdempotencyKey, utcnow

TTL = timedelta(hours=24)
"""A key expires this long after its first use; then it is new again."""
LEASE = timedelta(seconds=60)
"""How long an execution holds its key before a retry may take it over (a crashed worker)."""

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
    """This execution holds the key."""

    organization_id: uuid.UUID
    principal: str
    key: str
    attempt: uuid.UUID


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


async def mark_written(session: AsyncSession, claim: Claim) -> bool:
    """In the mutation's own transaction: record that it wrote under this key. False when
    another attempt holds the key now; the caller must then roll back."""
    result = await session.execute(
        update(IdempotencyKey).where(_held_by(claim)).values(state=WRITTEN)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


class IdempotencyStore:
    def __init__(
        self,
        db: Database,
        now: Callable[[], datetime] = utcnow,
        ttl: timedelta = TTL,
        lease: timedelta = LEASE,
    ) -> None:
        self.db, self.now, self.ttl, self.lease = db, now, ttl, lease

    async def reserve(self, request: KeyedRequest) -> Claim | Replay | Conflict:
        """Hold the key for a new execution, or say why not: the stored answer to replay, or
        a conflict."""
        try:
            return await self._reserve(request)
        except IntegrityError:
            # A concurrent first use inserted the row between our read and our insert
            # (PostgreSQL); read what it wrote.
            return await self._reserve(request)

    async def _reserve(self, request: KeyedRequest) -> Claim | Replay | Conflict:
        now = self.now()
        claim = Claim(request.organization_id, request.principal, request.key, uuid.uuid4())
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
                    )
                )
            elif row.created_at <= now - self.ttl:  # expired: the key is new again
                row.request_hash, row.state, row.attempt = (
                    request.request_hash,
                    IN_FLIGHT,
                    claim.attempt,
                )
                row.created_at = row.reserved_at = now
                row.response_status = row.response_body = None
            elif row.request_hash != request.request_hash:
                return Conflict(KEY_REUSED)
            elif row.state == DONE:
                assert row.response_status is not None and row.response_body is not None
                return Replay(row.response_status, row.response_body)
            elif row.reserved_at > now - self.lease and row.state in (IN_FLIGHT, WRITTEN):
                return Conflict(KEY_IN_USE)  # still running (written: storing its answer)
            elif row.state in (WRITTEN, LOST):
                return Conflict(RESPONSE_LOST)
            else:
                # Its worker stopped before writing anything (a write marks the key
                # written), so running now cannot write twice; the fence stops the old one.
                row.attempt, row.reserved_at = claim.attempt, now
            await session.commit()
        return claim

    async def complete(self, claim: Claim, status: int, body: str) -> None:
        """Store the final answer, to be replayed until the key expires."""
        async with self.db.write() as session:
            await session.execute(
                update(IdempotencyKey)
                .where(_held_by(claim))
                .values(state=DONE, response_status=status, response_body=body)
            )
            await session.commit()

    async def release(self, claim: Claim) -> None:
        """Give the key back after an answer that is not final, so a retry runs. Only while
        nothing was written under it: a written key is marked lost instead, so that a retry
        cannot write twice."""
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

    async def purge(self) -> int:
        """Delete expired keys (every organization's); how many."""
        async with self.db.write() as session:
            result = await session.execute(
                delete(IdempotencyKey).where(IdempotencyKey.created_at <= self.now() - self.ttl)
            )
            await session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]
