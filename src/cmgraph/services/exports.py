"""Export of any kind, in the columns import reads (services.csv_columns), streamed.

Rows are read in keyset batches of BATCH_ROWS (by id, in one snapshot), so memory stays
flat whatever the organization's size, and each batch is written before the next is read.
The case managers' export is the full history: who was case manager of which line, from
when to when, with the provider's NPI, which is what auditors ask for. Rows come in no
meaningful order; an exported file imports back unchanged into any organization.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services.csv_columns import Kind, names
from cmgraph.services.import_cells import credentials_text

BATCH_ROWS = 1000

AnySelect = Select[*tuple[Any, ...]]

Record = dict[str, str]


def _text(value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return " ".join(value)
    return str(value)


def _joined(model: Any, other: Any, column: str) -> Any:
    """`other` of the same organization that `model.column` points at."""
    return (other.organization_id == model.organization_id) & (other.id == getattr(model, column))


@dataclass(frozen=True)
class _Shape:
    """What a kind's export reads: the model, its rows with the natural keys of the records
    they refer to, and how one result row becomes the kind's columns."""

    model: Any
    query: AnySelect
    columns: Callable[[Any], dict[str, Any]]


def _payor(r: Any) -> dict[str, Any]:
    return {"payer_id": r.payer_id, "name": r.name, "kind": r.kind, "plugins": r.plugins}


def _provider(r: Any) -> dict[str, Any]:
    return {"npi": r.npi, "first_name": r.first_name, "last_name": r.last_name, "active": r.active}


def _client(r: Any) -> dict[str, Any]:
    return {
        "external_id": r.external_id,
        "first_name": r.first_name,
        "last_name": r.last_name,
        "date_of_birth": r.date_of_birth,
    }


def _enrollment(r: Any) -> dict[str, Any]:
    return {
        "npi": r.ref_npi,
        "payer_id": r.ref_payer_id,
        "effective_from": r.effective_from,
        "status": r.status,
        "effective_to": r.effective_to,
    }


def _coverage(r: Any) -> dict[str, Any]:
    return {
        "client_external_id": r.ref_external_id,
        "payer_id": r.ref_payer_id,
        "effective_from": r.effective_from,
        "priority": r.priority,
        "member_id": r.member_id,
        "effective_to": r.effective_to,
    }


def _appointment(r: Any) -> dict[str, Any]:
    return {
        "client_external_id": r.ref_external_id,
        "service_line": r.service_line,
        "starts_at": r.starts_at,
        "ends_at": r.ends_at,
        "provider_npi": r.ref_npi,
        "status": r.status,
        "service_code": r.service_code,
        "telehealth": r.telehealth,
    }


def _assignment(r: Any) -> dict[str, Any]:
    return {
        "client_external_id": r.ref_external_id,
        "service_line": r.service_line,
        "start_date": r.start_date,
        "provider_npi": r.ref_npi,
        "end_date": r.end_date,
        "note": r.note,
    }


def _columns(model: Any, *refs: Any) -> AnySelect:
    """Plain rows (no ORM objects: an export reads many) of the model's columns and the
    natural keys it refers to, labelled ref_<column>."""
    return select(*model.__table__.columns, *(ref.label(f"ref_{ref.key}") for ref in refs))


def _shape(kind: Kind) -> _Shape:
    c, p, y = models.Client, models.Provider, models.Payor
    if kind is Kind.PAYORS:
        return _Shape(y, _columns(y), _payor)
    if kind is Kind.PROVIDERS:
        return _Shape(p, _columns(p), _provider)
    if kind is Kind.CLIENTS:
        return _Shape(c, _columns(c), _client)
    if kind is Kind.ENROLLMENTS:
        e = models.Enrollment
        query = (
            _columns(e, p.npi, y.payer_id)
            .join(p, _joined(e, p, "provider_id"))
            .join(y, _joined(e, y, "payor_id"))
        )
        return _Shape(e, query, _enrollment)
    if kind is Kind.COVERAGES:
        v = models.Coverage
        query = (
            _columns(v, c.external_id, y.payer_id)
            .join(c, _joined(v, c, "client_id"))
            .join(y, _joined(v, y, "payor_id"))
        )
        return _Shape(v, query, _coverage)
    if kind is Kind.APPOINTMENTS:
        a = models.Appointment
        query = (
            _columns(a, c.external_id, p.npi)
            .join(c, _joined(a, c, "client_id"))
            .join(p, _joined(a, p, "provider_id"))
        )
        return _Shape(a, query, _appointment)
    m = models.Assignment
    query = (
        _columns(m, c.external_id, p.npi)
        .join(c, _joined(m, c, "client_id"))
        .join(p, _joined(m, p, "provider_id"))
    )
    return _Shape(m, query, _assignment)


async def _credentials(
    session: AsyncSession, org: UUID, provider_ids: Sequence[UUID]
) -> dict[UUID, list[facts.Credential]]:
    found: dict[UUID, list[facts.Credential]] = defaultdict(list)
    for c in await session.scalars(
        select(models.Credential).where(
            models.Credential.organization_id == org,
            models.Credential.provider_id.in_(provider_ids),
        )
    ):
        found[c.provider_id].append(
            facts.Credential(c.type, c.number, c.state, c.issued_on, c.expires_on)
        )
    return found


async def records(
    db: Database, organization_id: UUID, timezone: str, kind: Kind, batch_rows: int = BATCH_ROWS
) -> AsyncIterator[Record]:
    """The kind's records of the organization, batch by batch, as the import's columns."""
    shape = _shape(kind)
    model, zone, columns = shape.model, ZoneInfo(timezone), names(kind)
    query = shape.query.where(model.organization_id == organization_id).order_by(model.id)
    after: UUID | None = None
    async with db.snapshot() as session:
        while True:
            page = query if after is None else query.where(model.id > after)
            rows = (await session.execute(page.limit(batch_rows))).all()
            if not rows:
                return
            extra: dict[UUID, list[facts.Credential]] = {}
            if kind is Kind.PROVIDERS:
                extra = await _credentials(session, organization_id, [r.id for r in rows])
            for r in rows:
                values = shape.columns(r)
                if kind is Kind.PROVIDERS:
                    values["credentials"] = credentials_text(extra.get(r.id, []))
                yield {name: _text(values.get(name), zone) for name in columns}
            if len(rows) < batch_rows:
                return
            after = rows[-1].id


async def lines(records_: AsyncIterator[Record], kind: Kind, format: str) -> AsyncIterator[str]:
    """CSV (a header line first) or NDJSON (one object a line, null for empty)."""
    if format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=names(kind), lineterminator="\n")
        writer.writeheader()
        async for record in records_:
            writer.writerow(record)
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()
        return
    async for record in records_:
        yield json.dumps({k: v or None for k, v in record.items()}) + "\n"
