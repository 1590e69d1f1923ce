"""The `cmgraph` command. Operators and acceptance tests rely on these exact commands.

Every command honours CMGRAPH_DATABASE_URL; a bad URL, an unreachable or unmigrated
database, or bad input ends with one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from cmgraph import __version__, bulk_cli, plugin_report
from cmgraph.api import ids
from cmgraph.config import DEFAULT_DATABASE_URL, Settings, SettingsError
from cmgraph.db import grants, migrate
from cmgraph.db.engine import Database, DatabaseConfigError, unwritable_sqlite_files
from cmgraph.facts import Clock
from cmgraph.observability import tracing
from cmgraph.plugins import PluginError, RuleBook, build_plugin_manager
from cmgraph.services import exports, findings, imports, payors, sealing, tenants, tokens
from cmgraph.services.csv_columns import Kind, kind_of
from cmgraph.services.dispatch import Dispatcher
from cmgraph.services.idempotency import IdempotencyStore
from cmgraph.services.scope import TenantScope
from cmgraph.services.sealing import Sealer, SealingError


class CommandError(Exception):
    """Ends the command with its message as the one line on stderr."""


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database)
    return None


def _existing_sqlite_file(database_url: str) -> None:
    """Connecting to a missing SQLite file creates it, empty: a command that needs a
    migrated database says so instead, and leaves nothing behind. Said before connecting
    also because a failed connect leaves aiosqlite's thread to report on a closed event
    loop, a traceback after our one line."""
    path = _sqlite_file(database_url)
    if path is None:
        return
    if not path.parent.is_dir():
        raise CommandError(f"cannot reach the database: the folder {path.parent} does not exist")
    if not path.exists():
        raise CommandError(f"no database at {path}: run `cmgraph db upgrade` to make it")


async def _ready_database(settings: Settings) -> Database:
    """A database that answers and is migrated to the latest revision."""
    # a bad URL fails here, in one line
    db = Database.from_settings(
        settings.database_url, settings.db_pool_size, settings.db_pool_overflow
    )
    try:
        _existing_sqlite_file(settings.database_url)
    except CommandError:
        await db.dispose()
        raise
    try:
        current = await migrate.current_revision(db.engine)
    except Exception as exc:
        await db.dispose()
        raise CommandError(f"cannot reach the database: {_describe(exc)}") from exc
    if current != migrate.head_revision():
        await db.dispose()
        raise CommandError(
            f"database not migrated (at {current or 'nothing'}, need "
            f"{migrate.head_revision()}): run `cmgraph db upgrade`"
        )
    return db


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[None]]) -> None:
    async def run() -> None:
        db = await _ready_database(settings)
        try:
            await work(db)
        finally:
            await db.dispose()

    asyncio.run(run())


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> None:
    Database.from_url(settings.database_url)  # a bad URL fails here, in one line
    path = _sqlite_file(settings.database_url)
    if path is not None and not path.parent.is_dir():
        raise CommandError(f"cannot reach the database: the folder {path.parent} does not exist")
    new_file = path is not None and not path.exists()
    try:
        migrate.upgrade(settings.database_url, args.revision)
    except Exception as exc:
        if new_file and path is not None:  # made by this failed attempt: leave nothing behind
            for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
        raise CommandError(f"migration failed: {_describe(exc)}") from exc
    print(f"database at {migrate.head_revision() if args.revision == 'head' else args.revision}")


def cmd_db_downgrade(args: argparse.Namespace, settings: Settings) -> None:
    Database.from_url(settings.database_url)
    _existing_sqlite_file(settings.database_url)
    try:
        migrate.downgrade(settings.database_url, args.revision)
    except Exception as exc:
        raise CommandError(f"migration failed: {_describe(exc)}") from exc
    print(f"database at {args.revision}")


def cmd_db_grant(args: argparse.Namespace, settings: Settings) -> None:
    async def run() -> list[str]:
        db = await _ready_database(settings)
        try:
            return await grants.grant(db.engine, args.role)
        finally:
            await db.dispose()

    try:
        tables = asyncio.run(run())
    except grants.GrantError as exc:
        raise CommandError(str(exc)) from exc
    except DBAPIError as exc:
        raise CommandError(f"grant failed: {_describe(exc)}") from exc
    print(f"{args.role} may use {len(tables)} tables; {grants.AUDIT_TABLE}: SELECT and INSERT only")


def cmd_org_list(args: argparse.Namespace, settings: Settings) -> None:
    async def work(db: Database) -> None:
        print("slug\tname\ttime zone\tcreated")
        for org in await tenants.list_organizations(db):
            print(f"{org.slug}\t{org.name}\t{org.timezone}\t{org.created_at:%Y-%m-%d}")

    _with_db(settings, work)


def cmd_org_show(args: argparse.Namespace, settings: Settings) -> None:
    loaded = set(_book(settings).plugin_names())

    async def work(db: Database) -> None:
        about = await tenants.describe_organization(db, args.slug)
        org = about.organization
        print(f"slug\t{org.slug}\nname\t{org.name}\ntime zone\t{org.timezone}")
        print(f"created\t{org.created_at:%Y-%m-%d}")
        for name, count in about.counts.items():
            print(f"{name}\t{count}")
        plugins = [p if p in loaded else f"{p} (not loaded)" for p in about.plugins]
        print(f"plugins in use\t{', '.join(plugins) or 'none'}")

    _with_db(settings, work)


def _scope(db: Database, settings: Settings, org: Any) -> TenantScope:
    return TenantScope(
        db=db,
        book=_book(settings),
        organization_id=org.id,
        clock=Clock(org.timezone),
        actor=tenants.OPERATOR,
        role=tenants.OPERATOR,
    )


class ImportRefused(Exception):
    """Rows were refused: the command ends with status 1 after its summary."""


def cmd_import(args: argparse.Namespace, settings: Settings) -> None:
    if args.template:
        try:
            text = imports.template(kind_of(args.template))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if args.path is None:
            sys.stdout.write(text)
        else:
            Path(args.path).write_text(text)
            print(f"wrote {args.path}")
        return
    if args.org is None or args.path is None:
        raise CommandError("import needs --org SLUG and PATH (or --template KIND)")
    try:
        files = bulk_cli.sources(Path(args.path), args.kind)
    except bulk_cli.InputError as exc:
        raise CommandError(str(exc)) from None
    policy = imports.ErrorPolicy(args.error_policy)
    if args.timezone is not None and args.create_org is None:
        raise CommandError("--timezone goes with --create-org (an existing organization has one)")
    if args.create_org is not None:
        _new_practice(args, settings)

    async def work(db: Database) -> None:
        scope = _scope(db, settings, await tenants.organization(db, args.org))
        with bulk_cli.progress(sys.stderr) as show:
            report = await imports.run_import(
                scope,
                files,
                dry_run=args.dry_run,
                policy=policy,
                progress=show.rows,
                judging=show.findings,
                alone_in_process=True,
            )
        for line in bulk_cli.summary(report):
            print(line)
        if report.errors:
            errors = Path(args.errors)
            bulk_cli.write_errors(report, errors)
            print(f"{len(report.errors)} errors in {errors}")
            if hint := bulk_cli.plugins_hint(report, settings.plugins_dir):
                print(hint)
            raise ImportRefused()

    try:
        _with_db(settings, work)
    except ImportRefused:
        raise CommandError("some rows were refused; see the errors file") from None


def _new_practice(args: argparse.Namespace, settings: Settings) -> None:
    """`import --create-org NAME --timezone TZ`: a practice's first import. The database is
    made when there is none yet (an existing one at an older revision still asks for `db
    upgrade`), and the organization when it is missing, with an admin token printed at once
    (so that an import that fails after it leaves no organization nobody can reach); an
    organization of that slug in another time zone is refused, since every rule reads dates
    in it. A dry run makes neither."""
    if args.timezone is None:
        raise CommandError("--create-org needs --timezone, an IANA name such as America/Chicago")
    tenants.check_new_organization(args.create_org, args.org, args.timezone)
    if _database_is_new(settings):
        if args.dry_run:
            raise CommandError("a dry run writes nothing, and there is no database yet")
        cmd_db_upgrade(argparse.Namespace(revision="head"), settings)

    async def work(db: Database) -> None:
        try:
            org = await tenants.organization(db, args.org)
        except tenants.TenantError:
            if args.dry_run:
                raise CommandError(
                    f"a dry run writes nothing, and there is no organization {args.org!r} yet"
                ) from None
            await tenants.create_organization(db, args.create_org, args.org, args.timezone)
            token = await tenants.create_token(db, args.org, "admin", "first admin (import)")
            print(f"created organization {args.org} ({args.timezone})")
            print(f"admin token for {args.org}; it is shown only once:\n{token}", flush=True)
            return
        if org.timezone != args.timezone:
            raise CommandError(
                f"organization {args.org} exists in time zone {org.timezone}, not {args.timezone}"
            )

    _with_db(settings, work)


def _database_is_new(settings: Settings) -> bool:
    """No SQLite file yet, or a database no migration has touched."""
    path = _sqlite_file(settings.database_url)
    if path is not None:
        return not path.exists()

    async def run() -> bool:
        db = Database.from_url(settings.database_url)
        try:
            return await migrate.current_revision(db.engine) is None
        except Exception as exc:
            raise CommandError(f"cannot reach the database: {_describe(exc)}") from exc
        finally:
            await db.dispose()

    return asyncio.run(run())


def cmd_export(args: argparse.Namespace, settings: Settings) -> None:
    try:
        kind = kind_of(args.kind)
    except ValueError as exc:
        raise CommandError(str(exc)) from None

    async def work(db: Database) -> None:
        org = await tenants.organization(db, args.org)
        records = exports.records(db, org.id, org.timezone, kind)
        async for chunk in exports.lines(records, kind, args.format):
            out.write(chunk)

    if args.output == "-":
        out = sys.stdout
        _with_db(settings, work)
        return
    with open(args.output, "w", encoding="utf-8") as out:
        _with_db(settings, work)


def cmd_org_create(args: argparse.Namespace, settings: Settings) -> None:
    async def work(db: Database) -> None:
        org = await tenants.create_organization(db, args.name, args.slug, args.timezone)
        print(f"created organization {org.slug} ({org.timezone})")

    _with_db(settings, work)


def _provider(value: str | None) -> UUID | None:
    """A provider's global id (as the API shows it) or its uuid."""
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return UUID(value)
    provider = ids.decode_as(value, "Provider")
    if provider is None:
        raise CommandError(f"not a provider id: {value!r}")
    return provider


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> None:
    expires_at = None
    if args.expires_in_days is not None:
        if args.expires_in_days <= 0:
            raise CommandError("--expires-in-days must be positive")
        expires_at = datetime.now(UTC) + timedelta(days=args.expires_in_days)

    async def work(db: Database) -> None:
        token = await tenants.create_token(
            db,
            args.org,
            args.role,
            args.name or "",
            scopes=tokens.scopes_of(args.scopes),
            provider_id=_provider(args.provider),
            expires_at=expires_at,
        )
        print(f"token for {args.org} ({args.role}); it is shown only once:")
        print(token)

    _with_db(settings, work)


