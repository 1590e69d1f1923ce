"""The outbox: the domain events of every write, appended in the write's own transaction,
and the feed that reads them in commit order.

`changes.record_by` (which every audited use case calls) calls `append`, so a write and its
events commit together or not at all, and no use case can forget them. Each event costs one
INSERT, made at commit with the organization's next feed position (services.positions).

A payload carries ids, the type, the time, the organization and the facts a partner acts on
(service line, dates, status, provider id and NPI, payor id, version); never a name, a date
of birth, a member id or a note: a partner reads those through the API with its own token.
Ids are the API's global ids, so `node(id:)` resolves them. The JSON Schema of every type
ships in the package (cmgraph/schemas/events/<type>.json) and docs/events.md lists them.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from importlib import resources
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from cmgraph.db import models
from cmgraph.services import positions

Facts = dict[str, Any]

# Every event type, in the catalogue's order (docs/events.md).
TYPES: tuple[str, ...] = (
    "client.created",
    "client.updated",
    "provider.created",
    "provider.updated",
    "payor.created",
    "payor.updated",
    "coverage.created",
    "coverage.updated",
    "enrollment.created",
    "enrollment.updated",
    "appointment.created",
    "appointment.updated",
    "case_manager.assigned",
    "case_manager.updated",
    "case_manager.ended",
    "case_manager.removed",
    # webhook delivery (services.dispatch): not of a write, of the dispatcher
    "webhook.delivery_failed",
    "webhook.endpoint_disabled",
)
# What webhooks themselves say: never delivered to the endpoint they are about.
WEBHOOK_TYPES: tuple[str, ...] = ("webhook.delivery_failed", "webhook.endpoint_disabled")

_NPI = "providerNpi"
_NPI_WANTED = "cmgraph.events.npi_wanted"  # event id -> provider not loaded by the write


def global_id(type_name: str, id: UUID) -> str:
    """The API's global id (api.ids.encode; a test holds the two equal): payloads name rows
    as the API does, so a partner resolves them with `node(id:)`."""
    return base64.urlsafe_b64encode(f"{type_name}:{id}".encode()).decode().rstrip("=")


# The clients and providers an import's appointments name come back thousands of times.
_person_id = functools.lru_cache(maxsize=4096)(global_id)


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _instant(value: datetime) -> str:
    return value.isoformat()


def _client(row: models.Client) -> Facts:
    return {"clientId": global_id("Client", row.id), "externalId": row.external_id}


def _provider(row: models.Provider) -> Facts:
    return {"providerId": global_id("Provider", row.id), "npi": row.npi, "active": row.active}


def _payor(row: models.Payor) -> Facts:
    return {
        "payorId": global_id("Payor", row.id),
        "payerId": row.payer_id,
        "kind": row.kind,
        "plugins": list(row.plugins),
    }


def _coverage(row: models.Coverage) -> Facts:
    return {
        "coverageId": global_id("Coverage", row.id),
        "clientId": global_id("Client", row.client_id),
        "payorId": global_id("Payor", row.payor_id),
        "priority": row.priority,
        "effectiveFrom": _day(row.effective_from),
        "effectiveTo": _day(row.effective_to),
    }


def _enrollment(row: models.Enrollment) -> Facts:
    return {
        "enrollmentId": global_id("Enrollment", row.id),
        "providerId": global_id("Provider", row.provider_id),
        "payorId": global_id("Payor", row.payor_id),
        "status": row.status,
        "effectiveFrom": _day(row.effective_from),
        "effectiveTo": _day(row.effective_to),
    }


def _appointment(row: models.Appointment) -> Facts:
    return {
        "appointmentId": global_id("Appointment", row.id),
        "clientId": _person_id("Client", row.client_id),
        "providerId": _person_id("Provider", row.provider_id),
        "serviceLine": row.service_line,
        "startsAt": _instant(row.starts_at),
        "endsAt": _instant(row.ends_at),
        "dateOfService": _day(row.date_of_service),
        "status": row.status,
        "serviceCode": row.service_code,
        "telehealth": row.telehealth,
    }


def _assignment(row: models.Assignment) -> Facts:
    return {
        "assignmentId": global_id("CaseManagerAssignment", row.id),
        "clientId": global_id("Client", row.client_id),
        "serviceLine": row.service_line,
        "providerId": global_id("Provider", row.provider_id),
        _NPI: None,
        "startDate": _day(row.start_date),
        "endDate": _day(row.end_date),
        "version": row.version,
    }


_ENTITIES: dict[type[models.Tenant], tuple[str, Callable[[Any], Facts]]] = {
    models.Client: ("client", _client),
    models.Provider: ("provider", _provider),
    models.Payor: ("payor", _payor),
    models.Coverage: ("coverage", _coverage),
    models.Enrollment: ("enrollment", _enrollment),
    models.Appointment: ("appointment", _appointment),
}


def event_type(
    operation: str, row: models.Tenant, before: Facts | None, after: Facts | None
) -> str | None:
    """The type of the event a change makes, or None when it makes none (tokens, say).
    A change of case manager is two changes, so two events: the current assignment ended,
    then the new one assigned."""
    if isinstance(row, models.Assignment):
        if after is None:
            return "case_manager.removed"
        if before is None:
            return "case_manager.assigned"
        return "case_manager.ended" if operation == "changeCaseManager" else "case_manager.updated"
    entity = _ENTITIES.get(type(row))
    if entity is None:
        return None
    return f"{entity[0]}.created" if before is None else f"{entity[0]}.updated"


def _facts(row: models.Tenant) -> Facts:
    if isinstance(row, models.Assignment):
        return _assignment(row)
    return _ENTITIES[type(row)][1](row)


def append(
    session: AsyncSession,
    organization_id: UUID,
    operation: str,
    row: models.Tenant,
    before: Facts | None,
    after: Facts | None,
) -> None:
    """Stage the event of one change in the caller's transaction (inserted at commit)."""
    kind = event_type(operation, row, before, after)
    if kind is None:
        return
    event: Facts = {
        "organization_id": organization_id,
        "id": positions.new_id(),
        "type": kind,
        "occurred_at": models.utcnow(),
        "data": _facts(row),
    }
    if isinstance(row, models.Assignment):
        key = identity_key(models.Provider, (organization_id, row.provider_id))
        loaded = session.identity_map.get(key)
        if isinstance(loaded, models.Provider):
            event["data"][_NPI] = loaded.npi
        else:
            session.info.setdefault(_NPI_WANTED, {})[event["id"]] = row.provider_id
    positions.stage_values(session, models.Event, event)


