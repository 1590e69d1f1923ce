"""Webhook endpoints, their deliveries and attempts as partners and admins see them: never a
secret (createWebhookEndpoint and rotateWebhookSecret answer it once) nor a receiver's body."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from cmgraph.api import ids
from cmgraph.services import records, webhooks

DELIVERIES_CURSOR = "webhookDeliveries"


@strawberry.enum(name="WebhookDeliveryStatus")
class WebhookDeliveryStatus(enum.Enum):
    PENDING = "pending"  # waiting for its turn or its next attempt
    SUCCEEDED = "succeeded"  # a 2xx within the timeout
    FAILED = "failed"  # every attempt of the retry schedule failed (or a test's one)


@strawberry.type(
    name="WebhookEndpoint",
    description="Where events of the chosen types are delivered, signed by the Standard "
    "Webhooks specification (docs/webhooks.md).",
)
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    description: str
    event_types: list[str]
    enabled: bool = strawberry.field(
        description="False once disabled (by a caller, or after failing for 5 days): "
        "updateWebhookEndpoint(enabled: true) resumes where it stopped."
    )
    disabled_reason: str | None
    failing_since: datetime | None = strawberry.field(
        description="The first failed attempt since the last success."
    )
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="After rotateWebhookSecret, the previous secret signs too until then."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: records.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(ids.encode("WebhookEndpoint", row.id)),
            url=row.url,
            description=row.description,
            event_types=list(row.event_types),
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            failing_since=row.failing_since,
            previous_secret_expires_at=row.previous_secret_until,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(
    name="WebhookAttempt",
    description="One HTTP attempt: when, how long, the status code or the error class "
    "(TIMEOUT, CONNECT_ERROR, TLS_ERROR, PROTOCOL_ERROR, HTTP_STATUS, DNS_ERROR, "
    "ADDRESS_REFUSED, INVALID_URL). The receiver's body is never kept.",
)
class WebhookAttempt:
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None = strawberry.field(description="Null when the attempt succeeded.")


@strawberry.type(
    name="WebhookDelivery",
    description="One message for one endpoint: an event, a redelivery of one, or a test.",
)
class WebhookDelivery:
    id: strawberry.ID
    message_id: str = strawberry.field(
        description="The `webhook-id` header: the event's id, the same for every attempt "
        "and redelivery, so receivers dedupe on it."
    )
    event_type: str
    status: WebhookDeliveryStatus
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    payload: JSON = strawberry.field(description="The body delivered (the event's envelope).")
    attempts: list[WebhookAttempt]
    sequence: strawberry.Private[int]

    @classmethod
    def of(cls, listed: webhooks.Listed) -> WebhookDelivery:
        row = listed.delivery
        body: Any = row.payload
        return cls(
            id=strawberry.ID(ids.encode("WebhookDelivery", row.id)),
            message_id=str(row.message_id),
            event_type=row.event_type,
            status=WebhookDeliveryStatus(row.status),
            next_attempt_at=row.next_attempt_at,
            created_at=row.created_at,
            finished_at=row.finished_at,
            payload=body,
            attempts=[
                WebhookAttempt(
                    attempted_at=a.attempted_at,
                    duration_ms=a.duration_ms,
                    status_code=a.status_code,
                    error=a.error,
                )
                for a in listed.attempts
            ],
            sequence=row.sequence,
        )
