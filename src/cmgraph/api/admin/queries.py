"""Root query fields of the audit trail and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from cmgraph.api import ids
from cmgraph.api.admin.types import ApiToken, AuditEvent
from cmgraph.api.connection import Connection
from cmgraph.api.context import Info
from cmgraph.api.errors import InputError
from cmgraph.api.pagination import keyset_after, keyset_cursor, page_size
from cmgraph.services import audit, tokens


def entity_uuid(global_id: str) -> Any:
    """The uuid of any global id, whatever its type (audit events name every kind)."""
    decoded = ids.decode(global_id)
    return decoded[1] if decoded else None


AUDIT_CURSOR = "auditEvents"


@strawberry.type
class AdminQueries:
    @strawberry.field(
        description="The audit trail in commit order: every change, or those of one entity "
        "(any global id) and within [from, to]. Keyset cursors: a change that commits after "
        "a page was read comes after its end cursor, never before it."
    )
    async def audit_events(
        self,
        info: Info,
        entity_id: strawberry.ID | None = None,
        since: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        for value, name in ((since, "from"), (to, "to")):
            if value is not None and value.utcoffset() is None:
                raise InputError(
                    "A date-time needs an offset (e.g. 2026-03-08T09:00-05:00).", field=[name]
                )
        limit = page_size(first, info.context.settings.max_page_size)
        key = keyset_after(after, AUDIT_CURSOR, (int,))
        position = int(key[0]) if key else 0
        if entity_id is not None and entity_uuid(entity_id) is None:
            raise InputError("Malformed id.", field=["entityId"])
        window = audit.Window(entity_uuid(entity_id) if entity_id else None, since, to)
        org = info.context.scope.organization_id
        total, rows, more = await info.context.reader.run(
            lambda session: audit.events(session, org, window, position, limit)
        )
        return Connection[AuditEvent].keyset(
            [AuditEvent.of(r) for r in rows],
            [keyset_cursor(AUDIT_CURSOR, (r.position,)) for r in rows],
            has_next=more,
            has_previous=key is not None,
            total=total,
        )

    @strawberry.field(description="The organization's API tokens (never their secrets).")
    async def api_tokens(self, info: Info) -> list[ApiToken]:
        org = info.context.scope.organization_id
        rows = await info.context.reader.run(lambda session: tokens.listed(session, org))
        return [ApiToken.of(r) for r in rows]
