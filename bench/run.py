"""The benchmark: `./scripts/bench` (or `python -m bench`); `--help` lists the options.

For each database (SQLite, PostgreSQL) it builds or reuses a deterministic practice
(bench/practice.py), serves cmgraph (`cmgraph serve`, one uvicorn worker, loopback, as in
production) and the raw floor (bench/floor.py) in processes of their own, and drives each
with the same load generator at each concurrency (wrk, bench/wrk.py, pinned to a core of
its own; bench/load.py for writes or without wrk). It
prints req/s, p50 and p99 per scenario, each cmgraph figure as a ratio of the floor's req/s
at the same concurrency, SQL statements per request at two page sizes (counted in-process,
as tests/api/test_statements.py does), rendering 500 answers against one, compliance over
the whole window (time, and memory against the window's length), and with `--growth` the
time of each read against the size of the practice. Results also go to
bench/.cache/results-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import orjson
from sqlalchemy import delete, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench import practice, scenarios, wrk
from bench.load import Connection, request_bytes
from bench.practice import Params
from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db import migrate, models
from cmgraph.db.engine import Database, create_engine
from cmgraph.services import tenants

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
BIN = Path(sys.executable).parent
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TARGETS = {"caseload": 0.25, "clinical": 0.35}  # share of the floor's req/s
RENDERING_TARGET = 10.0  # 500 answers in at most 10x the time of one
ANSWERS_PER_CONNECTION = 3  # in a load run's window, else it runs again LONGER_WINDOW times longer
LONGER_WINDOW = 4
MIX_TARGET = 2.0  # the caseload page's p99 beside the long reads, against its p99 alone
STALL_TARGET_MS = 50.0  # no step holds the event loop longer (the loop's CPU in it)
MIX = {  # what runs beside the caseload page, one connection each
    "claims": ("claims",),
    "compliance": ("compliance",),
    "rendering500": ("rendering500",),
    "claims + compliance": ("claims", "compliance"),
}
COMPLIANCE_TARGET_S = 2.0
WALK_LIMIT_S = 60.0  # walking every page of the whole window stops after this
SEQUENTIAL_BUDGET_S = 30.0  # repeated single requests stop after this (one at least)
REQUEST_TIMEOUT_S = 900.0
SETTLE_LIMIT_S = 60.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- The practice ---------------------------------------------------------------------------


async def _organization(engine: AsyncEngine, slug: str) -> UUID | None:
    orgs = models.Organization.__table__
    async with engine.connect() as connection:
        return (await connection.execute(select(orgs.c.id).where(orgs.c.slug == slug))).scalar()


async def prepare(kind: str, params: Params, pg_base: str, rebuild: bool) -> tuple[str, UUID]:
    """The database URL of the practice, built unless cached, and its organization id; its
    stored findings judged under the rules the server loads, as an operator would."""
    url, org = await _practice(kind, params, pg_base, rebuild)
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "cmgraph"), "findings", "rebuild", "--org", params.slug],
        check=True,
        cwd=ROOT,
        env={**server_env(url), "CMGRAPH_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
    )
    log(f"stored findings current in {time.perf_counter() - started:.0f} s")
    return url, org


async def _practice(kind: str, params: Params, pg_base: str, rebuild: bool) -> tuple[str, UUID]:
    """The database URL of the practice, built unless cached, and its organization id."""
    CACHE.mkdir(exist_ok=True)
    if kind == "sqlite":
        path = CACHE / f"practice-{params.clients}-{params.key()}.db"
        url = f"sqlite+aiosqlite:///{path}"
        if path.exists() and not rebuild:
            engine = create_engine(url)
            try:
                org = await _organization(engine, params.slug)
            finally:
                await engine.dispose()
            if org is not None:
                await migrate.upgrade_async(url)  # a practice built by an older schema
                return url, org
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        prefix = os.environ.get("CMGRAPH_BENCH_DATABASE_PREFIX", "cmgraph_bench")
        pg_url = make_url(pg_base).set(database=f"{prefix}_{params.clients}")
        url_text = pg_url.render_as_string(hide_password=False)
        if not rebuild:
            engine = create_engine(url_text)
            try:
                org = await _organization(engine, params.slug)
            except Exception:
                org = None
            finally:
                await engine.dispose()
            if org is not None:
                await migrate.upgrade_async(url_text)  # a practice built by an older schema
                return url_text, org
        admin = create_async_engine(
            make_url(pg_base).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        try:
            async with admin.connect() as connection:
                await connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{pg_url.database}" WITH (FORCE)')
                )
                await connection.execute(text(f'CREATE DATABASE "{pg_url.database}"'))
        finally:
            await admin.dispose()
        url = url_text
    log(f"building the practice ({params.clients} clients) on {kind}...")
    started = time.perf_counter()
    await migrate.upgrade_async(url)
    built = practice.build(params)
    engine = create_engine(url, statement_timeout=None)  # a bulk load, not a request
    try:
        await practice.insert(engine, built)
        if kind == "postgres":  # what autovacuum would soon do on a live database
            async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as c:
                await c.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()
    log(
        f"built in {time.perf_counter() - started:.0f} s: "
        f"{built.count('appointments')} appointments"
    )
    return url, built.organization["id"]


async def sqlite_statistics(url: str, analyze: bool) -> None:
    """SQLite plans by its statistics, which only ANALYZE (or PRAGMA optimize) gathers and
    which cmgraph never gathers itself: with `analyze` the benchmark gathers them, as an
    operator would; without, it drops them and measures a database as migrated and loaded.
    (PostgreSQL's autovacuum gathers its own; the build runs VACUUM ANALYZE once.)"""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            if analyze:
                await connection.exec_driver_sql("ANALYZE")
            else:
                for table in ("sqlite_stat1", "sqlite_stat4"):
                    await connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            await connection.commit()
    finally:
        await engine.dispose()


async def new_token(url: str, slug: str) -> str:
    db = Database.from_url(url)
    try:
        return await tenants.create_token(db, slug, "admin", "benchmark")
    finally:
        await db.dispose()


async def remove_additions(url: str, org: UUID) -> None:
    """Deletes what addCaseManager added, so that the practice stays as built."""
    A = models.Assignment.__table__
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                delete(A).where(
                    A.c.organization_id == org,
                    A.c.service_line == "MH",
                    A.c.start_date >= scenarios.ADD_FROM,
                )
            )
    finally:
        await engine.dispose()


