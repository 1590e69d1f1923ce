"""The webhook dispatcher: delivers each endpoint's events, at least once, in feed order.

Any number of processes run it (`cmgraph serve` in every worker unless --no-dispatch,
`cmgraph worker`), and they coordinate only through the database. A process *claims* an
endpoint that has work (new events after its position, or a delivery due) by setting a
lease on it: `lease_owner`, `leased_until`. The claim is one UPDATE of endpoints whose lease
is free or expired, chosen `FOR UPDATE SKIP LOCKED` on PostgreSQL (two processes never wait
for, nor take, the same endpoint); SQLite has one writer at a time, so the UPDATE alone is
atomic there. While it holds the lease, the process alone enqueues the endpoint's new events
(one delivery each, in feed order: `services.events.after` never skips) and attempts its
deliveries one at a time, oldest first: a delivery waits until the one before it succeeded
or failed for good. The lease is renewed before each attempt and released at the end.

A process killed mid-attempt holds its lease until `leased_until`; then another claims the
endpoint and attempts that delivery again (same webhook-id: receivers dedupe on it). A
graceful stop starts no new attempt, lets the attempts in flight finish (each within the
timeout), records them, and releases its leases.

A failed attempt (no 2xx within the timeout) is retried after the schedule's next pause,
with jitter; when the schedule is spent the delivery has failed (event
`webhook.delivery_failed`) and the next one goes. An endpoint whose attempts have all failed
for `disable_after_seconds` is disabled (event `webhook.endpoint_disabled`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.config import WebhookSettings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.observability import metrics
from cmgraph.services import destinations, events, outbound, signing, webhooks
from cmgraph.services.sealing import Sealer

log = logging.getLogger("cmgraph.webhooks")

BATCH = 100  # events enqueued per transaction
JITTER = 0.2  # each pause is the schedule's, +-20 %
Key = tuple[UUID, UUID]  # (organization_id, endpoint id)


def pause(schedule: tuple[float, ...], failed_attempts: int) -> float | None:
    """Seconds before the next attempt after `failed_attempts` failures, or None when the
    schedule is spent."""
    if failed_attempts > len(schedule):
        return None
    base = schedule[failed_attempts - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


@dataclass(frozen=True)
class Attempt:
    """What a process needs, outside any transaction, to attempt a delivery."""

    delivery_id: UUID
    url: str
    headers: dict[str, str]
    body: bytes


def _process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"


@dataclass
class Dispatcher:
    db: Database
    settings: WebhookSettings
    sealer: Sealer
    resolver: destinations.Resolver = destinations.system_resolver
    concurrency: int = 8  # endpoints served at once by this process
    name: str = field(default_factory=_process_name)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    # --- the loop

    async def run(self) -> None:
        """Claim and serve endpoints until `stop()`; then finish what is in flight."""
        running: set[asyncio.Task[None]] = set()
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            while not self.stopping.is_set():
                free = self.concurrency - len(running)
                claimed: list[Key] = []
                if free > 0:
                    try:
                        claimed = await self.claim(free)
                    except Exception:
                        log.exception("webhook claim failed")
                    for key in claimed:
                        running.add(asyncio.ensure_future(self.serve(key)))
                # Claimed as many as it could: more may be waiting, claim again at once.
                busy = len(claimed) == free
                done, _ = await asyncio.wait(
                    {*running, stop},
                    timeout=0 if busy else self.settings.poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                running -= done
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            stop.cancel()

    def stop(self) -> None:
        self.stopping.set()

    # --- claiming and releasing

    async def claim(self, limit: int) -> list[Key]:
        """Lease up to `limit` endpoints that have work and no live lease."""
        now = models.utcnow()
        e, ev = models.WebhookEndpoint, models.Event
        new_events = exists().where(
            ev.organization_id == e.organization_id, ev.position > e.position
        )
        free = or_(e.leased_until.is_(None), e.leased_until < now)
        candidates = (
            select(e.organization_id, e.id)
            .where(e.enabled.is_(True), free, or_(e.due_at <= now, new_events))
            .limit(limit)
        )
        # Idle most of the time: look first in a read transaction, which takes no lock (a
        # write transaction on SQLite is the database's one writer, each poll).
        async with self.db.read() as session:
            if not (await session.execute(candidates)).first():
                return []
        async with self.db.write() as session:
            if session.get_bind().dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            rows = (await session.execute(candidates)).all()
            if not rows:
                return []
            keys = [(r[0], r[1]) for r in rows]
            claimed = await session.execute(
                update(e)
                .where(
                    or_(*(and_(e.organization_id == o, e.id == i) for o, i in keys)),
                    free,
                )
                .values(lease_owner=self.name, leased_until=self._lease_end(now))
                .returning(e.organization_id, e.id)
                .execution_options(synchronize_session=False)
            )
            result = [(r[0], r[1]) for r in claimed.all()]
            await session.commit()
        return result

    def _lease_end(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.lease_seconds)

    async def release(self, key: Key) -> None:
        e = models.WebhookEndpoint
        async with self.db.write() as session:
            await session.execute(
                update(e)
                .where(e.organization_id == key[0], e.id == key[1], e.lease_owner == self.name)
                .values(lease_owner=None, leased_until=None)
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    # --- serving one endpoint

    async def serve(self, key: Key) -> None:
        """Deliver what is due to one claimed endpoint, one delivery at a time, until none is
        due, the lease is lost, or the process stops; then release it."""
        try:
            async with outbound.client(self.settings.ca_file) as http:
                while not self.stopping.is_set():
                    attempt = await self._next(key)
                    if attempt is None:
                        break
                    attempted_at = models.utcnow()
                    result = await outbound.post(
                        http,
                        attempt.url,
                        attempt.headers,
                        attempt.body,
                        seconds=self.settings.timeout_seconds,
                        allow_private=self.settings.allow_private_networks,
                        resolver=self.resolver,
                    )
                    await self._record(key, attempt, attempted_at, result)
        except Exception:
            log.exception("webhook delivery failed", extra={"endpoint_id": str(key[1])})
        finally:
            await asyncio.shield(self._release_quietly(key))

    async def _release_quietly(self, key: Key) -> None:
        try:
            await self.release(key)
        except Exception:  # the lease expires by itself
            log.warning("webhook lease not released", extra={"endpoint_id": str(key[1])})

    async def _held(self, session: AsyncSession, key: Key) -> models.WebhookEndpoint | None:
        e = models.WebhookEndpoint
        # Locked (PostgreSQL): a write that queues a delivery meanwhile (redeliverWebhook,
        # enabling the endpoint) sets due_at after this transaction, not before it, where
        # "nothing pending" would overwrite it and strand the delivery.
        return await session.scalar(
            select(e)
            .where(e.organization_id == key[0], e.id == key[1], e.lease_owner == self.name)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def _next(self, key: Key) -> Attempt | None:
        """Enqueue the endpoint's new events, then the delivery to attempt now (renewing the
        lease for it), or None when nothing is due."""
        async with self.db.write() as session:
            endpoint = await self._held(session, key)
            if endpoint is None or not endpoint.enabled:
                return None
            await self._enqueue(session, endpoint)
            d = models.WebhookDelivery
            head = await session.scalar(
                select(d)
                .where(d.organization_id == key[0], d.endpoint_id == key[1], d.status == "pending")
                .order_by(d.sequence)
                .limit(1)
            )
            now = models.utcnow()
            if head is None or (head.next_attempt_at is not None and head.next_attempt_at > now):
                endpoint.due_at = head.next_attempt_at if head is not None else None
                await session.commit()
                return None
            endpoint.due_at = now
            endpoint.leased_until = self._lease_end(now)
            secrets_ = webhooks.signing_secrets(endpoint, self.sealer, now)
            content = webhooks.body(head.payload)
            attempt = Attempt(
                head.id,
                endpoint.url,
                signing.headers(secrets_, str(head.message_id), int(now.timestamp()), content),
                content,
            )
            await session.commit()
        return attempt

    async def _enqueue(self, session: AsyncSession, endpoint: models.WebhookEndpoint) -> None:
        """One delivery per new event of the endpoint's types, in feed order."""
        org = endpoint.organization_id
        head = await events.head(session, org)
        if head <= endpoint.position:
            return
        rows, more = await events.after(
            session, org, endpoint.position, BATCH, list(endpoint.event_types)
        )
        mine = events.global_id("WebhookEndpoint", endpoint.id)
        wanted = [r for r in rows if not _about(r, mine)]
        if wanted:
            first = await webhooks.take_sequences(session, endpoint, len(wanted))
            now = models.utcnow()
            session.add_all(
                models.WebhookDelivery(
                    organization_id=org,
                    id=uuid4(),
                    endpoint_id=endpoint.id,
                    sequence=first + n,
                    message_id=row.id,
                    event_type=row.type,
                    payload=events.envelope(row),
                    status=webhooks.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                for n, row in enumerate(wanted)
            )
        last = rows[-1].position if rows else endpoint.position
        # Without more, every event up to `head` of these types is in `rows`.
        endpoint.position = last if more else max(last, head)
        await session.flush()

    async def _record(
        self, key: Key, attempt: Attempt, at: datetime, result: outbound.Result
    ) -> None:
        """The attempt, and what follows from it: success, a retry later, the delivery failed
        for good, the endpoint disabled."""
        async with self.db.write() as session:
            endpoint = await session.get(
                models.WebhookEndpoint, key, with_for_update=True, populate_existing=True
            )
            delivery = await session.get(
                models.WebhookDelivery, (key[0], attempt.delivery_id), populate_existing=True
            )
            if endpoint is None or delivery is None:  # deleted meanwhile
                return
            session.add(webhooks.record_attempt(delivery, at, result))
            if delivery.status != webhooks.PENDING:  # another process got there first
                await session.commit()
                return
            delivery.attempts += 1
            now = models.utcnow()
            if result.succeeded:
                delivery.status = webhooks.SUCCEEDED
                delivery.finished_at = now
                delivery.next_attempt_at = None
                endpoint.failing_since = None
            else:
                self._failed(session, endpoint, delivery, now)
            await session.commit()
        if result.succeeded:
            metrics.webhook_delivery("delivered")
        else:
            metrics.webhook_delivery("gave_up" if delivery.status == webhooks.FAILED else "failed")
        log.info(
            "webhook attempt",
            extra={
                "endpoint_id": str(key[1]),
                "delivery_id": str(attempt.delivery_id),
                "status_code": result.status_code,
                "error_type": result.error,
                "duration_ms": result.duration_ms,
            },
        )

    def _failed(
        self,
        session: AsyncSession,
        endpoint: models.WebhookEndpoint,
        delivery: models.WebhookDelivery,
        now: datetime,
    ) -> None:
        org = endpoint.organization_id
        endpoint_id = events.global_id("WebhookEndpoint", endpoint.id)
        wait = pause(self.settings.retry_seconds, delivery.attempts)
        if wait is None:
            delivery.status = webhooks.FAILED
            delivery.finished_at = now
            delivery.next_attempt_at = None
            events.emit(
                session,
                org,
                "webhook.delivery_failed",
                {
                    "endpointId": endpoint_id,
                    "deliveryId": events.global_id("WebhookDelivery", delivery.id),
                    "messageId": str(delivery.message_id),
                    "eventType": delivery.event_type,
                    "attempts": delivery.attempts,
                },
            )
        else:
            delivery.next_attempt_at = now + timedelta(seconds=wait)
        if endpoint.failing_since is None:
            endpoint.failing_since = now
        elif (now - endpoint.failing_since).total_seconds() >= self.settings.disable_after_seconds:
            endpoint.enabled = False
            endpoint.disabled_reason = (
                f"every delivery failed since {endpoint.failing_since.isoformat()}"
            )
            endpoint.updated_at = now
            events.emit(
                session,
                org,
                "webhook.endpoint_disabled",
                {"endpointId": endpoint_id, "failingSince": endpoint.failing_since.isoformat()},
            )


def _about(row: models.Event, endpoint_global_id: str) -> bool:
    data: Any = row.data
    return row.type in events.WEBHOOK_TYPES and data.get("endpointId") == endpoint_global_id
