"""The benchmark's practice from CSV files to a practice: a step of ./scripts/bench, or alone
with `python -m bench.import_csv [--db sqlite|postgres|both]`.

It exports every kind of the (cached) benchmark practice to CSV files with services.exports
(the time and the peak Python memory of the export are reported), then imports the folder
into a fresh organization of a fresh database with services.imports, as `cmgraph import
--error-policy reject-failed-rows` does: the practice holds deliberate rule breaks (case
managers not credentialed, named on the day of a session), which the import refuses as the
API would. Then it imports the same files again, which must change nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.practice import Params
from bench.run import DEFAULT_PG, ROOT, log, prepare
from cmgraph.db import migrate
from cmgraph.db.engine import Database
from cmgraph.facts import Clock
from cmgraph.plugins import RuleBook, build_plugin_manager
from cmgraph.services import exports, imports, tenants
from cmgraph.services.csv_columns import Kind
from cmgraph.services.scope import TenantScope

TIMEZONE = "America/Chicago"


def target_database() -> str:
    """The database the import fills, dropped first: under the bench's own prefix
    (CMGRAPH_BENCH_DATABASE_PREFIX, as bench.run names its practices), so that two benches
    on one server never drop each other's."""
    return f"{os.environ.get('CMGRAPH_BENCH_DATABASE_PREFIX', 'cmgraph_bench')}_import"


async def export_folder(url: str, org: UUID, folder: Path) -> dict[str, Any]:
    """Every kind to folder/<kind>.csv; the time, the rows and the peak Python memory."""
    db = Database.from_url(url)
    rows: dict[str, int] = {}
    tracemalloc.start()
    started = time.perf_counter()
    try:
        for kind in Kind:
            with (folder / f"{kind.value}.csv").open("w", encoding="utf-8") as out:
                async for chunk in exports.lines(
                    exports.records(db, org, TIMEZONE, kind), kind, "csv"
                ):
                    out.write(chunk)
            with (folder / f"{kind.value}.csv").open(encoding="utf-8") as f:
                rows[kind.value] = sum(1 for _ in f) - 1
    finally:
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        await db.dispose()
    return {"export_s": round(seconds, 1), "export_peak_mb": round(peak / 2**20, 1), "rows": rows}