def cmd_token_list(args: argparse.Namespace, settings: Settings) -> None:
    async def work(db: Database) -> None:
        rows = await tenants.list_tokens(db, args.org)
        print("id\tname\trole\tscopes\tstate\tcreated\texpires\tlast used")
        for line in tokens.describe(rows, datetime.now(UTC)):
            print(line)

    _with_db(settings, work)


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> None:
    async def work(db: Database) -> None:
        row = await tenants.revoke_token(db, args.org, args.id)
        print(f"revoked token {row.id} ({row.name})")

    _with_db(settings, work)


def cmd_idempotency_purge(args: argparse.Namespace, settings: Settings) -> None:
    async def work(db: Database) -> None:
        purged = await IdempotencyStore(db).purge()
        print(f"purged {purged} expired idempotency keys")

    _with_db(settings, work)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    from cmgraph import demo

    async def work(db: Database) -> None:
        try:
            summary = await demo.load_demo(db, slug=args.slug)
        except demo.DemoExists:
            print(f"demo practice {args.slug!r} already loaded")
            return
        print(
            f"loaded demo practice {summary.slug}: {summary.clients} clients, "
            f"{summary.providers} providers, {summary.payors} payors, "
            f"{summary.appointments} appointments, {summary.assignments} assignments"
        )

    _with_db(settings, work)