def created_facts(
    model: type[models.Tenant], rows: Sequence[Mapping[str, Any]], made: Sequence[models.Tenant]
) -> list[Facts]:
    """The payload of each new row's event (rows: their columns; made: their objects, in the
    same order); an appointment's made from its columns, as _appointment makes it from the
    row: a bulk import makes a hundred thousand."""
    if model is models.Assignment:
        raise ValueError("an assignment's event names its provider's NPI: use append")
    if model is models.Appointment:
        return _appointments(rows)
    return [_facts(row) for row in made]


def _appointments(rows: Sequence[Mapping[str, Any]]) -> list[Facts]:
    clients = _named("Client", {r["client_id"].int: r["client_id"] for r in rows})
    providers = _named("Provider", {r["provider_id"].int: r["provider_id"] for r in rows})
    return [
        {
            "appointmentId": global_id("Appointment", r["id"]),
            "clientId": clients[r["client_id"].int],
            "providerId": providers[r["provider_id"].int],
            "serviceLine": r["service_line"],
            "startsAt": _instant(r["starts_at"]),
            "endsAt": _instant(r["ends_at"]),
            "dateOfService": _day(r["date_of_service"]),
            "status": r["status"],
            "serviceCode": r["service_code"],
            "telehealth": r["telehealth"],
        }
        for r in rows
    ]


