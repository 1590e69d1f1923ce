"""Webhook endpoints: registered, changed, rotated and deleted by admins and integration
tokens (an integration sees and manages only the endpoints it made), their deliveries
listed with every attempt, a delivery sent again, and a test message sent at once.

The signing secret is shown once, when made (createWebhookEndpoint, rotateWebhookSecret),
and stored encrypted (services.sealing). After a rotation the previous secret signs too,
for ROTATION_OVERLAP, so receivers can switch without losing a message. Every change is
audited (changes.record_by); endpoint changes make no domain event (they are the
integration's own configuration, not facts of the practice). Delivery itself is the
dispatcher's (services.dispatch)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.config import Settings
from cmgraph.db import models
from cmgraph.services import changes, destinations, events, lookups, outbound, signing
from cmgraph.services.access import INTEGRATION
from cmgraph.services.outcome import INVALID_INPUT, KEEP, NOT_FOUND, Outcome, refuse
from cmgraph.services.scope import TenantScope
from cmgraph.services.sealing import Sealer, SealingError
from cmgraph.services.transaction import run_write

ROTATION_OVERLAP = timedelta(hours=24)
TEST_TYPE = "webhook.test"
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
STATUSES = (PENDING, SUCCEEDED, FAILED)
NOT_CONFIGURED = "NOT_CONFIGURED"
MAX_DESCRIPTION = 500


@dataclass(frozen=True)
class Issued:
    """An endpoint and its signing secret, shown this once."""

    row: models.WebhookEndpoint
    secret: str


@dataclass(frozen=True)
class Listed:
    delivery: models.WebhookDelivery
    attempts: list[models.WebhookAttempt]


def owner_filter(scope: TenantScope) -> str | None:
    """An integration token sees only the endpoints it made; admins see every one."""
    return scope.actor if scope.role == INTEGRATION else None


def snapshot(row: models.WebhookEndpoint) -> dict[str, Any]:
    """What the audit trail keeps of an endpoint: never a secret, nor the dispatcher's state."""
    return {
        "id": str(row.id),
        "url": row.url,
        "description": row.description,
        "event_types": list(row.event_types),
        "owner": row.owner,
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "secret_rotated_until": (
            row.previous_secret_until.isoformat() if row.previous_secret_until else None
        ),
    }


def _sealer(settings: Settings) -> Sealer:
    try:
        return Sealer.from_settings(settings)
    except SealingError as exc:
        raise refuse(NOT_CONFIGURED, f"Webhooks are not configured on this server: {exc}.") from exc


async def check_url(url: str, settings: Settings) -> str:
    """The URL, when it may be registered: https, a public address once resolved."""
    allow = settings.webhooks.allow_private_networks
    try:
        target = destinations.check_url(url.strip(), allow)
        await destinations.resolve(target, allow, destinations.system_resolver)
    except destinations.Refused as refused:
        raise refuse(refused.code, str(refused), "url") from refused
    return target.url


def check_types(types: Sequence[str]) -> list[str]:
    unknown = sorted(set(types) - set(events.TYPES))
    if unknown:
        raise refuse(
            INVALID_INPUT,
            f"Unknown event type {unknown[0]!r}; the types are: {', '.join(events.TYPES)}.",
            "eventTypes",
        )
    if not types:
        raise refuse(INVALID_INPUT, "Subscribe to at least one event type.", "eventTypes")
    return sorted(set(types), key=events.TYPES.index)


def _description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION:
        raise refuse(INVALID_INPUT, f"At most {MAX_DESCRIPTION} characters, please.", "description")
    return text.strip()


async def _endpoint(
    session: AsyncSession, scope: TenantScope, id: UUID | None, field: str = "id"
) -> models.WebhookEndpoint:
    row = await lookups.get(
        session, models.WebhookEndpoint, scope.organization_id, id, field, lock=True
    )
    owner = owner_filter(scope)
    if owner is not None and row.owner != owner:
        raise refuse(NOT_FOUND, "No webhook endpoint with this id.", field)
    return row