async def counts(url: str, org: UUID) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            out = {}
            for model in (models.Client, models.Provider, models.Appointment, models.Assignment):
                table = model.__table__
                out[table.name] = (
                    await connection.execute(
                        select(func.count())
                        .select_from(table)
                        .where(table.c.organization_id == org)
                    )
                ).scalar_one()
            return out
    finally:
        await engine.dispose()


async def load_data(url: str, org: UUID, params: Params) -> scenarios.Data:
    engine = create_engine(url)
    try:
        return await scenarios.read_data(engine, org, params.weeks)
    finally:
        await engine.dispose()


# --- Servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], ready: str) -> None:
        self.name, self.argv, self.env, self.ready = name, argv, env, ready
        self.port = free_port()
        self.argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = CACHE / f"{name}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(f"GET {self.ready} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                writer.close()
                if head[9:12] == b"200":
                    return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} did not get ready; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def server_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMGRAPH_")}
    env["CMGRAPH_DATABASE_URL"] = url
    env["CMGRAPH_PLUGINS_DIR"] = str(ROOT / "plugins")
    # this checkout's code, also where the installed package is another checkout's
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    # one token asks everything here: a caller's budget would measure 429s, not the service
    env["CMGRAPH_REQUESTS_PER_MINUTE"] = env["CMGRAPH_COST_PER_MINUTE"] = "0"
    return env


def cmgraph_server(url: str, tag: str) -> Server:
    # the API alone, as measured before webhooks: no dispatcher beside it
    argv = [str(BIN / "cmgraph"), "serve", "--no-dispatch", "--host", "127.0.0.1"]
    argv += ["--port", "{port}"]
    return Server(f"cmgraph-{tag}", argv, server_env(url), "/readyz")


def probed_server(url: str, tag: str) -> Server:
    """cmgraph as `cmgraph serve --no-dispatch` serves it, its event loop probed."""
    argv = [sys.executable, "-m", "bench.lagprobe", "--port", "{port}"]
    return Server(f"cmgraph-probed-{tag}", argv, server_env(url), "/readyz")


def floor_server(url: str, tag: str) -> Server:
    argv = [sys.executable, "-m", "bench.floor", "--url", url, "--port", "{port}"]
    return Server(f"floor-{tag}", argv, server_env(url), "/healthz")


@contextlib.asynccontextmanager
async def serving(*servers: Server) -> AsyncIterator[None]:
    try:
        for server in servers:
            await server.start()
        yield
    finally:
        for server in servers:
            server.stop()


# --- Measuring --------------------------------------------------------------------------