def cmd_findings_rebuild(args: argparse.Namespace, settings: Settings) -> None:
    from rich.progress import Progress

    book = _book(settings)

    async def work(db: Database) -> None:
        try:
            orgs = await findings.organizations(db, args.org)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        with Progress(transient=False) as bar:
            for org_id, slug in orgs:
                task = bar.add_task(slug, total=None)

                def show(done: int, todo: int, task: Any = task) -> None:
                    bar.update(task, completed=done, total=todo)

                judged = await findings.rebuild(db, book, org_id, force=args.force, progress=show)
                bar.update(task, completed=judged, total=judged)
        print(f"stored findings current for {len(orgs)} organization(s)")

    _with_db(settings, work)


def _book(settings: Settings) -> RuleBook:
    return RuleBook(build_plugin_manager(settings.plugins_dir, settings.disabled_plugins))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    from cmgraph import serving

    if args.workers < 1:
        raise CommandError("--workers must be at least 1")
    graceful = args.graceful_timeout
    if graceful is None:
        graceful = settings.graceful_shutdown_seconds
    if graceful < 0:
        raise CommandError("--graceful-timeout must not be negative")
    _book(settings)  # a broken plugin fails here, in one line, not in every worker
    if unwritable := unwritable_sqlite_files(settings.database_url):
        # Served anyway, every request would be a 503, even after the file is fixed.
        raise CommandError("the database is not writable: " + "; ".join(unwritable))
    tracing.wanted(os.environ)  # so does an OTEL_TRACES_EXPORTER cmgraph cannot use
    _check_ready(settings)
    if args.dispatch:
        _sealer(settings, "; or pass --no-dispatch and run `cmgraph worker` elsewhere")
    # The workers build their apps from the environment (serving.worker_app).
    os.environ[DISPATCH_ENV] = "true" if args.dispatch else "false"
    serving.serve(args.host, args.port, args.workers, graceful, settings.metrics)