async def create(
    scope: TenantScope, settings: Settings, url: str, event_types: Sequence[str], description: str
) -> Outcome[Issued]:
    """createWebhookEndpoint: events committed from now on, of these types, go to url."""
    sealer = _sealer(settings)
    types = check_types(event_types)
    text = _description(description)
    checked = await check_url(url, settings)
    secret = signing.new_secret()

    async def use_case(session: AsyncSession) -> Outcome[Issued]:
        now = models.utcnow()
        row = models.WebhookEndpoint(
            organization_id=scope.organization_id,
            id=uuid4(),
            url=checked,
            description=text,
            event_types=types,
            owner=scope.actor,
            secret=sealer.seal(secret),
            enabled=True,
            created_at=now,
            updated_at=now,
            position=await events.head(session, scope.organization_id),
            next_sequence=0,
        )
        session.add(row)
        await session.flush()
        changes.record_by(session, scope, "createWebhookEndpoint", row, None, snapshot(row))
        return Outcome(Issued(row, secret))

    return await run_write(scope, use_case)


async def update_endpoint(
    scope: TenantScope,
    settings: Settings,
    id: UUID | None,
    *,
    url: Any = KEEP,
    event_types: Any = KEEP,
    description: Any = KEEP,
    enabled: Any = KEEP,
) -> Outcome[models.WebhookEndpoint]:
    """updateWebhookEndpoint: a field left out is kept. Enabling a disabled endpoint resumes
    its deliveries where they stopped."""
    for value, name in ((url, "url"), (event_types, "eventTypes"), (enabled, "enabled")):
        if value is None:
            raise refuse(INVALID_INPUT, "This field cannot be cleared.", name)
    types = KEEP if event_types is KEEP else check_types(event_types)
    text = KEEP if description is KEEP else _description(description or "")
    checked = KEEP if url is KEEP else await check_url(url, settings)

    async def use_case(session: AsyncSession) -> Outcome[models.WebhookEndpoint]:
        row = await _endpoint(session, scope, id)
        before = snapshot(row)
        if checked is not KEEP:
            row.url = checked
        if types is not KEEP:
            row.event_types = types
        if text is not KEEP:
            row.description = text
        if enabled is not KEEP and enabled != row.enabled:
            row.enabled = enabled
            if enabled:
                row.disabled_reason = None
                row.failing_since = None
                row.due_at = models.utcnow()
            else:
                row.disabled_reason = "disabled by " + (scope.actor_name or scope.actor)
        after = snapshot(row)
        if after != before:
            row.updated_at = models.utcnow()
            await session.flush()
            changes.record_by(session, scope, "updateWebhookEndpoint", row, before, after)
        return Outcome(row)

    return await run_write(scope, use_case)


async def delete_endpoint(scope: TenantScope, id: UUID | None) -> Outcome[UUID]:
    """deleteWebhookEndpoint: the endpoint, its deliveries and their attempts are gone."""

    async def use_case(session: AsyncSession) -> Outcome[UUID]:
        row = await _endpoint(session, scope, id)
        org = scope.organization_id
        d, a = models.WebhookDelivery, models.WebhookAttempt
        deliveries = select(d.id).where(d.organization_id == org, d.endpoint_id == row.id)
        await session.execute(
            delete(a).where(a.organization_id == org, a.delivery_id.in_(deliveries))
        )
        await session.execute(delete(d).where(d.organization_id == org, d.endpoint_id == row.id))
        changes.record_by(session, scope, "deleteWebhookEndpoint", row, snapshot(row), None)
        await session.delete(row)
        return Outcome(row.id)

    return await run_write(scope, use_case)


async def rotate_secret(scope: TenantScope, settings: Settings, id: UUID | None) -> Outcome[Issued]:
    """rotateWebhookSecret: a new secret signs from now on; the previous one signs beside it
    for ROTATION_OVERLAP (a rotation during an overlap ends the older secret at once)."""
    sealer = _sealer(settings)
    secret = signing.new_secret()

    async def use_case(session: AsyncSession) -> Outcome[Issued]:
        row = await _endpoint(session, scope, id)
        before = snapshot(row)
        now = models.utcnow()
        row.previous_secret = row.secret
        row.previous_secret_until = now + ROTATION_OVERLAP
        row.secret = sealer.seal(secret)
        row.updated_at = now
        await session.flush()
        changes.record_by(session, scope, "rotateWebhookSecret", row, before, snapshot(row))
        return Outcome(Issued(row, secret))

    return await run_write(scope, use_case)