def drive(
    server: Server,
    path: str,
    token: str,
    bodies: list[bytes],
    concurrency: int,
    seconds: float,
    warmup: float,
    *,
    unique: bool = False,
    ok: str = "",
    profile: Path | None = None,
) -> dict[str, Any]:
    """One load run, in a process of its own; optionally py-spy on the server meanwhile.
    Reads go through wrk when it is installed (bench/wrk.py: native, pinned to a core of
    its own); writes, whose bodies must each be sent once, through bench/load.py."""
    native = not unique and wrk.available()
    argv, out_path = _load_argv(
        server, path, token, bodies, concurrency, seconds, warmup, unique=unique, ok=ok
    )
    spy = None
    if profile is not None:
        spy = subprocess.Popen(
            [
                *(str(BIN / "py-spy"), "record", "--pid", str(server.pid), "--nonblocking"),
                *("--rate", "250", "--format", "raw", "-o", str(profile)),
                *("--duration", str(int(seconds + warmup))),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    result: dict[str, Any]
    if native:
        bodies_file = CACHE / "wrk-bodies.txt"
        if warmup:
            wrk.run(server.port, path, token, bodies, concurrency, warmup, bodies_file)
        result = {"unfinished": 0}
        result |= wrk.run(server.port, path, token, bodies, concurrency, seconds, bodies_file)
        if result["requests"] < ANSWERS_PER_CONNECTION * concurrency:
            # The event loop shares its turns among the requests under way, so N connections
            # asking a heavy read are answered together, each after about N times one
            # request's time: a window shorter than a few of those counts the waves that
            # happen to end in it, not the rate. Once more, longer (the server stops what
            # wrk abandoned: web.departure).
            longer = seconds * LONGER_WINDOW
            result |= wrk.run(server.port, path, token, bodies, concurrency, longer, bodies_file)
            result["window_s"] = longer
        # N connections always waiting: req/s is also N over the mean latency (Little's law),
        # which counts answers still under way at the end as the rate they are served at.
        if result["mean_ms"]:
            result["rps_by_latency"] = round(concurrency / (result["mean_ms"] / 1000), 2)
    else:
        subprocess.run(argv, check=True, cwd=ROOT, env=server_env(""))
        result = json.loads(out_path.read_text())
    if spy is not None:
        spy.wait(60)
    return result


def _load_argv(
    server: Server,
    path: str,
    token: str,
    bodies: list[bytes],
    concurrency: int,
    seconds: float,
    warmup: float,
    *,
    unique: bool = False,
    ok: str = "",
    name: str = "load",
) -> tuple[list[str], Path]:
    """The command of one load generator, and where it writes its result."""
    spec = {
        "host": "127.0.0.1",
        "port": server.port,
        "path": path,
        "token": token,
        "bodies": [b.decode() for b in bodies],
        "unique": unique,
        "ok": ok,
    }
    spec_path, out_path = CACHE / f"{name}-spec.json", CACHE / f"{name}-out.json"
    spec_path.write_text(json.dumps(spec))
    argv = [sys.executable, "-m", "bench.load", str(spec_path), "--out", str(out_path)]
    argv += ["--concurrency", str(concurrency), "--seconds", str(seconds)]
    argv += ["--warmup", str(warmup)]
    return argv, out_path


def drive_together(
    server: Server,
    token: str,
    parts: dict[str, tuple[list[bytes], int]],
    seconds: float,
    warmup: float,
) -> dict[str, dict[str, Any]]:
    """Several load runs at once against one server, each in a process of its own:
    name -> (bodies, connections). Returns each one's result."""
    started = {}
    for name, (bodies, concurrency) in parts.items():
        argv, out_path = _load_argv(
            server, "/graphql", token, bodies, concurrency, seconds, warmup, name=f"mix-{name}"
        )
        started[name] = (subprocess.Popen(argv, cwd=ROOT, env=server_env("")), out_path)
    results = {}
    for name, (process, out_path) in started.items():
        if process.wait() != 0:
            raise RuntimeError(f"the {name} load generator failed")
        results[name] = json.loads(out_path.read_text())
    return results


async def timed(
    port: int,
    path: str,
    token: str,
    body: bytes,
    repeat: int,
    warm: int = 2,
    budget: float = SEQUENTIAL_BUDGET_S,
) -> tuple[list[float], bytes]:
    """Sequential requests on one connection: each one's seconds, and the last answer.
    Stops early (after one measured request at least) once `budget` seconds are spent."""
    connection = Connection("127.0.0.1", port)
    request = request_bytes("127.0.0.1", port, path, token, body)
    times: list[float] = []
    answer = b""
    begin = time.perf_counter()
    try:
        for i in range(warm + repeat):
            if times and time.perf_counter() - begin > budget:
                break
            if i < warm and time.perf_counter() - begin > budget:
                continue  # slow: skip the rest of the warm-up
            started = time.perf_counter()
            status, answer = await asyncio.wait_for(connection.send(request), REQUEST_TIMEOUT_S)
            if status != 200 or b'"errors":' in answer:
                raise RuntimeError(f"{path}: {status} {answer[:300]!r}")
            if i >= warm:
                times.append(time.perf_counter() - started)
    finally:
        await connection.close()
    return times, answer


def cpu_ticks(pid: int) -> int:
    """CPU time (clock ticks) of a process and its children, from /proc."""
    total = 0
    for path in [Path(f"/proc/{pid}"), *Path(f"/proc/{pid}/task").glob("*/children")]:
        try:
            if path.name == "children":
                total += sum(cpu_ticks(int(c)) for c in path.read_text().split())
            else:
                fields = (path / "stat").read_text().rpartition(")")[2].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError):
            continue
    return total


def settle(server: Server, limit_s: float = SETTLE_LIMIT_S) -> None:
    """Waits until the server is idle: wrk stops with requests in flight, and a slow stack
    would go on answering them while the next one is measured on the same core."""
    deadline = time.monotonic() + limit_s
    last = cpu_ticks(server.pid)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = cpu_ticks(server.pid)
        if now - last <= 1:  # at most a tick in a quarter of a second: idle
            return
        last = now


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any) -> None:
        self.count += 1


def bench_settings(url: str) -> Settings:
    return dataclasses.replace(
        Settings.from_env(),
        database_url=url,
        plugins_dir=ROOT / "plugins",
        development=False,
        disabled_plugins=frozenset(),
    )


@contextlib.asynccontextmanager
async def in_process(url: str, floor: bool = False) -> AsyncIterator[tuple[Any, StatementCounter]]:
    """The app (or the floor) behind httpx's ASGI transport, its statements counted."""
    from bench.floor import create_floor

    db = Database.from_url(url)
    counter = StatementCounter()
    event.listen(db.engine.sync_engine, "before_cursor_execute", counter)
    app = create_floor(db.engine) if floor else create_app(bench_settings(url), db=db)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            yield client, counter
    finally:
        await db.dispose()


