"""Root query fields of webhooks: the caller's endpoints and an endpoint's deliveries."""

from __future__ import annotations

import strawberry

from cmgraph.api.connection import Connection
from cmgraph.api.context import Info
from cmgraph.api.errors import InputError
from cmgraph.api.integrations.webhook_types import (
    DELIVERIES_CURSOR,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from cmgraph.api.lookahead import selected_paths
from cmgraph.api.pagination import keyset_after, keyset_cursor, page_size
from cmgraph.api.parsing import query_id
from cmgraph.services import webhooks
from cmgraph.services.outcome import NOT_FOUND


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="The webhook endpoints: all of them for an admin, its own for an "
        "integration token."
    )
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        scope = info.context.scope
        rows = await info.context.reader.run(lambda s: webhooks.endpoints(s, scope))
        return [WebhookEndpoint.of(r) for r in rows]

    @strawberry.field(
        description="An endpoint's deliveries, newest first, each with every attempt (time, "
        "status code, duration, error class); `status` filters."
    )
    async def webhook_deliveries(
        self,
        info: Info,
        endpoint_id: strawberry.ID,
        status: WebhookDeliveryStatus | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        limit = page_size(first, info.context.settings.max_page_size)
        key = keyset_after(after, DELIVERIES_CURSOR, (int,))
        endpoint = query_id(endpoint_id, "WebhookEndpoint", "endpointId")
        scope = info.context.scope
        found = None
        if endpoint is not None:
            found = await info.context.reader.run(
                lambda s: webhooks.deliveries(
                    s,
                    scope,
                    endpoint,
                    status.value if status else None,
                    int(key[0]) if key else None,
                    limit,
                )
            )
        if found is None:
            raise InputError("No webhook endpoint with this id.", NOT_FOUND, ["endpointId"])
        listed, more = found
        total = None
        if endpoint is not None and "totalCount" in selected_paths(info):
            total = await info.context.reader.run(
                lambda s: webhooks.count(s, scope, endpoint, status.value if status else None)
            )
        nodes = [WebhookDelivery.of(item) for item in listed]
        return Connection[WebhookDelivery].keyset(
            nodes,
            [keyset_cursor(DELIVERIES_CURSOR, (n.sequence,)) for n in nodes],
            has_next=more,
            has_previous=key is not None,
            total=total,
        )
