"""Bulk import writes a batch at once (services.import_batch, import_assignments) and leaves
exactly what the rows would leave one at a time: the same records, change records, events,
stored findings and refusals; and its statements per batch do not grow with the batch."""

from __future__ import annotations

import base64
import csv
import gc
import io
import re
from typing import Any
from uuid import UUID

import builders as b
import pytest
from helpers import new_npi
from sqlalchemy import func, select

from cmgraph.db import bulk, models
from cmgraph.db.engine import Database
from cmgraph.facts import Clock
from cmgraph.plugins import RuleBook
from cmgraph.services import findings, imports
from cmgraph.services.csv_columns import KEYS, Kind
from cmgraph.services.scope import TenantScope
from tests.support import Api, StatementCounter


def practice() -> dict[Kind, str]:
    """Files whose rows meet each other inside a batch: a row updating one made a few rows
    before, case managers changed and ended in date order, and rows each check refuses."""
    n1, n2, n3, slp, stranger = (new_npi() for _ in range(5))
    bcba = "BCBA|1-{}|NY|2020-01-01|2030-12-31"
    return {
        Kind.PAYORS: "payer_id,name,kind,plugins\nP1,Acme Health,COMMERCIAL,\n"
        "P2,Beta Care,MEDICAID,\n",
        Kind.PROVIDERS: "npi,first_name,last_name,active,credentials\n"
        f"{n1},Grace,Hopper,true,{bcba.format(1)}\n"
        f"{n2},Ada,King,true,{bcba.format(2)}\n"
        f"{n3},Old,Timer,true,{bcba.format(3)}\n"
        f"{slp},Sam,Speech,true,SLP|5|NY|2020-01-01|\n"
        f"{n3},Old,Timer,true,{bcba.format(3)};RBT|9|NY||\n"  # again: credentials replaced
        f"{new_npi()[:-1]}0,Bad,Number,true,\n"  # not a valid NPI (or, rarely, a new one)
        f"{new_npi()},Bad,Credential,true,BCBA|1|New York||\n",  # not a state code
        Kind.ENROLLMENTS: "npi,payer_id,effective_from,status,effective_to\n"
        f"{n1},P1,2025-01-01,ENROLLED,\n"
        f"{n2},P1,2025-01-01,PENDING,\n"
        f"{n2},P1,2025-01-01,ENROLLED,\n"  # the same enrollment again: an update
        f"{slp},P1,2025-01-01,ENROLLED,\n"
        f"{n1},P2,2025-06-01,ENROLLED,2025-01-01\n"  # ends before it starts
        f"{stranger},P1,2025-01-01,ENROLLED,\n"  # no such provider
        f"{n3},P1,2025-13-01,ENROLLED,\n",  # not a date
        Kind.CLIENTS: "external_id,first_name,last_name,date_of_birth\n"
        "C1,Ada,Lovelace,2018-05-01\nC2,Alan,Turing,\nC3,Edsger,Dijkstra,2019-01-01\n"
        "C2,Alan,Turing,2017-06-23\n"  # the same client again: an update
        "C4,Future,Child,2999-01-01\n"  # born in the future
        f"C5,{'N' * 101},Long,\n",  # a name too long
        Kind.COVERAGES: "client_external_id,payer_id,effective_from,priority,member_id,"
        "effective_to\nC1,P1,2025-01-01,1,M1,\nC2,P1,2025-01-01,,,2026-12-31\n"
        "C3,P1,2025-01-01,1,M3,\n"
        "C1,P1,2025-01-01,1,M1-B,\n"  # the same coverage again: an update
        "C3,P2,2025-01-01,0,,\n"  # priority 0
        "C2,P2,2026-01-01,2,,2025-01-01\n",  # ends before it starts
        Kind.APPOINTMENTS: "client_external_id,service_line,starts_at,ends_at,provider_npi,"
        "status,service_code,telehealth\n"
        f"C1,ABA,2026-03-09T09:00:00-04:00,2026-03-09T11:00:00-04:00,{n1},COMPLETED,97153,\n"
        f"C1,ABA,2026-03-16T09:00:00-04:00,2026-03-16T11:00:00-04:00,{n2},,,true\n"
        f"C2,ABA,2026-02-02T09:00:00-05:00,2026-02-02T10:00:00-05:00,{n1},COMPLETED,,\n"
        f"C3,ABA,2026-04-01T09:00:00-04:00,2026-04-01T10:00:00-04:00,{n1},,,\n"
        f"C2,PT,2026-04-01T09:00:00-04:00,2026-04-01T10:00:00-04:00,{n1},,,\n",  # no CM
        # Out of date order on purpose: the rows go in by start date.
        Kind.CASE_MANAGERS: "client_external_id,service_line,start_date,provider_npi,end_date,"
        "note\n"
        f"C1,ABA,2026-03-10,{n2},,\n"  # changes n1 (open) from this day
        f"C1,ABA,2026-02-01,{n1},,Intake\n"
        f"C2,ABA,2026-01-05,{n1},2026-06-30,\n"
        f"C2,ABA,2026-03-01,{n2},2026-04-30,\n"  # a change that ends before n1's end
        f"C2,ABA,2026-01-05,{n1},2026-06-30,Noted\n"  # the same start: an edit of the note
        f"C2,ABA,2026-01-05,{n2},,\n"  # the same start, another provider
        f"C3,ABA,2026-03-01,{slp},,\n"  # an SLP cannot manage ABA
        f"C3,ABA,2026-04-01,{n2},,\n"  # a change on the day of a session: lead time
        f"C3,ABA,2026-03-02,{n1},,\n"
        f"C9,ABA,2026-03-01,{n1},,\n",  # no such client
    }