async def statement_counts(url: str, token: str, data: scenarios.Data) -> dict[str, Any]:
    """Statements per request of each scenario, at two page (or batch) sizes."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sized: dict[str, list[tuple[int, bytes]]] = {
        "caseload": [(n, scenarios.caseload(n)[0]) for n in (10, 100)],
        "clinical": [(1, scenarios.clinical(data, 1)[0])],
        "rendering500": [(n, scenarios.rendering(data, n, 1)[0]) for n in (10, 500)],
        "claims": [(n, scenarios.claims(n)[0]) for n in (10, 100)],
        "compliance": [(n, scenarios.compliance(n)[0]) for n in (10, 100)],
        # far enough from the load runs' additions (removed afterwards anyway)
        "addCaseManager": [
            (1, scenarios.add_case_manager(data, len(data.add_targets) * 300, 1)[0])
        ],
    }
    out: dict[str, Any] = {}
    async with in_process(url) as (client, counter):
        await client.post("/graphql", content=b'{"query":"{ __typename }"}', headers=headers)
        for name, bodies in sized.items():
            per: dict[str, int] = {}
            for size, content in bodies:
                counter.count = 0
                response = await client.post("/graphql", content=content, headers=headers)
                if response.status_code != 200 or b'"errors":' in response.content:
                    raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
                per[str(size)] = counter.count
            out[name] = per
    async with in_process(url, floor=True) as (client, counter):
        for size in (10, 100):
            counter.count = 0
            response = await client.post(
                "/caseload", content=scenarios.caseload(size)[0], headers=headers
            )
            response.raise_for_status()
            out.setdefault("floor", {})[str(size)] = counter.count
    return out


async def compliance_memory(url: str, token: str, data: scenarios.Data) -> dict[str, Any]:
    """Peak Python memory (tracemalloc) of one compliance request, by the window's length."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    start, _ = data.window
    out: dict[str, Any] = {}
    async with in_process(url) as (client, _counter):
        await client.post("/graphql", content=b'{"query":"{ __typename }"}', headers=headers)
        for weeks in (1, 4, data.weeks):
            window = (start.isoformat(), (start + timedelta(weeks=weeks, days=-1)).isoformat())
            content = scenarios.compliance(scenarios.PAGE, window)[0]
            await client.post("/graphql", content=content, headers=headers)  # warm
            tracemalloc.start()
            tracemalloc.reset_peak()
            response = await client.post("/graphql", content=content, headers=headers)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            response.raise_for_status()
            total = response.json()["data"]["complianceFindings"]["totalCount"]
            out[str(weeks)] = {"peak_mb": round(peak / 2**20, 1), "findings": total}
    return out


def proc_status(pid: int, field: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])  # kB
    return None


async def server_peak_rss(server: Server, token: str, body: bytes) -> float | None:
    """Growth of the server's peak RSS over one request, in MB (Linux: clear_refs)."""
    try:
        Path(f"/proc/{server.pid}/clear_refs").write_text("5")
    except OSError:
        return None
    base = proc_status(server.pid, "VmRSS")
    await timed(server.port, "/graphql", token, body, 1, warm=0)
    peak = proc_status(server.pid, "VmHWM")
    if base is None or peak is None:
        return None
    return round((peak - base) / 1024, 1)


# Frames every sample of the server passes through (the event loop, uvicorn, threads):
# left out of the cumulative ranking, which would otherwise list only them.
_PLUMBING = (
    "asyncio/",
    "uvicorn/",
    "threading.py",
    "selectors.py",
    "concurrent/",
    "runpy",
    "cmgraph/cli.py",
    "(cmgraph)",
    "<frozen",
)


def _package(frame: str) -> str:
    inside = frame.rpartition("(")[2].rstrip(")")
    head = inside.split("/", 1)[0]
    return head if "/" in inside else inside.removesuffix(".py")