DISPATCH_ENV = "CMGRAPH_WEBHOOK_DISPATCH"


def _sealer(settings: Settings, hint: str = "") -> Sealer:
    """The key that opens webhook secrets, or the one line that says what to set."""
    try:
        return Sealer.from_settings(settings)
    except SealingError as exc:
        raise CommandError(f"webhook delivery cannot start: {exc}{hint}") from exc


def cmd_secret_key(args: argparse.Namespace, settings: Settings) -> None:
    print(sealing.new_key())


def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    """Dispatch webhooks, and nothing else, until SIGTERM or Ctrl-C (then finish the
    attempts in flight and release what this process holds)."""
    sealer = _sealer(settings)

    async def work(db: Database) -> None:
        dispatcher = Dispatcher(db, settings.webhooks, sealer, concurrency=args.concurrency)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, dispatcher.stop)
        print(f"dispatching webhooks as {dispatcher.name}", flush=True)
        await dispatcher.run()
        print("stopped", flush=True)

    _with_db(settings, work)


def _check_ready(settings: Settings) -> None:
    async def run() -> None:
        db = await _ready_database(settings)
        await db.dispose()

    asyncio.run(run())


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> None:
    from cmgraph.api.schema import sdl

    text = sdl()
    if args.output == "-":
        sys.stdout.write(text)
        return
    Path(args.output).write_text(text)
    print(f"wrote {args.output}")


def cmd_plugins(args: argparse.Namespace, settings: Settings) -> None:
    """One line a plugin: its name, where it came from, the hooks it implements; then,
    indented, its rules with their codes, its payor settings and (with --org) the payors
    naming it."""
    book = _book(settings)
    naming: dict[str, list[str]] | None = None
    if args.org:

        async def work(db: Database) -> None:
            nonlocal naming
            naming = await payors.names_by_plugin(db, args.org)

        _with_db(settings, work)
    for line in plugin_report.lines(book, naming):
        print(line)


def cmd_plugin_new(args: argparse.Namespace, settings: Settings) -> None:
    from cmgraph import plugin_template

    try:
        written = plugin_template.write(args.name, Path(args.dir))
    except (ValueError, FileExistsError) as exc:
        raise CommandError(str(exc)) from exc
    for path in written:
        print(f"wrote {path}")


DESCRIPTION = """\
cmgraph keeps each therapy client's Case Manager right: a GraphQL service for therapy
practices (ABA, speech, occupational and physical therapy, mental health) that enforces who
may be a client's CM (credentialed with the payor, qualified for the service line, in place
24 hours before the first session) on every write, and reports it over any window of dates.
These commands serve it and administer it."""