def _named(type_name: str, ids: dict[int, UUID]) -> dict[int, str]:
    """Global ids of ids, by their number (a UUID hashes in Python; its number in C)."""
    return {number: global_id(type_name, id) for number, id in ids.items()}


def append_facts(
    session: AsyncSession, organization_id: UUID, kind: str | None, data: Facts
) -> None:
    """Stage an event of a change whose type and payload the caller made (created_facts);
    none when kind is None (event_type)."""
    if kind is None:
        return
    positions.stage_values(
        session,
        models.Event,
        {
            "organization_id": organization_id,
            "id": positions.new_id(),
            "type": kind,
            "occurred_at": models.utcnow(),
            "data": data,
        },
    )


def emit(session: AsyncSession, organization_id: UUID, kind: str, data: Facts) -> models.Event:
    """Stage an event that no audited write makes (the dispatcher's: a delivery failed for
    good, an endpoint disabled) in the caller's transaction."""
    assert kind in TYPES, kind
    event = models.Event(
        organization_id=organization_id,
        id=positions.new_id(),
        type=kind,
        occurred_at=models.utcnow(),
        data=data,
    )
    positions.stage(session, event)
    return event


async def head(session: AsyncSession, organization_id: UUID) -> int:
    """The organization's last visible event position (0 before the first): every event at
    or before it is visible, since positions become visible in order."""
    e = models.Event
    found = await session.scalar(
        select(func.max(e.position)).where(e.organization_id == organization_id)
    )
    return int(found or 0)


def _complete_npis(session: Session, staged: list[positions.Staged]) -> None:
    """Fill in the NPIs of providers the write had not loaded: one query for all of them,
    run before the organization's counter is locked."""
    wanted: dict[UUID, UUID] = session.info.pop(_NPI_WANTED, {})
    missing = [
        row.values for row in staged if row.model is models.Event and row.values["id"] in wanted
    ]
    if not missing:
        return
    p = models.Provider
    npis = dict(
        session.execute(
            select(p.id, p.npi).where(
                p.organization_id.in_({row["organization_id"] for row in missing}),
                p.id.in_(set(wanted.values())),
            )
        ).all()
    )
    for row in missing:
        row["data"] = {**row["data"], _NPI: npis.get(wanted[row["id"]])}


positions.before_sealing(_complete_npis)


def envelope(row: models.Event) -> Facts:
    """The whole event as a partner receives it (a webhook body; the feed's node): what
    cmgraph/schemas/events/<type>.json describes."""
    return {
        "id": str(row.id),
        "type": row.type,
        "occurredAt": _instant(row.occurred_at),
        "organizationId": str(row.organization_id),
        "data": row.data,
    }


def schema(event_type: str) -> Facts:
    """The JSON Schema of one event type, as shipped in the package."""
    path = resources.files("cmgraph") / "schemas" / "events" / f"{event_type}.json"
    loaded: Facts = json.loads(path.read_text(encoding="utf-8"))
    return loaded


async def after(
    session: AsyncSession,
    organization_id: UUID,
    position: int,
    limit: int,
    types: Sequence[str] | None = None,
) -> tuple[list[models.Event], bool]:
    """The events after `position` (of `types`, when given), in commit order: at most
    `limit` of them, and whether more follow. A keyset read on (organization_id, position):
    a page deep in the feed costs what the first costs. A webhook dispatcher reads an
    endpoint's events with this, keeping the last position it delivered."""
    e = models.Event
    query = select(e).where(e.organization_id == organization_id, e.position > position)
    if types is not None:
        query = query.where(e.type.in_(types))
    rows = list(await session.scalars(query.order_by(e.position).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


async def count(session: AsyncSession, organization_id: UUID, types: Sequence[str] | None) -> int:
    e = models.Event
    query = select(func.count()).select_from(e).where(e.organization_id == organization_id)
    if types is not None:
        query = query.where(e.type.in_(types))
    return int(await session.scalar(query) or 0)
