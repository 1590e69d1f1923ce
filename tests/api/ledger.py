"""What a load test's clients were told, and what the table must therefore hold.

Every acknowledged write is recorded with what its answer said; every refused one with its
codes (and the unique note it carried, for adds and changes). The expected end state follows
without knowing the order in which concurrent writes committed, because each write names
the row version it produced:

- an acknowledged add or change created a row, exactly as its answer showed it;
- an acknowledged change ended a row: its end date is the one reported by the change that
  produced the highest version of that row (a row is ended again by a later change);
- an acknowledged remove deleted a row (ids are never reused).

So the table must hold exactly the created rows that were not removed, each at its last
reported end date and version, and no note of a refused write.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cmgraph.api import ids


@dataclass(frozen=True)
class Row:
    client_id: str  # uuid, as text
    service_line: str
    provider_id: str
    start_date: str
    end_date: str | None
    note: str | None
    version: int


@dataclass(frozen=True)
class Ending:
    version: int
    end_date: str | None


def uuid_of(global_id: str) -> str:
    decoded = ids.decode(global_id)
    assert decoded is not None, global_id
    return str(decoded[1])


@dataclass
class Ledger:
    requests: Counter[str] = field(default_factory=Counter)
    acknowledged: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)  # by code
    failures: list[str] = field(default_factory=list)  # 5xx, transport errors, GraphQL errors
    created: dict[str, Row] = field(default_factory=dict)  # by assignment uuid
    endings: dict[str, list[Ending]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    refused_notes: set[str] = field(default_factory=set)

    def fail(self, what: str) -> None:
        self.failures.append(what)

    def refuse(self, kind: str, payload: dict[str, Any], note: str | None = None) -> None:
        self.refusals.update(e["code"] for e in payload["userErrors"])
        if note is not None:
            self.refused_notes.add(note)

    def create(self, kind: str, client: str, assignment: dict[str, Any]) -> None:
        self.acknowledged[kind] += 1
        self.created[uuid_of(assignment["id"])] = Row(
            client_id=uuid_of(client),
            service_line=assignment["serviceLine"]["code"],
            provider_id=uuid_of(assignment["provider"]["id"]),
            start_date=assignment["startDate"],
            end_date=assignment["endDate"],
            note=assignment["note"],
            version=assignment["version"],
        )

    def end(self, assignment: dict[str, Any]) -> None:
        ending = Ending(assignment["version"], assignment["endDate"])
        self.endings.setdefault(uuid_of(assignment["id"]), []).append(ending)

    def remove(self, removed_id: str) -> None:
        self.acknowledged["remove"] += 1
        self.removed.add(uuid_of(removed_id))

    def inconsistencies(self) -> list[str]:
        """Answers that contradict each other, whatever the order of commits."""
        problems = [f"removed {i}, never created" for i in self.removed - self.created.keys()]
        for id, endings in self.endings.items():
            if id not in self.created:
                problems.append(f"ended {id}, never created")
                continue
            versions = [e.version for e in endings]
            if len(set(versions)) != len(versions):
                problems.append(f"{id} ended twice at one version: {sorted(versions)}")
            if min(versions) <= self.created[id].version:
                problems.append(f"{id} ended at version {min(versions)}, not after creation")
        return problems

    def expected_rows(self) -> dict[str, Row]:
        rows = {}
        for id, row in self.created.items():
            if id in self.removed:
                continue
            if endings := self.endings.get(id):
                last = max(endings, key=lambda e: e.version)
                row = dataclasses.replace(row, end_date=last.end_date, version=last.version)
            rows[id] = row
        return rows