# The variables every command may read, the database first: (name, default, meaning).
ENVIRONMENT: tuple[tuple[str, str, str], ...] = (
    (
        "CMGRAPH_DATABASE_URL",
        DEFAULT_DATABASE_URL,
        "the database; postgresql://user:pass@host/db for PostgreSQL (asyncpg)",
    ),
    ("CMGRAPH_PLUGINS_DIR", "./plugins", "folder of payor-rule plugins (*.py), from where it runs"),
    ("CMGRAPH_DISABLE_PLUGINS", "none", "comma-separated plugin names not to load"),
    ("CMGRAPH_DEV", "false", "development mode: GraphiQL on GET /graphql"),
    ("CMGRAPH_UI", "false", "serve: the reference UI at /app"),
    ("CMGRAPH_TRUSTED_DOCUMENTS", "off", "only: people (JWT) may run only the UI's documents"),
    ("CMGRAPH_MAX_PAGE_SIZE", "100", "the cap on `first` for connections"),
    ("CMGRAPH_MAX_DEPTH etc.", "see README", "request limits (README, Limits)"),
    ("CMGRAPH_JWT_*", "none", "front-end sign-in (README, Sign-in)"),
    ("CMGRAPH_CORS_ORIGINS", "none", "origins allowed to call from a browser"),
    ("CMGRAPH_GRACEFUL_SHUTDOWN_SECONDS", "30", "serve: seconds to finish requests when stopped"),
    ("CMGRAPH_DB_POOL_SIZE", "15", "PostgreSQL: connections each process keeps open"),
    ("CMGRAPH_DB_POOL_OVERFLOW", "0", "PostgreSQL: more each process may open at a peak"),
    ("CMGRAPH_METRICS", "false", "serve: Prometheus metrics (README, Operating cmgraph)"),
    ("CMGRAPH_METRICS_TOKEN", "none", "serve: bearer token for /metrics on the service's port"),
    ("CMGRAPH_METRICS_PORT", "none", "serve: or a port of its own for /metrics"),
    ("OTEL_*", "off", "serve: OpenTelemetry traces, e.g. OTEL_EXPORTER_OTLP_ENDPOINT"),
    ("CMGRAPH_SECRET_KEY", "none", "serve, worker: Fernet key sealing webhook secrets"),
    ("CMGRAPH_SECRET_KEY_PREVIOUS", "none", "older keys that still open them (key rotation)"),
    ("CMGRAPH_WEBHOOK_*", "see docs/webhooks.md", "serve, worker: webhook delivery"),
)
DATABASE_ONLY = ("CMGRAPH_DATABASE_URL",)


def _environment(names: tuple[str, ...] | None = None) -> str:
    rows = [row for row in ENVIRONMENT if names is None or row[0] in names]
    width = max(len(name) for name, _, _ in rows)
    lines = [
        f"  {name:<{width}}  {meaning}\n  {'':<{width}}  default: {default}"
        for name, default, meaning in rows
    ]
    return "environment:\n" + "\n".join(lines)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (the environment table keeps its columns)."""


def _command(
    group: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    reads: tuple[str, ...] | None = DATABASE_ONLY,
) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does and which variables it reads (None:
    every variable; an empty tuple: none)."""
    epilog = "environment: reads no variable" if reads == () else _environment(reads)
    return group.add_parser(
        name, help=summary, description=summary, epilog=epilog, formatter_class=_Formatter
    )