def corrected(files: dict[Kind, str]) -> dict[Kind, str]:
    """The same practice, corrected: existing records change (not rows of one batch)."""
    fixes = {
        Kind.CLIENTS: [("C3,Edsger,Dijkstra,2019-01-01", "C3,Edsger W.,Dijkstra,2019-01-02")],
        Kind.PROVIDERS: [(",Sam,Speech,true,SLP|5|NY|2020-01-01|", ",Samuel,Speech,true,SLP|6|NY")],
        Kind.COVERAGES: [("C3,P1,2025-01-01,1,M3,", "C3,P1,2025-01-01,1,M3,2026-12-31")],
        Kind.ENROLLMENTS: [("P1,2025-01-01,ENROLLED,\n", "P1,2025-01-01,TERMINATED,2026-09-30\n")],
        Kind.APPOINTMENTS: [(",,,\n", ",NO_SHOW,,\n")],
        Kind.CASE_MANAGERS: [(",Intake\n", ",Intake, again\n")],
    }
    out = dict(files)
    for kind, pairs in fixes.items():
        for old, new in pairs:
            assert old in out[kind], (kind, old)
            out[kind] = out[kind].replace(old, new, 1)
    return out


async def run(
    db: Database,
    book: RuleBook,
    slug: str,
    files: dict[Kind, str],
    batch_rows: int,
    policy: imports.ErrorPolicy = imports.ErrorPolicy.REJECT_FAILED_ROWS,
    alone_in_process: bool = False,
) -> imports.Report:
    scope = TenantScope(db, book, await b.org_id(db, slug), Clock("America/New_York"), "test")
    sources = [imports.Source(kind, f"{kind.value}.csv", text) for kind, text in files.items()]
    return await imports.run_import(
        scope, sources, policy=policy, batch_rows=batch_rows, alone_in_process=alone_in_process
    )


_GLOBAL_ID = re.compile(r"^[A-Za-z0-9_-]{20,}$")
_TIMES = {"created_at", "occurred_at"}