def summarize_profile(path: Path, top: int = 15) -> dict[str, Any]:
    """Top frames of a py-spy raw (collapsed) profile by self and by cumulative share of the
    samples, and self time by package."""
    self_time: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue  # a frame name with a line break in it: rare, skipped
        count = int(count_text)
        total += count
        frames = [_short(f) for f in stack.split(";")]
        self_time[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for frame in set(frames):
            if not any(marker in frame for marker in _PLUMBING):
                cumulative[frame] += count
    if not total:
        return {"samples": 0, "self": [], "cumulative": [], "packages": []}

    def shares(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(f, round(100 * c / total, 1)) for f, c in counter.most_common(n)]

    return {
        "samples": total,
        "self": shares(self_time, top),
        "cumulative": shares(cumulative, top),
        "packages": shares(packages, 8),
    }


_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _short(frame: str) -> str:
    """`func (path:line)` -> `func (package/module.py)`."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match["file"]
    for marker in ("site-packages/", "/src/", "/lib/python3.11/", str(ROOT) + "/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{match['name']} ({file})"


# --- One database -----------------------------------------------------------------------


async def bench_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    params = Params(clients=args.clients)
    started = time.perf_counter()
    url, org = await prepare(kind, params, args.postgres_url, args.rebuild)
    if kind == "sqlite":
        await sqlite_statistics(url, args.analyze)
    prepared_s = time.perf_counter() - started
    token = await new_token(url, params.slug)
    await remove_additions(url, org)
    data = await load_data(url, org, params)
    sizes = await counts(url, org)
    result: dict[str, Any] = {"db": kind, "clients": params.clients, "sizes": sizes}
    result["prepare_s"] = round(prepared_s, 1)
    log(f"[{kind}] {sizes}; counting statements...")
    result["statements"] = await statement_counts(url, token, data)
    log(f"[{kind}] compliance memory by window (tracemalloc)...")
    result["compliance_memory"] = await compliance_memory(url, token, data)
    await remove_additions(url, org)

    cmgraph, floor = cmgraph_server(url, kind), floor_server(url, kind)
    if wrk.available():  # the servers on their cores, the generator on its own
        cmgraph.argv, floor.argv = wrk.pinned(cmgraph.argv, 0), wrk.pinned(floor.argv, 0)
    else:
        log(f"[{kind}] wrk not found: load from bench/load.py (install it: {wrk.INSTALL})")
    wanted = [s for s in scenarios.SCENARIOS if s in args.scenarios]
    profiles = set(args.profile or ())
    async with serving(cmgraph, floor):
        # The floor must answer exactly what cmgraph answers.
        body = scenarios.caseload()[0]
        _, ours = await timed(cmgraph.port, "/graphql", token, body, 1, warm=0)
        _, theirs = await timed(floor.port, "/caseload", token, body, 1, warm=0)
        same = orjson.loads(ours) == orjson.loads(theirs)
        result["floor_matches"] = same
        if not same:
            (CACHE / "floor-cmgraph.json").write_bytes(ours)
            (CACHE / "floor-floor.json").write_bytes(theirs)
            log(f"[{kind}] WARNING: the floor's answer differs from cmgraph's (see {CACHE})")

        result["sequential"] = await sequential(cmgraph, token, data, args)
        result["server_rss_growth_mb"] = {}
        start, _ = data.window
        for weeks in (1, 4, params.weeks):
            window = (start.isoformat(), (start + timedelta(weeks=weeks, days=-1)).isoformat())
            growth = await server_peak_rss(cmgraph, token, scenarios.compliance(100, window)[0])
            result["server_rss_growth_mb"][str(weeks)] = growth

        runs: list[dict[str, Any]] = []
        added = 0
        for concurrency in args.concurrency:
            log(f"[{kind}] floor at {concurrency}...")
            floor_run = drive(
                floor,
                "/caseload",
                token,
                scenarios.caseload(),
                concurrency,
                args.seconds,
                args.warmup,
            )
            runs.append({"scenario": "floor", "concurrency": concurrency, **floor_run})
            for name in wanted:
                log(f"[{kind}] {name} at {concurrency}...")
                profile = None
                if name in profiles and concurrency == args.concurrency[0]:
                    profile = CACHE / f"profile-{name}-{kind}.txt"
                if name == "addCaseManager":
                    count = 50_000
                    bodies = scenarios.add_case_manager(data, added, count)
                    run = drive(
                        cmgraph,
                        "/graphql",
                        token,
                        bodies,
                        concurrency,
                        args.seconds,
                        args.warmup,
                        unique=True,
                        ok='"userErrors":[]',
                        profile=profile,
                    )
                    added += count
                else:
                    run = drive(
                        cmgraph,
                        "/graphql",
                        token,
                        scenarios.bodies(name, data),
                        concurrency,
                        args.seconds,
                        args.warmup,
                        profile=profile,
                    )
                if run["unfinished"]:  # abandoned requests would still load the server
                    cmgraph.stop()
                    await cmgraph.start()
                run["ratio"] = round(run["rps"] / floor_run["rps"], 3) if floor_run["rps"] else None
                if profile is not None and profile.exists():
                    run["profile"] = str(profile)
                    run["profile_top"] = summarize_profile(profile)
                runs.append({"scenario": name, "concurrency": concurrency, **run})
        result["runs"] = runs
    if not args.no_lag:
        result["lag"] = await lag_mix(url, token, data, args, kind)
    await remove_additions(url, org)
    return result


async def lag_only(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Only the event-loop step (--lag-only), on the cached practice."""
    params = Params(clients=args.clients)
    url, org = await prepare(kind, params, args.postgres_url, args.rebuild)
    if kind == "sqlite":
        await sqlite_statistics(url, args.analyze)
    token = await new_token(url, params.slug)
    await remove_additions(url, org)
    data = await load_data(url, org, params)
    try:
        return {"db": kind, "lag": await lag_mix(url, token, data, args, kind)}
    finally:
        await remove_additions(url, org)


async def sequential(
    server: Server, token: str, data: scenarios.Data, args: argparse.Namespace
) -> dict[str, Any]:
    """Single-request timings: rendering 1 vs 500, compliance over the whole window."""
    out: dict[str, Any] = {}
    one, _ = await timed(server.port, "/graphql", token, scenarios.rendering(data, 1, 1)[0], 15)
    many, _ = await timed(server.port, "/graphql", token, scenarios.rendering(data)[0], 7)
    out["rendering_one_ms"] = round(median_ms(one), 2)
    out["rendering_500_ms"] = round(median_ms(many), 2)
    out["rendering_ratio"] = round(median_ms(many) / median_ms(one), 2)

    start, end = data.window
    window = (start.isoformat(), end.isoformat())
    first, answer = await timed(
        server.port, "/graphql", token, scenarios.compliance(100, window)[0], 3, warm=1
    )
    found = orjson.loads(answer)["data"]["complianceFindings"]
    out["compliance_window"] = window
    out["compliance_window_appointments"] = len(data.sessions)
    out["compliance_first_page_s"] = round(statistics.median(first), 3)
    page_only, _ = await timed(
        server.port,
        "/graphql",
        token,
        scenarios.compliance(100, window, counted=False)[0],
        3,
        warm=1,
    )
    out["compliance_page_only_s"] = round(statistics.median(page_only), 3)
    out["compliance_findings"] = found["totalCount"]
    # every page, as an integration would fetch them, within a time limit
    pages, walked, after = 0, 0.0, None
    while True:
        times, answer = await timed(
            server.port, "/graphql", token, scenarios.compliance(100, window, after)[0], 1, warm=0
        )
        walked += times[0]
        pages += 1
        info = orjson.loads(answer)["data"]["complianceFindings"]["pageInfo"]
        if not info["hasNextPage"] or walked > WALK_LIMIT_S:
            break
        after = info["endCursor"]
    out["compliance_pages"] = pages
    out["compliance_pages_total"] = -(-found["totalCount"] // 100)
    out["compliance_walk_s"] = round(walked, 2)
    out["compliance_walk_complete"] = pages >= out["compliance_pages_total"]
    for name in scenarios.READS:
        times, _ = await timed(server.port, "/graphql", token, scenarios.bodies(name, data)[0], 5)
        out[f"single_{name}_ms"] = round(median_ms(times), 2)
    return out


async def _lag(server: Server, method: str = "GET") -> dict[str, Any]:
    connection = Connection("127.0.0.1", server.port)
    request = f"{method} /_bench/lag HTTP/1.1\r\nHost: bench\r\nContent-Length: 0\r\n\r\n"
    try:
        _, answer = await connection.send(request.encode())
    finally:
        await connection.close()
    result: dict[str, Any] = orjson.loads(answer)
    return result


async def lag_mix(
    url: str, token: str, data: scenarios.Data, args: argparse.Namespace, kind: str
) -> dict[str, Any]:
    """The caseload page alone, then beside each of the long reads (MIX), on a server whose
    event loop is probed (bench/lagprobe.py): the page's p99 in each run, and the longest
    time the loop went without turning."""
    concurrency = args.concurrency[0]
    caseload = (scenarios.caseload(), concurrency)
    server = probed_server(url, kind)
    out: dict[str, Any] = {"concurrency": concurrency, "runs": {}}
    async with serving(server):
        for name in ("caseload", *scenarios.READS):  # warm every path once
            await timed(server.port, "/graphql", token, scenarios.bodies(name, data)[0], 1)
        for label, beside in {"alone": (), **MIX}.items():
            log(f"[{kind}] event loop: caseload page {'beside ' + label if beside else label}")
            await _lag(server, "POST")
            parts = {"caseload": caseload} | {n: (scenarios.bodies(n, data), 1) for n in beside}
            runs = drive_together(server, token, parts, args.seconds, args.warmup)
            out["runs"][label] = {"loads": runs, "lag": await _lag(server)}
    alone = out["runs"]["alone"]["loads"]["caseload"]["p99_ms"]
    for run in out["runs"].values():
        p99 = run["loads"]["caseload"]["p99_ms"]
        run["p99_ratio"] = round(p99 / alone, 2) if alone and p99 else None
    return out


# --- Growth -----------------------------------------------------------------------------


async def growth(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Single-request latency (median, sequential) of each read, by the practice's size."""
    table: dict[str, Any] = {}
    for clients in args.growth_sizes:
        params = Params(clients=clients)
        url, org = await prepare(kind, params, args.postgres_url, args.rebuild)
        if kind == "sqlite":
            await sqlite_statistics(url, args.analyze)
        token = await new_token(url, params.slug)
        data = await load_data(url, org, params)
        server = cmgraph_server(url, f"{kind}-growth")
        row: dict[str, Any] = {"appointments": len(data.sessions)}
        async with serving(server):
            log(f"[{kind}] growth: {clients} clients...")
            for name in scenarios.READS:
                times, _ = await timed(
                    server.port, "/graphql", token, scenarios.bodies(name, data)[0], 5
                )
                row[name] = round(median_ms(times), 2)
            start, end = data.window
            window = (start.isoformat(), end.isoformat())
            times, _ = await timed(
                server.port, "/graphql", token, scenarios.compliance(100, window)[0], 3, warm=1
            )
            row["compliance_window"] = round(median_ms(times), 2)
            # what one worker holds once it has served every read of this practice
            now, peak = proc_status(server.pid, "VmRSS"), proc_status(server.pid, "VmHWM")
            row["rss_mb"] = None if now is None else round(now / 1024, 1)
            row["rss_peak_mb"] = None if peak is None else round(peak / 1024, 1)
        table[str(clients)] = row
    return table


# --- Output -----------------------------------------------------------------------------


def ms_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(result: dict[str, Any], args: argparse.Namespace) -> Iterator[str]:
    kind = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[result["db"]]
    sizes = result["sizes"]
    yield ""
    yield (
        f"== {kind}: {sizes['clients']:,} clients, {sizes['providers']} providers, "
        f"{sizes['appointments']:,} appointments, {sizes['case_manager_assignments']:,} "
        f"assignments; {args.seconds:g} s per run"
    )
    if result["db"] == "sqlite":
        stats = "ANALYZE run first (--analyze)" if args.analyze else "none, as migrated"
        yield f"SQLite planner statistics: {stats}"
    yield f"floor answers what cmgraph answers: {'yes' if result['floor_matches'] else 'NO'}"
    statements = result["statements"]
    header = (
        f"{'scenario':34} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'vs floor':>8} {'target':>7}  {'SQL/req (small/large page)':>10}"
    )
    yield header
    yield "-" * len(header)
    for run in result.get("runs", []):
        name = run["scenario"]
        ratio = run.get("ratio")
        target = TARGETS.get(name)
        verdict = ""
        if target is not None and ratio is not None:
            verdict = f"{'ok' if ratio >= target else 'MISS'} {target:.0%}"
        stmts = statements.get(name, {})
        stmt_text = " / ".join(f"{v}" for v in stmts.values())
        sizes_text = " / ".join(stmts)
        failures = (
            f"  FAILURES {run['failures']}: {run['sample_failure']}" if run["failures"] else ""
        )
        exhausted = "  (bodies exhausted)" if run.get("exhausted") else ""
        if run.get("window_s"):
            exhausted += f"  ({run['window_s']:g} s: the window was shorter than the answers)"
        if run["requests"] < ANSWERS_PER_CONNECTION * run["concurrency"]:
            exhausted += (
                f"  (under {ANSWERS_PER_CONNECTION} answers per connection: req/s not a rate; "
                f"N / mean latency {run.get('rps_by_latency') or 0:.1f})"
            )
        if run.get("unfinished"):
            exhausted += f"  ({run['unfinished']} unfinished at the end: p99 a lower bound)"
        yield (
            f"{scenarios.DESCRIPTIONS[name]:34} {run['concurrency']:>4} {run['rps']:>8.1f} "
            f"{ms_text(run['p50_ms']):>8} {ms_text(run['p99_ms']):>8} "
            f"{'' if ratio is None else f'{ratio:.1%}':>8} {verdict:>7}  "
            f"{stmt_text} (n={sizes_text}){failures}{exhausted}"
        )
    seq = result["sequential"]
    yield ""
    flat = all(len(set(v.values())) == 1 for v in statements.values())
    yield f"SQL statements flat in page size: {'yes' if flat else 'NO'} ({statements})"
    verdict = "ok" if seq["rendering_ratio"] <= RENDERING_TARGET else "MISS"
    yield (
        f"rendering: one answer {seq['rendering_one_ms']:.1f} ms, 500 answers "
        f"{seq['rendering_500_ms']:.1f} ms: {seq['rendering_ratio']:.1f}x "
        f"({verdict}, target <= {RENDERING_TARGET:g}x)"
    )
    verdict = "ok" if seq["compliance_first_page_s"] <= COMPLIANCE_TARGET_S else "MISS"
    yield (
        f"compliance over the whole window {seq['compliance_window'][0]}..."
        f"{seq['compliance_window'][1]} ({seq['compliance_window_appointments']:,} sessions, "
        f"{seq['compliance_findings']:,} findings): "
        f"first page {seq['compliance_first_page_s']:.2f} s "
        f"({verdict}, target <= {COMPLIANCE_TARGET_S:g} s), "
        f"{seq['compliance_page_only_s']:.2f} s without totalCount; "
        f"{seq['compliance_pages']} of {seq['compliance_pages_total']} pages in "
        f"{seq['compliance_walk_s']:.1f} s"
        + ("" if seq["compliance_walk_complete"] else f" (stopped after {WALK_LIMIT_S:g} s)")
    )
    memory = result["compliance_memory"]
    rss = result["server_rss_growth_mb"]
    yield "compliance memory by window: " + ", ".join(
        f"{w} wk: {m['peak_mb']} MB peak Python ({m['findings']:,} findings), "
        f"server peak RSS +{rss.get(w)} MB"
        for w, m in memory.items()
    )
    if "lag" in result:
        yield from report_lag(result["lag"])
    yield "single request, sequential median: " + ", ".join(
        f"{name} {seq[f'single_{name}_ms']:.1f} ms" for name in scenarios.READS
    )
    for run in result.get("runs", []):
        top = run.get("profile_top")
        if not top:
            continue
        yield ""
        yield f"profile of {run['scenario']} ({run['profile']}), % of {top['samples']} samples:"
        yield "  self time by package: " + ", ".join(f"{p} {v}%" for p, v in top["packages"])
        yield "  by self time:"
        for frame, share in top["self"]:
            yield f"    {share:5.1f}%  {frame}"
        yield "  by cumulative time:"
        for frame, share in top["cumulative"]:
            yield f"    {share:5.1f}%  {frame}"


def report_lag(lag: dict[str, Any]) -> Iterator[str]:
    yield (
        f"event loop (probed every 5 ms), caseload page at {lag['concurrency']} connections "
        f"alone and beside other reads (one connection each; targets: p99 <= "
        f"{MIX_TARGET:g}x alone, no step holding the loop > {STALL_TARGET_MS:g} ms of its CPU; "
        "a stall's wall time also counts the other processes the OS ran meanwhile):"
    )
    for label, run in lag["runs"].items():
        page, stalls = run["loads"]["caseload"], run["lag"]
        ratio = run["p99_ratio"]
        verdict = "" if label == "alone" else (" ok" if ratio <= MIX_TARGET else " MISS")
        steps = stalls.get("longest_steps", [])
        held = steps[0]["cpu_ms"] if steps else 0.0
        step_verdict = "ok" if held <= STALL_TARGET_MS else "MISS"
        beside = ", ".join(
            f"{n} {r['rps']:.1f} req/s p99 {ms_text(r['p99_ms'])} ms"
            for n, r in run["loads"].items()
            if n != "caseload"
        )
        yield (
            f"  {label:22} caseload p99 {ms_text(page['p99_ms']):>7} ms ({ratio:.2f}x{verdict}), "
            f"{page['rps']:.1f} req/s; longest step {held:.1f} ms of the loop's CPU "
            f"{step_verdict}; longest stall {stalls.get('max_ms', 0):.1f} ms "
            f"({stalls.get('max_cpu_ms', 0):.1f} ms of it the loop's CPU; stall p99 "
            f"{stalls.get('p99_ms', 0):.1f} ms, {stalls.get('over_50ms', 0)} over 50 ms)"
            + (f"; {beside}" if beside else "")
        )
        if steps:
            longest_gc = stalls.get("gc_longest", {})
            yield (
                "    longest steps (loop CPU / wall ms): "
                + ", ".join(f"{s['cpu_ms']:.0f}/{s['wall_ms']:.0f} {s['what']}" for s in steps[:3])
                + f"; garbage collection: longest {stalls['gc_max_ms']:.0f} ms"
                + (
                    f" (generation {longest_gc['generation']}, {longest_gc['collected']:,} "
                    "objects freed)"
                    if longest_gc
                    else ""
                )
                + f", {stalls['gc_total_ms']:.0f} ms in all"
            )
            yield "    longest steps but the collector's pauses (loop CPU ms): " + ", ".join(
                f"{s['cpu_ms']:.0f} {s['what']}" for s in stalls.get("longest_own_steps", [])[:3]
            )


def report_growth(kind: str, table: dict[str, Any]) -> Iterator[str]:
    sizes = list(table)
    yield ""
    yield f"== growth on {kind}: single request, median ms (x: against the previous size)"
    header = f"{'scenario':34}" + "".join(f" {s + ' clients':>18}" for s in sizes)
    yield header
    yield f"{'(sessions)':34}" + "".join(f" {table[s]['appointments']:>18,}" for s in sizes)
    for name in [*scenarios.READS, "compliance_window"]:
        cells, previous = [], None
        for s in sizes:
            value = table[s][name]
            growth_text = f" ({value / previous:.1f}x)" if previous else ""
            cells.append(f" {f'{value:.1f}{growth_text}':>18}")
            previous = value
        label = scenarios.DESCRIPTIONS.get(name, "compliance, whole window, first 100")
        yield f"{label:34}" + "".join(cells)
    if all(table[s].get("rss_mb") is not None for s in sizes):
        yield f"{'worker resident memory after, MB':34}" + "".join(
            f" {table[s]['rss_mb']:>18.1f}" for s in sizes
        )
    if all(table[s].get("rss_peak_mb") is not None for s in sizes):
        yield f"{'worker resident memory peak, MB':34}" + "".join(
            f" {table[s]['rss_peak_mb']:>18.1f}" for s in sizes
        )


# --- Command line -----------------------------------------------------------------------


def _list(text_value: str) -> list[str]:
    return [s.strip() for s in text_value.split(",") if s.strip()]


def _worker_counts(text_value: str) -> list[int]:
    from bench.workers import worker_counts  # it builds on this module's servers

    return worker_counts(text_value)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--clients", type=int, default=2000)
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    p.add_argument("--concurrency", type=lambda v: [int(x) for x in _list(v)], default=[8, 32])
    p.add_argument("--scenarios", type=_list, default=list(scenarios.SCENARIOS))
    p.add_argument("--growth", action="store_true", help="also time reads at several sizes")
    p.add_argument(
        "--growth-sizes", type=lambda v: [int(x) for x in _list(v)], default=[500, 2000, 8000]
    )
    p.add_argument(
        "--profile", type=_list, default=[], help="py-spy the server during these scenarios"
    )
    p.add_argument(
        "--postgres-url", default=os.environ.get("CMGRAPH_BENCH_POSTGRES_URL", DEFAULT_PG)
    )
    p.add_argument("--rebuild", action="store_true", help="rebuild cached practices")
    p.add_argument(
        "--analyze",
        action="store_true",
        help="SQLite: run ANALYZE first; by default the database is measured as cmgraph "
        "leaves it, migrated and loaded, without planner statistics",
    )
    p.add_argument("--no-load", action="store_true", help="only growth (with --growth)")
    p.add_argument(
        "--rounds", type=int, default=3, help="rounds of the peer comparison (bench/peers/)"
    )
    p.add_argument("--no-peers", action="store_true", help="skip the peer comparison")
    p.add_argument(
        "--peers-only", action="store_true", help="only the peer comparison (bench/peers/)"
    )
    p.add_argument(
        "--no-lag",
        action="store_true",
        help="skip the event-loop step: the caseload page alone and beside the long reads, "
        "on a server whose loop is probed (bench/lagprobe.py)",
    )
    p.add_argument(
        "--lag-only",
        action="store_true",
        help="only the event-loop step (implies --no-peers and --no-import)",
    )
    p.add_argument(
        "--workers",
        type=_worker_counts,
        default=None,
        metavar="N,N",
        help="also serve the main scenarios with each number of worker processes "
        "(`cmgraph serve --workers N`; PostgreSQL only; bench/workers.py), e.g. 1,2",
    )
    p.add_argument(
        "--no-import",
        action="store_true",
        help="skip the CSV step: export the practice and import it into a fresh database "
        "(bench/import_csv.py; default: run it)",
    )
    return p


async def amain(args: argparse.Namespace) -> int:
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    unknown = set(args.scenarios) - set(scenarios.SCENARIOS)
    if unknown:
        log(f"unknown scenarios {sorted(unknown)}; known: {', '.join(scenarios.SCENARIOS)}")
        return 2
    if args.profile and not shutil.which("py-spy", path=str(BIN)):
        log("--profile needs py-spy: pip install -e '.[bench]'")
        return 2
    CACHE.mkdir(exist_ok=True)
    results: dict[str, Any] = {"args": {k: v for k, v in vars(args).items() if k != "postgres_url"}}
    lines: list[str] = []
    if args.peers_only:
        args.no_load = args.no_import = True
    if args.lag_only:
        args.no_peers = args.no_import = True
    for kind in kinds:
        if args.lag_only:
            lagged = await lag_only(kind, args)
            results[kind] = lagged
            title = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[kind]
            block = ["", f"== {title}: the event-loop step only", *report_lag(lagged["lag"])]
            lines += block
            print("\n".join(block), flush=True)
            continue
        if not args.no_peers:
            from bench.peers import compare  # it builds on this module's servers

            versus = await compare.compare(kind, args)
            results[f"{kind}_peers"] = versus
            lines += list(compare.report(versus))
            print("\n".join(compare.report(versus)), flush=True)
        if args.peers_only:
            continue
        if not args.no_load:
            result = await bench_database(kind, args)
            results[kind] = result
            lines += list(report(result, args))
            print("\n".join(report(result, args)), flush=True)
        if args.workers:
            from bench import workers  # it builds on this module's servers

            scaled = await workers.bench_workers(kind, args)
            if scaled is not None:
                results[f"{kind}_workers"] = scaled
                lines += list(workers.report_workers(scaled))
                print("\n".join(workers.report_workers(scaled)), flush=True)
        if not args.no_import:
            from bench import import_csv  # it builds on this module's prepare()

            imported = await import_csv.bench_import(
                kind, Params(clients=args.clients), args.postgres_url
            )
            results[f"{kind}_import"] = imported
            lines += list(import_csv.report_import(imported))
            print("\n".join(import_csv.report_import(imported)), flush=True)
        if args.growth:
            table = await growth(kind, args)
            results[f"{kind}_growth"] = table
            lines += list(report_growth(kind, table))
            print("\n".join(report_growth(kind, table)), flush=True)
    out = CACHE / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    (CACHE / "last-report.txt").write_text("\n".join(lines) + "\n")
    print(f"\nresults: {out}")
    return 0


def main() -> int:
    return asyncio.run(amain(parser().parse_args()))


if __name__ == "__main__":
    sys.exit(main())