def _group(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    parser = commands.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=_environment(DATABASE_ONLY),
        formatter_class=_Formatter,
    )
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="cmgraph",
        description=DESCRIPTION,
        epilog=_environment()
        + "\n\nA bad value ends the command with one line naming the variable.",
        formatter_class=_Formatter,
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = _group(commands, "db", "database migrations and grants")
    up = _command(db, "upgrade", "apply migrations (the only way the schema is made)")
    up.add_argument(
        "revision", nargs="?", default="head", help="the revision to reach (default: head)"
    )
    up.set_defaults(run=cmd_db_upgrade)
    down = _command(db, "downgrade", "revert migrations")
    down.add_argument(
        "revision", nargs="?", default="base", help="the revision to reach (default: base)"
    )
    down.set_defaults(run=cmd_db_downgrade)
    give = _command(
        db,
        "grant",
        "PostgreSQL: let ROLE (owning nothing) run the service; run as the owner, "
        "again after each upgrade",
    )
    give.add_argument("role", help="the PostgreSQL role the service connects as")
    give.set_defaults(run=cmd_db_grant)

    org = _group(commands, "org", "organizations (practices)")
    create_org = _command(org, "create", "create an organization")
    create_org.add_argument("--name", required=True, help="its name, as people read it")
    create_org.add_argument(
        "--slug", required=True, help="its short name in commands (letters, digits, -)"
    )
    create_org.add_argument(
        "--timezone", required=True, help="IANA name of its time zone, e.g. America/Chicago"
    )
    create_org.set_defaults(run=cmd_org_create)
    list_orgs = _command(org, "list", "list organizations: slug, name, time zone, created")
    list_orgs.set_defaults(run=cmd_org_list)
    show_org = _command(
        org, "show", "one organization: time zone, records of each kind, plugins its payors name"
    )
    show_org.add_argument("slug", help="the organization's slug")
    show_org.set_defaults(run=cmd_org_show)

    load = _command(
        commands,
        "import",
        "import CSV files of payors, providers, enrollments, clients, coverages, "
        "appointments and case managers (docs/import.md)",
        reads=("CMGRAPH_DATABASE_URL", "CMGRAPH_PLUGINS_DIR", "CMGRAPH_DISABLE_PLUGINS"),
    )
    load.add_argument("path", nargs="?", help="a CSV file, or a folder of <kind>.csv files")
    load.add_argument("--org", help="organization slug (required unless --template; default: none)")
    load.add_argument(
        "--create-org",
        metavar="NAME",
        help="a practice's first import: make the database if there is none, create the "
        "organization --org named NAME if it is missing, and print an admin token for it "
        "(default: none, the organization must exist)",
    )
    load.add_argument(
        "--timezone",
        help="with --create-org: the IANA name of its time zone, e.g. America/Chicago "
        "(default: none)",
    )
    load.add_argument(
        "--kind", help="the file's kind (default: from the file's name, e.g. clients.csv)"
    )
    load.add_argument(
        "--dry-run",
        action="store_true",
        help="check every row and report, write nothing (default: write)",
    )
    load.add_argument(
        "--error-policy",
        choices=[p.value for p in imports.ErrorPolicy],
        default=imports.ErrorPolicy.REJECT_EVERYTHING.value,
        help="reject-everything: write nothing when a row is refused; reject-failed-rows: "
        "write the rows that pass, batch by batch (default: reject-everything)",
    )
    load.add_argument(
        "--errors",
        default="import-errors.csv",
        help="where refused rows are written, when there are any (default: import-errors.csv)",
    )
    load.add_argument(
        "--template",
        metavar="KIND",
        help="write an empty file of KIND (its header) to PATH, or to stdout without PATH "
        "(default: none, import PATH)",
    )
    load.set_defaults(run=cmd_import)

    dump = _command(
        commands, "export", "stream every record of a kind, in the columns import reads"
    )
    dump.add_argument("--org", required=True, help="organization slug")
    dump.add_argument("--kind", required=True, help=f"one of {', '.join(k.value for k in Kind)}")
    dump.add_argument("--format", choices=("csv", "ndjson"), default="csv", help="default: csv")
    dump.add_argument("--output", "-o", default="-", help="file, or - for stdout (default: -)")
    dump.set_defaults(run=cmd_export)

    token = _group(commands, "token", "API tokens")
    create_token = _command(token, "create", "create a token; prints it on its last line")
    create_token.add_argument("--org", required=True, help="organization slug")
    create_token.add_argument(
        "--role", required=True, choices=tenants.ROLES, help="what it may do (README, Roles)"
    )
    create_token.add_argument("--name", help="what the token is for (default: none)")
    create_token.add_argument(
        "--scopes",
        help="integration only: comma-separated, e.g. clients:read,appointments:write "
        "(default: none)",
    )
    create_token.add_argument(
        "--provider", help="clinician only: the provider's id (default: none)"
    )
    create_token.add_argument(
        "--expires-in-days", type=int, help="days until it expires (default: never expires)"
    )
    create_token.set_defaults(run=cmd_token_create)
    list_tokens = _command(token, "list", "list an organization's tokens (never secrets)")
    list_tokens.add_argument("--org", required=True, help="organization slug")
    list_tokens.set_defaults(run=cmd_token_list)
    revoke = _command(token, "revoke", "revoke a token: it authenticates nothing after")
    revoke.add_argument("--org", required=True, help="organization slug")
    revoke.add_argument("--id", required=True, help="the token's id (from `token list`)")
    revoke.set_defaults(run=cmd_token_revoke)

    keys = _group(commands, "idempotency", "Idempotency-Key records")
    purge = _command(keys, "purge", "delete keys first used more than 24 hours ago")
    purge.set_defaults(run=cmd_idempotency_purge)

    serve = _command(
        commands, "serve", "serve /graphql, /healthz and /readyz (and /metrics)", reads=None
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes: about one per core; several need PostgreSQL (default: %(default)s)",
    )
    serve.add_argument(
        "--graceful-timeout",
        type=int,
        help="seconds to let requests in flight finish when stopped "
        "(default: CMGRAPH_GRACEFUL_SHUTDOWN_SECONDS, 30)",
    )
    serve.add_argument(
        "--no-dispatch",
        dest="dispatch",
        action="store_false",
        help="do not deliver webhooks here (run `cmgraph worker` for them); by default every "
        "worker process delivers, and needs CMGRAPH_SECRET_KEY",
    )
    serve.set_defaults(run=cmd_serve)

    worker = _command(
        commands,
        "worker",
        "deliver webhooks only (any number, beside `cmgraph serve`)",
        reads=(
            "CMGRAPH_DATABASE_URL",
            "CMGRAPH_DB_POOL_SIZE",
            "CMGRAPH_DB_POOL_OVERFLOW",
            "CMGRAPH_SECRET_KEY",
            "CMGRAPH_WEBHOOK_*",
        ),
    )
    worker.add_argument(
        "--concurrency", type=int, default=8, help="endpoints delivered to at once (default: 8)"
    )
    worker.set_defaults(run=cmd_worker)

    key = _command(
        commands,
        "secret-key",
        "print a new CMGRAPH_SECRET_KEY (a Fernet key; docs/webhooks.md)",
        reads=(),
    )
    key.set_defaults(run=cmd_secret_key)

    demo = _command(commands, "demo", "load the demo practice")
    demo.add_argument("--slug", default="demo", help="its organization slug (default: %(default)s)")
    demo.set_defaults(run=cmd_demo)

    export = _command(commands, "export-schema", "write the GraphQL SDL", reads=())
    export.add_argument(
        "--output",
        "-o",
        default="schema.graphql",
        help="file, or - for stdout (default: %(default)s)",
    )
    export.set_defaults(run=cmd_export_schema)

    stored = _group(commands, "findings", "stored findings")
    rebuild = _command(
        stored,
        "rebuild",
        "judge every client again under the loaded rules (if they changed)",
        reads=("CMGRAPH_DATABASE_URL", "CMGRAPH_PLUGINS_DIR", "CMGRAPH_DISABLE_PLUGINS"),
    )
    rebuild.add_argument("--org", help="only this organization's slug (default: every one)")
    rebuild.add_argument(
        "--force", action="store_true", help="judge again even when the rules did not change"
    )
    rebuild.set_defaults(run=cmd_findings_rebuild)

    plugins = _command(
        commands,
        "plugins",
        "list loaded plugins: hooks, rules, codes, settings, payors naming them",
        reads=("CMGRAPH_DATABASE_URL", "CMGRAPH_PLUGINS_DIR", "CMGRAPH_DISABLE_PLUGINS"),
    )
    plugins.add_argument(
        "--org", help="also list the payors of this organization naming each (default: none)"
    )
    plugins.set_defaults(run=cmd_plugins)

    plugin = _group(commands, "plugin", "write plugins")
    new = _command(plugin, "new", "write a payor plugin and its passing tests", reads=())
    new.add_argument("name", help="the plugin's name (its module, and what payors list)")
    new.add_argument("--dir", default=".", help="folder to write into (default: here)")
    new.set_defaults(run=cmd_plugin_new)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        args.run(args, settings)
        sys.stdout.flush()  # a reader gone away shows here, not in the interpreter's exit
    except BrokenPipeError:
        # `cmgraph export ... | head`: the reader has what it wanted; stop quietly, as Unix
        # tools do. stdout now goes nowhere, so the interpreter's own flush raises nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (
        CommandError,
        SettingsError,
        tracing.TracingConfigError,
        DatabaseConfigError,
        PluginError,
        tenants.TenantError,
    ) as exc:
        print(f"cmgraph: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
