"""A bulk import records its new appointments set-wise (changes.record_created_rows): the
change records and events it stages are those that record_created stages row by row, in
the same order, their snapshots and payloads to the byte of their JSON (ids and clock
times aside, made anew for each)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from cmgraph.db import bulk, ids, models
from cmgraph.services import changes, editing, findings, positions

ORG = uuid.uuid4()
SCOPE: Any = SimpleNamespace(
    organization_id=ORG,
    actor="importer",
    role="cli",
    actor_name="",
    request_id="req-1",
    caller_request_id=None,
)


class Staging:
    """What the recording functions ask of a session: its info, its identity map."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.identity_map: dict[Any, Any] = {}

    def staged(self) -> list[tuple[str, str]]:
        rows = []
        for row in self.info[positions._STAGED]:
            values = {k: v for k, v in row.values.items() if k not in ("id", "occurred_at")}
            rows.append((row.model.__name__, json.dumps(values, default=str)))
        return rows


def _appointments() -> list[dict[str, Any]]:
    clients, providers = [uuid.uuid4() for _ in range(3)], [uuid.uuid4() for _ in range(2)]
    zones = [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
    rows = []
    for i in range(12):
        starts = datetime(2026, 3, 1 + i, 9, 0, tzinfo=zones[i % 3])
        rows.append(
            {
                "organization_id": ORG,
                "id": ids.time_ordered(),
                "client_id": clients[i % 3],
                "service_line": "ABA" if i % 2 else "ST",
                "provider_id": providers[i % 2],
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=45 + i),
                "status": "COMPLETED" if i % 4 else "SCHEDULED",
                "service_code": None if i % 3 == 0 else "97153",
                "telehealth": i % 5 == 0,
                "created_at": models.utcnow(),
                "date_of_service": date(2026, 3, 1 + i),
            }
        )
    return rows


@pytest.mark.parametrize("model", [models.Appointment, models.Client])
def test_set_wise_records_are_those_of_row_by_row(model: type[models.Tenant]) -> None:
    if model is models.Appointment:
        rows = _appointments()
    else:
        rows = [
            {
                "organization_id": ORG,
                "id": uuid.uuid4(),
                "first_name": f"Ada{i}",
                "last_name": "L",
                "date_of_birth": date(2015, 1, 1 + i) if i else None,
                "external_id": f"C{i}",
                "created_at": models.utcnow(),
            }
            for i in range(4)
        ]
        rows = [{c.name: r.get(c.name) for c in model.__table__.columns} for r in rows]
    made = [bulk.mapped(model, r) for r in rows]
    one_by_one, together = Staging(), Staging()
    for row in made:
        editing.record_created(one_by_one, SCOPE, "op", row)  # type: ignore[arg-type]
    changes.record_created_rows(together, SCOPE, "op", model, rows, made)  # type: ignore[arg-type]
    assert together.staged() == one_by_one.staged()
    assert len(together.staged()) == 2 * len(rows)  # a change record and an event each
    noted = together.info[findings.CHANGED]
    assert [row for row, _ in noted] == made  # the clients whose findings they reach


def test_set_wise_records_refuse_assignments() -> None:
    """An assignment's event names its provider's NPI, which only events.append looks up."""
    with pytest.raises(ValueError, match="NPI"):
        changes.record_created_rows(Staging(), SCOPE, "op", models.Assignment, [], [])  # type: ignore[arg-type]
