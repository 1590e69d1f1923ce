"""The change record (the audit trail): who, in which role, when, what, before and after, and
the request id (the server's, and the caller's X-Request-ID beside it), for every write."""

from __future__ import annotations

import enum
import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db import models
from cmgraph.services import events, findings, positions
from cmgraph.services.scope import TenantScope


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@functools.cache
def _columns(model: type[models.Base]) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """The attributes a snapshot copies, and a getter of all of them at once (asked once per
    model: a bulk import takes a hundred thousand snapshots)."""
    keys = tuple(c.key for c in sa_inspect(model).column_attrs if c.key != "organization_id")
    get = operator.attrgetter(*keys)
    return keys, (get if len(keys) > 1 else lambda row: (get(row),))


_AS_IS = frozenset({str, int, bool, float, type(None)})  # JSON-able already: most values
# The others a row's columns hold, by their exact type (what _plain would do, found at once)
_DIRECT: dict[type, Callable[[Any], Any]] = {
    UUID: str,
    datetime: datetime.isoformat,
    date: date.isoformat,
}


def _column_value(value: Any) -> Any:
    kind = type(value)
    if kind in _AS_IS:
        return value
    direct = _DIRECT.get(kind)
    return direct(value) if direct is not None else _plain(value)


def snapshot(row: models.Base, **extra: Any) -> dict[str, Any]:
    """A JSON-able copy of a row's columns (and any related facts passed in extra)."""
    keys, get = _columns(type(row))
    loaded = vars(row)
    try:
        # What each column's attribute answers when its value is loaded (most rows have
        # every one: a bulk import's, a use case's after its flush), read at once.
        values: Sequence[Any] = [loaded[key] for key in keys]
    except KeyError:  # one not loaded (expired, deferred): the attributes load it
        values = get(row)
    data = dict(zip(keys, map(_column_value, values), strict=True))
    data.update({k: _plain(v) for k, v in extra.items()})
    return data


def _column_values(values: list[Any]) -> list[Any]:
    """_column_value of each of a column's values, the conversion found once when the column
    holds values of one type (as a column does, None aside)."""
    kinds = set(map(type, values))
    if kinds <= _AS_IS:
        return values
    direct = _DIRECT.get(kinds.pop()) if len(kinds) == 1 else None
    return list(map(direct, values)) if direct is not None else list(map(_column_value, values))


def snapshots(model: type[models.Base], rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """snapshot() of each row of `model` given as its columns (every one, as db.bulk inserts
    them), made column by column: the same dicts, with the same keys in the same order."""
    keys, _ = _columns(model)
    columns = [_column_values([row[key] for row in rows]) for key in keys]
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]


def record(
    session: AsyncSession,
    *,
    organization_id: UUID,
    actor: str,
    operation: str,
    entity: models.Base,
    entity_id: UUID,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    role: str | None = None,
    actor_name: str | None = None,
    request_id: str | None = None,
    caller_request_id: str | None = None,
) -> None:
    """Append one event in the caller's transaction, so it commits with the change or not at
    all; it is inserted at commit, with its position in commit order (services.positions).
    Events are only ever inserted: no code updates or deletes them, and database triggers
    (migrations sec_0001, sec_0002) refuse it."""
    positions.stage_values(
        session,
        models.ChangeRecord,
        {
            "organization_id": organization_id,
            "id": positions.new_id(),
            "actor": actor,
            "role": role,
            "actor_name": actor_name or None,
            "request_id": request_id,
            "caller_request_id": caller_request_id,
            "operation": operation,
            "entity_type": type(entity).__name__,
            "entity_id": entity_id,
            "before": before,
            "after": after,
            "occurred_at": models.utcnow(),
        },
    )
    findings.note(session, entity, before)  # the stored findings it may change


def record_by(
    session: AsyncSession,
    scope: TenantScope,
    operation: str,
    row: models.Tenant,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """`record` for a use case: who, role and request come from the caller's scope. The
    domain events of the change (the outbox, services.events) are appended beside it."""
    record(
        session,
        organization_id=scope.organization_id,
        actor=scope.actor,
        role=scope.role,
        actor_name=scope.actor_name,
        request_id=scope.request_id,
        caller_request_id=scope.caller_request_id,
        operation=operation,
        entity=row,
        entity_id=row.id,
        before=before,
        after=after,
    )
    events.append(session, scope.organization_id, operation, row, before, after)


def record_created_rows(
    session: AsyncSession,
    scope: TenantScope,
    operation: str,
    model: type[models.Tenant],
    rows: Sequence[Mapping[str, Any]],
    made: Sequence[models.Tenant],
) -> None:
    """record_by(..., None, snapshot(row)) of each new row, rows given by their columns and
    `made` their objects (db.bulk.mapped), in order: the same change records and events,
    staged in the same order, their snapshots and payloads made column by column (a bulk
    import records a hundred thousand appointments)."""
    afters = snapshots(model, rows)
    org, entity_type = scope.organization_id, model.__name__
    who = {
        "actor": scope.actor,
        "role": scope.role,
        "actor_name": scope.actor_name or None,
        "request_id": scope.request_id,
        "caller_request_id": scope.caller_request_id,
        "operation": operation,
        "entity_type": entity_type,
    }
    payloads = events.created_facts(model, rows, made)
    for row, after, payload in zip(made, afters, payloads, strict=True):
        positions.stage_values(
            session,
            models.ChangeRecord,
            {
                "organization_id": org,
                "id": positions.new_id(),
                **who,
                "entity_id": row.id,
                "before": None,
                "after": after,
                "occurred_at": models.utcnow(),
            },
        )
        findings.note(session, row, None)
        events.append_facts(session, org, events.event_type(operation, row, None, after), payload)
