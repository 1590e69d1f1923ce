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

A write retried under its Idempotency-Key after an answer that was not final (a 503, a lost
connection) may be answered from what its first attempt committed: the record as it is now,
perhaps ended since by another change. Its answer is then an observation of the row at the
version it shows, not the row as created (`fresh=False`): of all the versions reported for a
row, the highest is its state. A retry answered IDEMPOTENCY_RESPONSE_LOST (what it wrote was
removed since) leaves its write's outcome unknown: a row with its note may or may not be
there, and the rows of its client and line may carry what it did.
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
    fresh: bool = True  # the answer of the write that ended it, not a later observation


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
    observed: set[str] = field(default_factory=set)  # created rows known from a retry's answer
    unresolved_notes: set[str] = field(default_factory=set)  # RESPONSE_LOST: written or not
    unresolved_lines: set[tuple[str, str]] = field(default_factory=set)  # (client uuid, line)
    maybe_removed: set[str] = field(default_factory=set)

    def fail(self, what: str) -> None:
        self.failures.append(what)

    def refuse(self, kind: str, payload: dict[str, Any], note: str | None = None) -> None:
        self.refusals.update(e["code"] for e in payload["userErrors"])
        if note is not None:
            self.refused_notes.add(note)

    def create(
        self, kind: str, client: str, assignment: dict[str, Any], fresh: bool = True
    ) -> None:
        self.acknowledged[kind] += 1
        if not fresh:
            self.observed.add(uuid_of(assignment["id"]))
        self.created[uuid_of(assignment["id"])] = Row(
            client_id=uuid_of(client),
            service_line=assignment["serviceLine"]["code"],
            provider_id=uuid_of(assignment["provider"]["id"]),
            start_date=assignment["startDate"],
            end_date=assignment["endDate"],
            note=assignment["note"],
            version=assignment["version"],
        )

    def end(self, assignment: dict[str, Any], fresh: bool = True) -> None:
        ending = Ending(assignment["version"], assignment["endDate"], fresh)
        self.endings.setdefault(uuid_of(assignment["id"]), []).append(ending)

    def remove(self, removed_id: str) -> None:
        self.acknowledged["remove"] += 1
        self.removed.add(uuid_of(removed_id))

    def unresolved(self, kind: str, client: str, line: str, note: str | None) -> None:
        """A retry's answer says the write was done but cannot say what it wrote."""
        self.acknowledged[f"{kind} (outcome lost)"] += 1
        if note is not None:
            self.unresolved_notes.add(note)
        self.unresolved_lines.add((uuid_of(client), line))

    def inconsistencies(self) -> list[str]:
        """Answers that contradict each other, whatever the order of commits."""
        problems = [f"removed {i}, never created" for i in self.removed - self.created.keys()]
        for id, endings in self.endings.items():
            if id not in self.created:
                problems.append(f"ended {id}, never created")
                continue
            versions = [e.version for e in endings if e.fresh]
            if len(set(versions)) != len(versions):
                problems.append(f"{id} ended twice at one version: {sorted(versions)}")
            created = self.created[id]
            seen = [Ending(created.version, created.end_date), *endings]
            if len({(e.version, e.end_date) for e in seen}) != len({e.version for e in seen}):
                problems.append(f"{id}: one version, several end dates: {seen}")
            if id not in self.observed and min(e.version for e in endings) <= created.version:
                problems.append(f"{id} ended at a version not after creation: {seen}")
        return problems

    def expected_rows(self) -> dict[str, Row]:
        rows = {}
        for id, row in self.created.items():
            if id in self.removed:
                continue
            endings = self.endings.get(id, [])
            last = max(endings, key=lambda e: e.version, default=None)
            if last is not None and last.version > row.version:
                row = dataclasses.replace(row, end_date=last.end_date, version=last.version)
            rows[id] = row
        return rows

    def differences(self, table: dict[str, Row]) -> tuple[dict[str, Row], dict[str, Row]]:
        """The table against the answers: rows expected but missing or different, and rows
        that no answer explains. Leeway only where a retry left an outcome unknown."""
        expected = self.expected_rows()
        missing = {}
        for id, row in expected.items():
            found = table.get(id)
            if found == row or (found is None and id in self.maybe_removed):
                continue
            if (
                found is not None
                and (row.client_id, row.service_line) in self.unresolved_lines
                and dataclasses.replace(found, end_date=row.end_date, version=row.version) == row
            ):
                continue
            missing[id] = row
        unexplained = {
            id: row
            for id, row in table.items()
            if id not in expected and row.note not in self.unresolved_notes
        }
        return missing, unexplained
