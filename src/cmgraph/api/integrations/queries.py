"""Root query field of the event feed."""

from __future__ import annotations

import strawberry

from cmgraph.api.connection import Connection
from cmgraph.api.context import Info
from cmgraph.api.errors import InputError
from cmgraph.api.integrations.types import EVENTS_CURSOR, Event
from cmgraph.api.lookahead import selected_paths
from cmgraph.api.pagination import keyset_after, page_size
from cmgraph.services import events

DEFAULT_PAGE = 100


def _types(types: list[str] | None) -> list[str] | None:
    if types is None:
        return None
    unknown = sorted(set(types) - set(events.TYPES))
    if unknown or not types:
        raise InputError(
            f"Unknown event type {unknown[0]!r}; the types are: {', '.join(events.TYPES)}."
            if unknown
            else "`types` needs at least one event type; leave it out for every type.",
            field=["types"],
        )
    return types


@strawberry.type
class EventQueries:
    @strawberry.field(
        description="The organization's domain events in commit order, after the cursor "
        "`after` (from the start without it), of `types` (every type without it). A consumer "
        "that keeps its last cursor sees every event exactly once, even when transactions "
        "commit in another order than they started."
    )
    async def events(
        self,
        info: Info,
        after: str | None = None,
        first: int | None = DEFAULT_PAGE,
        types: list[str] | None = None,
    ) -> Connection[Event]:
        limit = page_size(first, info.context.settings.max_page_size)
        key = keyset_after(after, EVENTS_CURSOR, (int,))
        wanted = _types(types)
        org = info.context.scope.organization_id
        rows, more = await info.context.reader.run(
            lambda session: events.after(session, org, int(key[0]) if key else 0, limit, wanted)
        )
        total = None
        if "totalCount" in selected_paths(info):
            total = await info.context.reader.run(
                lambda session: events.count(session, org, wanted)
            )
        nodes = [Event.of(r) for r in rows]
        return Connection[Event].keyset(
            nodes,
            [n.cursor for n in nodes],
            has_next=more,
            has_previous=key is not None,
            total=total,
        )
