"""Change records for the demo's rows, as if an administrator had entered each one."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from cmgraph.db.models import Assignment, Base, ChangeRecord, Client, Payor, Provider
from cmgraph.demo.catalog import ACTOR, OPERATION

Audited = Client | Provider | Payor | Assignment

AUDITED: dict[type[Base], tuple[str, tuple[str, ...]]] = {
    Client: ("Client", ("id", "first_name", "last_name", "date_of_birth", "external_id")),
    Provider: ("Provider", ("id", "first_name", "last_name", "npi", "active")),
    Payor: ("Payor", ("id", "name", "payer_id", "kind", "plugins")),
    Assignment: (
        "CaseManagerAssignment",
        ("id", "client_id", "service_line", "provider_id", "start_date", "end_date", "note"),
    ),
}


def _jsonable(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def change_records(organization_id: uuid.UUID, rows: Iterable[Audited]) -> list[ChangeRecord]:
    """One "created" record per audited row, as if an administrator had entered it."""
    records = []
    for row in rows:
        entity_type, fields = AUDITED[type(row)]
        records.append(
            ChangeRecord(
                organization_id=organization_id,
                actor=ACTOR,
                operation=OPERATION,
                entity_type=entity_type,
                entity_id=row.id,
                before=None,
                after={name: _jsonable(getattr(row, name)) for name in fields},
            )
        )
    return records