def signing_secrets(row: models.WebhookEndpoint, sealer: Sealer, now: datetime) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous one during
    the overlap after a rotation."""
    found = [sealer.open(row.secret)]
    if row.previous_secret and row.previous_secret_until and row.previous_secret_until > now:
        found.append(sealer.open(row.previous_secret))
    return found


def body(payload: dict[str, Any]) -> bytes:
    """The bytes that are sent and signed."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def take_sequences(session: AsyncSession, row: models.WebhookEndpoint, count: int) -> int:
    """Reserve `count` places in the endpoint's delivery order; returns the first. One
    UPDATE, so concurrent writers (the dispatcher, redeliveries) never share a place."""
    e = models.WebhookEndpoint
    last = await session.scalar(
        update(e)
        .where(e.organization_id == row.organization_id, e.id == row.id)
        .values(next_sequence=e.next_sequence + count)
        .returning(e.next_sequence)
        .execution_options(synchronize_session=False)
    )
    assert last is not None
    return int(last) - count + 1


async def send_test(scope: TenantScope, settings: Settings, id: UUID | None) -> Outcome[Listed]:
    """sendTestWebhook: a `webhook.test` message signed and sent now, once (no retries): the
    answer says how the endpoint took it, and the deliveries list keeps it."""
    sealer = _sealer(settings)
    async with scope.db.read() as session:
        row = await _endpoint_read(session, scope, id)
    now = models.utcnow()
    message = uuid4()
    payload = {
        "id": str(message),
        "type": TEST_TYPE,
        "occurredAt": now.isoformat(),
        "organizationId": str(scope.organization_id),
        "data": {"endpointId": events.global_id("WebhookEndpoint", row.id)},
    }
    content = body(payload)
    try:
        secrets_ = signing_secrets(row, sealer, now)
    except SealingError as exc:
        raise refuse(NOT_CONFIGURED, str(exc)) from exc
    headers = signing.headers(secrets_, str(message), int(now.timestamp()), content)
    async with outbound.client(settings.webhooks.ca_file) as http:
        result = await outbound.post(
            http,
            row.url,
            headers,
            content,
            seconds=settings.webhooks.timeout_seconds,
            allow_private=settings.webhooks.allow_private_networks,
            resolver=destinations.system_resolver,
        )

    async def use_case(session: AsyncSession) -> Outcome[Listed]:
        endpoint = await _endpoint(session, scope, id)
        delivery = models.WebhookDelivery(
            organization_id=scope.organization_id,
            id=uuid4(),
            endpoint_id=endpoint.id,
            sequence=await take_sequences(session, endpoint, 1),
            message_id=message,
            event_type=TEST_TYPE,
            payload=payload,
            status=SUCCEEDED if result.succeeded else FAILED,
            attempts=1,
            created_at=now,
            finished_at=models.utcnow(),
        )
        session.add(delivery)
        await session.flush()  # the attempt refers to it
        attempt = record_attempt(delivery, now, result)
        session.add(attempt)
        changes.record_by(session, scope, "sendTestWebhook", delivery, None, _sent(delivery))
        return Outcome(Listed(delivery, [attempt]))

    return await run_write(scope, use_case)


def _sent(delivery: models.WebhookDelivery) -> dict[str, Any]:
    """What the audit trail keeps of a message sent by hand (never its body)."""
    return {
        "id": str(delivery.id),
        "endpoint_id": str(delivery.endpoint_id),
        "message_id": str(delivery.message_id),
        "event_type": delivery.event_type,
        "status": delivery.status,
    }


def record_attempt(
    delivery: models.WebhookDelivery, at: datetime, result: outbound.Result
) -> models.WebhookAttempt:
    return models.WebhookAttempt(
        organization_id=delivery.organization_id,
        id=uuid4(),
        delivery_id=delivery.id,
        attempted_at=at,
        duration_ms=result.duration_ms,
        status_code=result.status_code,
        error=result.error,
    )