def _masked(value: Any, key: str = "") -> Any:
    """Ids and clock times masked (each organization has its own), the rest kept."""
    if isinstance(value, dict):
        return {k: _masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if key in _TIMES:
        return "<time>"
    if isinstance(value, UUID):
        return "<id>"
    if isinstance(value, str):
        try:
            UUID(value)
            return "<id>"
        except ValueError:
            pass
        if _GLOBAL_ID.match(value):
            try:
                decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            except (ValueError, UnicodeDecodeError):
                return value
            kind, _, rest = decoded.partition(":")
            if rest and _masked(rest) == "<id>":
                return f"{kind}:<id>"
    return value


async def written(db: Database, slug: str) -> dict[str, Any]:
    """Everything an import leaves in an organization, ids and times masked, in order."""
    org = await b.org_id(db, slug)
    c, e, f = models.ChangeRecord, models.Event, models.StoredFinding
    kinds = (
        *(models.Payor, models.Provider, models.Credential, models.Enrollment),
        *(models.Client, models.Coverage, models.Appointment, models.Assignment),
    )
    names = [kind.__name__ for kind in kinds]
    async with db.read() as session:
        records = {
            kind.__name__: sorted(
                repr(_masked({k: v for k, v in vars(row).items() if not k.startswith("_")}))
                for row in await session.scalars(select(kind).where(kind.organization_id == org))
            )
            for kind in kinds
        }
        changes = [
            _masked([r.operation, r.entity_type, r.before, r.after, r.actor])
            for r in await session.scalars(
                select(c)
                .where(c.organization_id == org, c.entity_type.in_(names))
                .order_by(c.position)
            )
        ]
        events = [
            _masked([r.type, r.data])
            for r in await session.scalars(
                select(e)
                .where(e.organization_id == org, e.type.not_in(["organization.created"]))
                .order_by(e.position)
            )
        ]
        stored = sorted(
            repr(_masked([r.code, r.date_of_service, r.seq, r.finding]))
            for r in await session.scalars(select(f).where(f.organization_id == org))
        )
        s = models.StaleClient
        stale = await session.scalar(select(func.count()).where(s.organization_id == org))
    return {
        "records": records,
        "changes": changes,
        "events": events,
        "findings": stored,
        "stale": stale,
    }


def outcome(report: imports.Report) -> tuple[Any, ...]:
    counts = {k: vars(c) for k, c in report.counts.items()}
    return counts, sorted((e.file, e.row, e.column, e.code, e.message) for e in report.errors)


async def test_a_batch_leaves_what_its_rows_leave_one_by_one(
    api: Api, other_api: Api, db: Database, book: RuleBook
) -> None:
    """The same files into two organizations: in batches of 500 rows, and one row a batch
    (each row then reads the database as its use case alone would). Everything written,
    every refusal and every count is the same; then a corrected practice, the same again."""
    files = practice()
    batched = await run(db, book, api.slug, files, batch_rows=500)
    alone = await run(db, book, other_api.slug, files, batch_rows=1)

    assert outcome(batched) == outcome(alone)
    codes = {(e.file, e.column, e.code) for e in batched.errors}
    assert {
        ("providers.csv", "credentials", "INVALID_INPUT"),
        ("enrollments.csv", "effective_to", "INVALID_INPUT"),
        ("clients.csv", "date_of_birth", "INVALID_INPUT"),
        ("clients.csv", "first_name", "INVALID_INPUT"),
        ("coverages.csv", "priority", "INVALID_INPUT"),
        ("case_managers.csv", "provider_npi", "DISCIPLINE_MISMATCH"),
        ("case_managers.csv", "provider_npi", "PROVIDER_DIFFERS"),
        ("case_managers.csv", "client_external_id", "NOT_FOUND"),
        ("case_managers.csv", "start_date", "LEAD_TIME"),
    } <= codes, codes
    assert {k: c.updated for k, c in batched.counts.items() if c.updated} == {
        Kind.PROVIDERS: 1,
        Kind.ENROLLMENTS: 1,
        Kind.CLIENTS: 1,
        Kind.COVERAGES: 1,
        Kind.CASE_MANAGERS: 1,
    }
    first = await written(db, api.slug)
    assert first == await written(db, other_api.slug)
    assert len(first["records"]["Assignment"]) == 5 and first["findings"]
    assert first["stale"] == 0  # the import judged what its batches marked before returning

    fixed = corrected(files)
    assert outcome(await run(db, book, api.slug, fixed, 500)) == outcome(
        await run(db, book, other_api.slug, fixed, 1)
    )
    second = await written(db, api.slug)
    assert second == await written(db, other_api.slug)
    assert len(second["changes"]) > len(first["changes"])


async def test_rows_copied_in_are_the_rows_inserted(
    api: Api, other_api: Api, db: Database, book: RuleBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same files, every bulk write by COPY on PostgreSQL (db.bulk) in one organization
    and by INSERT in the other: the same records, change records, events and findings."""
    files = practice()
    monkeypatch.setattr(bulk, "COPY_FROM", 1)
    copied = await run(db, book, api.slug, files, batch_rows=500)
    monkeypatch.setattr(bulk, "COPY_FROM", 10**9)
    inserted = await run(db, book, other_api.slug, files, batch_rows=500)

    assert outcome(copied) == outcome(inserted)
    assert await written(db, api.slug) == await written(db, other_api.slug)


def last_per_key(files: dict[Kind, str]) -> dict[Kind, str]:
    """The files with one row per natural key (the last): files that say one thing each."""
    kept = {}
    for kind, text in files.items():
        rows = list(csv.DictReader(io.StringIO(text)))
        by_key = {tuple(r.get(k) for k in KEYS[kind]): r for r in rows}
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(by_key.values())
        kept[kind] = out.getvalue()
    return kept


async def test_the_same_files_again_write_nothing(api: Api, db: Database, book: RuleBook) -> None:
    files = last_per_key(practice())
    await run(db, book, api.slug, files, batch_rows=500)
    before = await written(db, api.slug)

    again = await run(db, book, api.slug, files, batch_rows=500)

    assert not any(c.created or c.updated for c in again.counts.values())
    assert await written(db, api.slug) == before  # no record, change record or event more


async def test_reject_everything_and_a_dry_run_keep_nothing_of_a_batch(
    api: Api, db: Database, book: RuleBook
) -> None:
    files = practice()
    empty = await written(db, api.slug)
    everything = await run(db, book, api.slug, files, 500, imports.ErrorPolicy.REJECT_EVERYTHING)
    assert everything.errors and not everything.committed
    assert await written(db, api.slug) == empty

    scope = TenantScope(db, book, await b.org_id(db, api.slug), Clock("America/New_York"), "t")
    sources = [imports.Source(k, f"{k.value}.csv", t) for k, t in files.items()]
    dry = await imports.run_import(scope, sources, dry_run=True)
    assert outcome(dry) == outcome(everything)
    assert await written(db, api.slug) == empty


def _many(kind: Kind, n: int, npis: list[str]) -> str:
    """n rows of a kind for clients X0.. and providers npis[0..]."""
    if kind is Kind.CLIENTS:
        return "external_id,first_name,last_name\n" + "".join(f"X{i},Ada,L{i}\n" for i in range(n))
    if kind is Kind.COVERAGES:
        return "client_external_id,payer_id,effective_from,member_id\n" + "".join(
            f"X{i},P1,2025-01-01,M{i}\n" for i in range(n)
        )
    if kind is Kind.ENROLLMENTS:
        return "npi,payer_id,effective_from,status\n" + "".join(
            f"{npis[i]},P1,2025-01-01,ENROLLED\n" for i in range(n)
        )
    assert kind is Kind.CASE_MANAGERS
    return "client_external_id,service_line,start_date,provider_npi\n" + "".join(
        f"X{i},ABA,2026-02-01,{npis[i]}\n" for i in range(n)
    )


async def test_statements_of_a_batch_do_not_grow_with_its_rows(
    api: Api,
    other_api: Api,
    db: Database,
    book: RuleBook,
    statements: StatementCounter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each kind's batch of 10 rows, then of 40 (in another organization): as many
    statements, created or updated (the second pass changes every row)."""
    # The import ends with one drain of the clients its batches marked stale, DRAIN_BATCH
    # clients a transaction (its own cost, in clients): one transaction for both sizes here.
    monkeypatch.setattr(findings, "DRAIN_BATCH", 40)
    npis = [new_npi() for _ in range(40)]

    def staff(n: int, credential: str = "BCBA|{}|NY|2020-01-01|2030-12-31") -> str:
        return "npi,first_name,last_name,credentials\n" + "".join(
            f"{npis[i]},Grace,H{i},{credential.format(i)}\n" for i in range(n)
        )

    costs: dict[str, list[int]] = {}
    for slug, n in ((api.slug, 10), (other_api.slug, 40)):
        await run(db, book, slug, {Kind.PAYORS: "payer_id,name,kind\nP1,Acme,COMMERCIAL\n"}, 9)
        for name, text in (("created", staff(n)), ("updated", staff(n, "BCBA|{}|NY||2031-01-01"))):
            statements.count = 0
            report = await run(db, book, slug, {Kind.PROVIDERS: text}, 500)
            assert report.errors == [] and getattr(report.counts[Kind.PROVIDERS], name) == n
            costs.setdefault(f"providers {name}", []).append(statements.count)
        await run(db, book, slug, {Kind.PROVIDERS: staff(40)}, 500)
        for kind in (Kind.ENROLLMENTS, Kind.CLIENTS, Kind.COVERAGES, Kind.CASE_MANAGERS):
            statements.count = 0
            report = await run(db, book, slug, {kind: _many(kind, n, npis)}, 500)
            assert report.errors == [] and report.counts[kind].created == n
            costs.setdefault(f"{kind.value} created", []).append(statements.count)
        changed = {
            Kind.ENROLLMENTS: _many(Kind.ENROLLMENTS, n, npis).replace(",ENROLLED", ",PENDING"),
            Kind.CLIENTS: _many(Kind.CLIENTS, n, npis).replace(",Ada,", ",Ava,"),
            Kind.COVERAGES: _many(Kind.COVERAGES, n, npis).replace(",M", ",N"),
        }
        for kind, text in changed.items():
            statements.count = 0
            report = await run(db, book, slug, {kind: text}, 500)
            assert report.errors == [] and report.counts[kind].updated == n
            costs.setdefault(f"{kind.value} updated", []).append(statements.count)

    assert {name: len(set(counts)) for name, counts in costs.items()} == dict.fromkeys(costs, 1), (
        costs
    )


async def test_an_import_alone_in_its_process_sets_rows_aside_from_the_collector_meanwhile(
    db: Database, book: RuleBook, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's import (alone in its process) sets what existed before its first batch
    aside from the collector's passes (gc.freeze) while it runs; after it, nothing is set
    aside, even when it failed. The service's (importRecords) leaves the collector alone:
    gc.unfreeze() would give back what the service's start-up froze."""
    frozen: list[int] = []
    real = imports._run

    async def watched(*args: Any) -> imports.Report:
        frozen.append(gc.get_freeze_count())
        return await real(*args)

    monkeypatch.setattr(imports, "_run", watched)
    await run(db, book, api.slug, practice(), batch_rows=500, alone_in_process=True)
    assert frozen[-1] > 0 and gc.get_freeze_count() == 0

    gc.freeze()  # as the service's start-up does
    try:
        at_start = gc.get_freeze_count()
        await run(db, book, api.slug, practice(), batch_rows=500)
        # untouched: not frozen again (more), nor unfrozen (none); a few frozen objects
        # may have been freed meanwhile
        assert frozen[-1] <= at_start and gc.get_freeze_count() > 0.9 * at_start
    finally:
        gc.unfreeze()

    async def failing(*args: Any) -> imports.Report:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(imports, "_run", failing)
    with pytest.raises(RuntimeError):
        await run(db, book, api.slug, practice(), batch_rows=500, alone_in_process=True)
    assert gc.get_freeze_count() == 0
