"""Webhook mutations: endpoints made, changed, rotated and deleted; a test sent; a delivery
sent again. Admins and integration tokens with `webhooks:write` (an integration only on the
endpoints it made)."""

from __future__ import annotations

from uuid import UUID

import strawberry

from cmgraph.api import ids
from cmgraph.api.context import Info
from cmgraph.api.integrations.webhook_inputs import (
    CreateWebhookEndpointInput,
    RedeliverWebhookInput,
    UpdateWebhookEndpointInput,
    WebhookEndpointIdInput,
)
from cmgraph.api.integrations.webhook_types import WebhookDelivery, WebhookEndpoint
from cmgraph.api.parsing import given, parse_id
from cmgraph.api.payloads import UserError, payload, perform, user_errors
from cmgraph.api.permissions import may_subscribe
from cmgraph.services import records, webhooks
from cmgraph.services.outcome import KEEP, Outcome, refuse

FORBIDDEN = "FORBIDDEN"


@strawberry.type(name="WebhookEndpointSecretPayload")
class WebhookEndpointSecretPayload:
    secret: str | None = strawberry.field(
        description="The signing secret (`whsec_` + base64), shown only in this answer: "
        "give it to the receiver's Standard Webhooks library."
    )
    webhook_endpoint: WebhookEndpoint | None
    user_errors: list[UserError]


@strawberry.type(name="UpdateWebhookEndpointPayload")
class UpdateWebhookEndpointPayload:
    webhook_endpoint: WebhookEndpoint | None
    user_errors: list[UserError]


@strawberry.type(name="DeleteWebhookEndpointPayload")
class DeleteWebhookEndpointPayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.type(name="WebhookDeliveryPayload")
class WebhookDeliveryPayload:
    delivery: WebhookDelivery | None
    user_errors: list[UserError]


def _check_subscription(info: Info, types: list[str] | None) -> None:
    """An integration subscribes only to events of what its token may read."""
    for kind in types or ():
        if not may_subscribe(info.context.principal, kind):
            raise refuse(
                FORBIDDEN,
                f"This token may not read what {kind!r} is about: it needs a read or write "
                "scope of that resource, or events:read.",
                "eventTypes",
            )


def _endpoint_id(value: strawberry.ID) -> UUID | None:
    return parse_id(value, "WebhookEndpoint", "id")


def _secret_payload(outcome: Outcome[webhooks.Issued]) -> WebhookEndpointSecretPayload:
    issued = outcome.value
    return WebhookEndpointSecretPayload(
        secret=issued.secret if issued else None,
        webhook_endpoint=WebhookEndpoint.of(issued.row) if issued else None,
        user_errors=user_errors(outcome),
    )


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Deliver the events of `eventTypes` committed from now on to `url`. The "
        "answer carries the signing secret, this once."
    )
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> WebhookEndpointSecretPayload:
        context = info.context

        async def work() -> Outcome[webhooks.Issued]:
            _check_subscription(info, input.event_types)
            return await webhooks.create(
                context.scope, context.settings, input.url, input.event_types, input.description
            )

        return _secret_payload(await perform(info, work))

    @strawberry.mutation(
        description="Change an endpoint (fields left out are kept); `enabled: true` resumes a "
        "disabled one where it stopped."
    )
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> UpdateWebhookEndpointPayload:
        context = info.context

        async def work() -> Outcome[records.WebhookEndpoint]:
            types = given(input.event_types)
            if types is not KEEP:
                _check_subscription(info, types)
            return await webhooks.update_endpoint(
                context.scope,
                context.settings,
                _endpoint_id(input.id),
                url=given(input.url),
                event_types=types,
                description=given(input.description),
                enabled=given(input.enabled),
            )

        return payload(UpdateWebhookEndpointPayload, await perform(info, work), WebhookEndpoint.of)

    @strawberry.mutation(description="Delete an endpoint, its deliveries and their attempts.")
    async def delete_webhook_endpoint(
        self, info: Info, input: WebhookEndpointIdInput
    ) -> DeleteWebhookEndpointPayload:
        scope = info.context.scope
        outcome = await perform(
            info, lambda: webhooks.delete_endpoint(scope, _endpoint_id(input.id))
        )
        return DeleteWebhookEndpointPayload(
            deleted_id=(
                strawberry.ID(ids.encode("WebhookEndpoint", outcome.value))
                if outcome.value
                else None
            ),
            user_errors=user_errors(outcome),
        )

    @strawberry.mutation(
        description="A new signing secret, answered this once; the previous one signs beside "
        "it for 24 hours, so receivers switch without losing a message."
    )
    async def rotate_webhook_secret(
        self, info: Info, input: WebhookEndpointIdInput
    ) -> WebhookEndpointSecretPayload:
        context = info.context
        outcome = await perform(
            info,
            lambda: webhooks.rotate_secret(context.scope, context.settings, _endpoint_id(input.id)),
        )
        return _secret_payload(outcome)

    @strawberry.mutation(
        description="Send a signed `webhook.test` message to the endpoint now (once, no "
        "retries); the delivery answered says how the endpoint took it."
    )
    async def send_test_webhook(
        self, info: Info, input: WebhookEndpointIdInput
    ) -> WebhookDeliveryPayload:
        context = info.context
        outcome = await perform(
            info,
            lambda: webhooks.send_test(context.scope, context.settings, _endpoint_id(input.id)),
        )
        return payload(WebhookDeliveryPayload, outcome, WebhookDelivery.of)

    @strawberry.mutation(
        description="Send a delivery's message again (same webhook-id and body), after what "
        "its endpoint already has queued."
    )
    async def redeliver_webhook(
        self, info: Info, input: RedeliverWebhookInput
    ) -> WebhookDeliveryPayload:
        scope = info.context.scope
        outcome = await perform(
            info,
            lambda: webhooks.redeliver(
                scope, parse_id(input.delivery_id, "WebhookDelivery", "deliveryId")
            ),
        )
        return payload(WebhookDeliveryPayload, outcome, WebhookDelivery.of)
