"""What a write returned, as JSON and back: recorded in the write's own transaction under
its Idempotency-Key (services.idempotency), so that a retry of a request whose answer was
lost answers from what was written instead of writing again.

Recorded: the written records by primary key (not their columns: the retry's answer shows
them as they are then), a removed record's id, and the rules' warnings in full. A value of
another kind cannot be recorded (encode raises Unrecordable); a retry is then told that the
answer was lost, as before.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db.models import Base
from cmgraph.facts import Finding, Severity
from cmgraph.services.outcome import Outcome


class Unrecordable(ValueError):
    """A write returned something that cannot be rebuilt from JSON."""


class Vanished(LookupError):
    """A recorded record is no longer there (removed since)."""


@functools.cache
def _models() -> dict[str, type[Base]]:
    return {mapper.class_.__name__: mapper.class_ for mapper in Base.registry.mappers}


def _scalar(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    if value is None or isinstance(value, (str, int)):
        return value
    raise Unrecordable(type(value).__name__)


def _unscalar(value: Any) -> Any:
    return uuid.UUID(value["uuid"]) if isinstance(value, dict) else value


def _value(value: Any) -> Any:
    if isinstance(value, Base):
        identity = inspect(value).identity
        if identity is None or type(value).__name__ not in _models():
            raise Unrecordable(type(value).__name__)
        return {"row": type(value).__name__, "key": [_scalar(k) for k in identity]}
    if isinstance(value, tuple):
        return {"tuple": [_value(v) for v in value]}
    return _scalar(value)


def _finding(finding: Finding) -> dict[str, Any]:
    fields = asdict(finding)
    fields["severity"] = finding.severity.value
    fields["date"] = finding.date.isoformat() if finding.date else None
    for name in ("client_id", "appointment_id", "payor_id"):
        fields[name] = str(fields[name]) if fields[name] else None
    fields["field"] = list(finding.field) if finding.field is not None else None
    return fields


def _unfinding(fields: dict[str, Any]) -> Finding:
    fields = dict(fields)
    fields["severity"] = Severity(fields["severity"])
    fields["date"] = date.fromisoformat(fields["date"]) if fields["date"] else None
    for name in ("client_id", "appointment_id", "payor_id"):
        fields[name] = uuid.UUID(fields[name]) if fields[name] else None
    fields["field"] = tuple(fields["field"]) if fields["field"] is not None else None
    return Finding(**fields)


def encode(outcome: Outcome[Any]) -> dict[str, Any]:
    """The JSON form of a committed write's outcome (it has no errors: it committed)."""
    return {
        "value": _value(outcome.value),
        "warnings": [_finding(w) for w in outcome.warnings],
    }


async def _revalue(session: AsyncSession, value: Any) -> Any:
    if isinstance(value, dict) and "row" in value:
        row = await session.get(_models()[value["row"]], tuple(_unscalar(k) for k in value["key"]))
        if row is None:
            raise Vanished(value["row"])
        return row
    if isinstance(value, dict) and "tuple" in value:
        return tuple([await _revalue(session, v) for v in value["tuple"]])
    return _unscalar(value)


async def decode(session: AsyncSession, recorded: dict[str, Any]) -> Outcome[Any]:
    """The outcome again, its records read now. Raises Vanished."""
    return Outcome(
        value=await _revalue(session, recorded["value"]),
        warnings=tuple(_unfinding(w) for w in recorded["warnings"]),
    )
