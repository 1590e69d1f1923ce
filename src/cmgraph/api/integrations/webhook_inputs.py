"""Input types of the webhook mutations."""

from __future__ import annotations

import strawberry


@strawberry.input(name="CreateWebhookEndpointInput")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(
        description="https only, to a public address (checked again at each delivery)."
    )
    event_types: list[str] = strawberry.field(
        description="The event types to deliver (docs/events.md lists them)."
    )
    description: str = ""


@strawberry.input(name="UpdateWebhookEndpointInput")
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    url: str | None = strawberry.UNSET
    event_types: list[str] | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET


@strawberry.input(name="WebhookEndpointIdInput")
class WebhookEndpointIdInput:
    id: strawberry.ID


@strawberry.input(name="RedeliverWebhookInput")
class RedeliverWebhookInput:
    delivery_id: strawberry.ID