async def redeliver(scope: TenantScope, delivery_id: UUID | None) -> Outcome[Listed]:
    """redeliverWebhook: the same message (same webhook-id and body) queued again, after
    what the endpoint already has queued; the original keeps its attempts."""

    async def use_case(session: AsyncSession) -> Outcome[Listed]:
        original = await lookups.get(
            session, models.WebhookDelivery, scope.organization_id, delivery_id, "deliveryId"
        )
        endpoint = await _endpoint(session, scope, original.endpoint_id, "deliveryId")
        now = models.utcnow()
        again = models.WebhookDelivery(
            organization_id=scope.organization_id,
            id=uuid4(),
            endpoint_id=endpoint.id,
            sequence=await take_sequences(session, endpoint, 1),
            message_id=original.message_id,
            event_type=original.event_type,
            payload=original.payload,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(again)
        endpoint.due_at = now
        await session.flush()
        changes.record_by(session, scope, "redeliverWebhook", again, None, _sent(again))
        return Outcome(Listed(again, []))

    return await run_write(scope, use_case)


async def _endpoint_read(
    session: AsyncSession, scope: TenantScope, id: UUID | None
) -> models.WebhookEndpoint:
    row = await lookups.get(session, models.WebhookEndpoint, scope.organization_id, id, "id")
    owner = owner_filter(scope)
    if owner is not None and row.owner != owner:
        raise refuse(NOT_FOUND, "No webhook endpoint with this id.", "id")
    return row


async def endpoints(session: AsyncSession, scope: TenantScope) -> list[models.WebhookEndpoint]:
    e = models.WebhookEndpoint
    query = select(e).where(e.organization_id == scope.organization_id)
    if (owner := owner_filter(scope)) is not None:
        query = query.where(e.owner == owner)
    return list(await session.scalars(query.order_by(e.created_at, e.id)))


async def endpoint(
    session: AsyncSession, scope: TenantScope, id: UUID
) -> models.WebhookEndpoint | None:
    row = await session.get(models.WebhookEndpoint, (scope.organization_id, id))
    owner = owner_filter(scope)
    if row is None or (owner is not None and row.owner != owner):
        return None
    return row


async def deliveries(
    session: AsyncSession,
    scope: TenantScope,
    endpoint_id: UUID,
    status: str | None,
    before: int | None,
    limit: int,
) -> tuple[list[Listed], bool] | None:
    """The endpoint's deliveries, newest first (before the sequence `before`, when given),
    each with its attempts, oldest first; None when the caller may not see the endpoint.
    Two queries, whatever the page's size."""
    if await endpoint(session, scope, endpoint_id) is None:
        return None
    d, a = models.WebhookDelivery, models.WebhookAttempt
    query = select(d).where(
        d.organization_id == scope.organization_id, d.endpoint_id == endpoint_id
    )
    if status is not None:
        query = query.where(d.status == status)
    if before is not None:
        query = query.where(d.sequence < before)
    rows = list(await session.scalars(query.order_by(d.sequence.desc()).limit(limit + 1)))
    page = rows[:limit]
    attempts: dict[UUID, list[models.WebhookAttempt]] = {r.id: [] for r in page}
    if page:
        found = await session.scalars(
            select(a)
            .where(a.organization_id == scope.organization_id, a.delivery_id.in_(attempts))
            .order_by(a.attempted_at, a.id)
        )
        for attempt in found:
            attempts[attempt.delivery_id].append(attempt)
    return [Listed(r, attempts[r.id]) for r in page], len(rows) > limit


async def count(
    session: AsyncSession, scope: TenantScope, endpoint_id: UUID, status: str | None
) -> int:
    d = models.WebhookDelivery
    query = select(func.count()).where(
        d.organization_id == scope.organization_id, d.endpoint_id == endpoint_id
    )
    if status is not None:
        query = query.where(d.status == status)
    return int(await session.scalar(query) or 0)