async def fresh_target(kind: str, pg_base: str, folder: Path) -> str:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'imported.db'}"
    else:
        target = target_database()
        admin = create_async_engine(
            make_url(pg_base).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        try:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
                await connection.execute(text(f'CREATE DATABASE "{target}"'))
        finally:
            await admin.dispose()
        url = make_url(pg_base).set(database=target).render_as_string(False)
    await migrate.upgrade_async(url)
    return url


class KindClock:
    """The seconds each kind's rows took, wall and CPU (of this process: the SQLite thread
    included, PostgreSQL's server not), from the import's progress calls."""

    def __init__(self) -> None:
        self.spans: dict[str, list[tuple[float, float]]] = {}

    def __call__(self, kind: Kind, done: int, total: int) -> None:
        self._mark(kind.value)

    def judged(self, done: int, total: int) -> None:
        """The stored findings judged at the import's end: from its last row to the end."""
        if "findings" not in self.spans:
            now = (time.perf_counter(), time.process_time())
            last = max((end for _, end in self.spans.values()), default=now)
            self.spans["findings"] = [last, last]
        self._mark("findings")

    def _mark(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.spans.setdefault(name, [now, now])[1] = now

    def seconds(self) -> dict[str, float]:
        return {kind: round(end[0] - start[0], 1) for kind, (start, end) in self.spans.items()}

    def cpu_seconds(self) -> dict[str, float]:
        return {kind: round(end[1] - start[1], 1) for kind, (start, end) in self.spans.items()}


async def import_folder(url: str, folder: Path) -> dict[str, Any]:
    db = Database.from_url(url)
    book = RuleBook(build_plugin_manager(ROOT / "plugins"))
    try:
        org = await tenants.create_organization(db, "Imported", "imported", TIMEZONE)
        scope = TenantScope(db, book, org.id, Clock(TIMEZONE), actor="bench", role="cli")
        sources = [
            imports.Source(kind, f"{kind.value}.csv", (folder / f"{kind.value}.csv").read_text())
            for kind in Kind
        ]
        policy = imports.ErrorPolicy.REJECT_FAILED_ROWS
        first_kinds, again_kinds = KindClock(), KindClock()
        started, cpu = time.perf_counter(), time.process_time()
        first = await imports.run_import(
            scope,
            sources,
            policy=policy,
            progress=first_kinds,
            judging=first_kinds.judged,
            alone_in_process=True,
        )
        first_s, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        again = await imports.run_import(
            scope,
            sources,
            policy=policy,
            progress=again_kinds,
            judging=again_kinds.judged,
            alone_in_process=True,
        )
        again_s = time.perf_counter() - started
    finally:
        await db.dispose()
    return {
        "import_s": round(first_s, 1),
        "import_cpu_s": round(first_cpu, 1),
        "reimport_s": round(again_s, 1),
        "import_s_by_kind": first_kinds.seconds(),
        "import_cpu_s_by_kind": first_kinds.cpu_seconds(),
        "reimport_s_by_kind": again_kinds.seconds(),
        "load_average": round(os.getloadavg()[0], 1),
        "counts": {k.value: vars(c) for k, c in first.counts.items()},
        "refused_by_code": dict(Counter(e.code for e in first.errors).most_common()),
        "reimport_changed": sum(c.created + c.updated for c in again.counts.values()),
    }


async def bench_import(kind: str, params: Params, pg_base: str) -> dict[str, Any]:
    url, org = await prepare(kind, params, pg_base, rebuild=False)
    with tempfile.TemporaryDirectory(prefix="cmgraph-import-") as work:
        folder = Path(work)
        log(f"[{kind}] exporting the practice to CSV...")
        result: dict[str, Any] = {"db": kind, **await export_folder(url, org, folder)}
        target = await fresh_target(kind, pg_base, folder)
        log(f"[{kind}] importing {sum(result['rows'].values())} rows into a fresh database...")
        result |= await import_folder(target, folder)
    return result


def report_import(result: dict[str, Any]) -> Iterator[str]:
    kind = result["db"]
    rows = sum(result["rows"].values())
    yield f"\n[{kind}] CSV round trip of the practice ({rows} rows)"
    yield (
        f"  export: {result['export_s']} s, peak Python memory {result['export_peak_mb']} MB; "
        f"import: {result['import_s']} s ({result['import_cpu_s']} s of CPU); the same files "
        f"again: {result['reimport_s']} s ({result['reimport_changed']} changed); load "
        f"average {result['load_average']}"
    )
    wall, cpu = result["import_s_by_kind"], result["import_cpu_s_by_kind"]
    for name, c in result["counts"].items():
        yield (
            f"  {name:<14} created {c['created']:>6}  updated {c['updated']:>4}  "
            f"refused {c['refused']:>4}  {wall.get(name, 0):>6} s ({cpu.get(name, 0):>5} s "
            f"CPU), again {result['reimport_s_by_kind'].get(name, 0):>5} s"
        )
    if "findings" in wall:
        yield (
            "  stored findings of every client reached, judged once at the end: "
            f"{wall['findings']} s ({cpu['findings']} s CPU)"
        )
    if result["refused_by_code"]:
        codes = ", ".join(f"{code} {n}" for code, n in result["refused_by_code"].items())
        yield f"  refused by the rules, as the API refuses them: {codes}"


async def amain(args: argparse.Namespace) -> int:
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for kind in kinds:
        result = await bench_import(kind, Params(clients=args.clients), args.postgres_url)
        print("\n".join(report_import(result)), flush=True)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.import_csv", description=__doc__.split("\n")[0]
    )
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    p.add_argument("--clients", type=int, default=2000)
    p.add_argument(
        "--postgres-url", default=os.environ.get("CMGRAPH_BENCH_POSTGRES_URL", DEFAULT_PG)
    )
    return asyncio.run(amain(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
