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
from uuid import UUID

from sqlalchemy.exc import DBAPIError

from cmgraph import __version__
from cmgraph.api import ids
from cmgraph.config import Settings
from cmgraph.db import grants, migrate
from cmgraph.db.engine import Database, DatabaseConfigError, unwritable_sqlite_files
from cmgraph.plugins import PluginError, RuleBook, build_plugin_manager
from cmgraph.services import sealing, tenants, tokens
from cmgraph.services.dispatch import Dispatcher
from cmgraph.services.idempotency import IdempotencyStore
from cmgraph.services.sealing import Sealer, SealingError


class CommandError(Exception):
    """Ends the command with its message as the one line on stderr."""


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


async def _ready_database(settings: Settings) -> Database:
    """A database that answers and is migrated to the latest revision."""
    db = Database.from_url(settings.database_url)
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        # Said before connecting: a failed connect leaves aiosqlite's thread to report on a
        # closed event loop, a traceback after our one line.
        folder = Path(url.database).parent
        if not folder.is_dir():
            await db.dispose()
            raise CommandError(f"cannot reach the database: the folder {folder} does not exist")
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
    try:
        migrate.upgrade(settings.database_url, args.revision)
    except Exception as exc:
        raise CommandError(f"migration failed: {_describe(exc)}") from exc
    print(f"database at {migrate.head_revision() if args.revision == 'head' else args.revision}")


def cmd_db_downgrade(args: argparse.Namespace, settings: Settings) -> None:
    Database.from_url(settings.database_url)
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
    _check_ready(settings)
    if args.dispatch:
        _sealer(settings, "; or pass --no-dispatch and run `cmgraph worker` elsewhere")
    # The workers build their apps from the environment (serving.worker_app).
    os.environ[DISPATCH_ENV] = "true" if args.dispatch else "false"
    serving.serve(args.host, args.port, args.workers, graceful)


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
    """One line a plugin: its name, where it came from, the hooks it implements."""
    book = _book(settings)
    for name, plugin in sorted(book.pm.list_name_plugin()):
        if plugin is None:
            continue
        hooks = sorted(h.name for h in book.pm.get_hookcallers(plugin) or [])
        print(f"{name}\t{book.origin(name)}\t{', '.join(hooks)}")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="cmgraph", description=__doc__.splitlines()[0])
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = root.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database migrations").add_subparsers(
        dest="db_command", required=True
    )
    up = db.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(run=cmd_db_upgrade)
    down = db.add_parser("downgrade", help="revert migrations")
    down.add_argument("revision", nargs="?", default="base")
    down.set_defaults(run=cmd_db_downgrade)
    give = db.add_parser(
        "grant",
        help="PostgreSQL: let ROLE (owning nothing) run the service; run as the owner, "
        "again after each upgrade",
    )
    give.add_argument("role")
    give.set_defaults(run=cmd_db_grant)

    org = commands.add_parser("org", help="organizations").add_subparsers(
        dest="org_command", required=True
    )
    create_org = org.add_parser("create", help="create an organization")
    create_org.add_argument("--name", required=True)
    create_org.add_argument("--slug", required=True)
    create_org.add_argument("--timezone", required=True, help="IANA name, e.g. America/Chicago")
    create_org.set_defaults(run=cmd_org_create)

    token = commands.add_parser("token", help="API tokens").add_subparsers(
        dest="token_command", required=True
    )
    create_token = token.add_parser("create", help="create a token; prints it on its last line")
    create_token.add_argument("--org", required=True, help="organization slug")
    create_token.add_argument("--role", required=True, choices=tenants.ROLES)
    create_token.add_argument("--name", help="what the token is for")
    create_token.add_argument(
        "--scopes", help="integration only: comma-separated, e.g. clients:read,appointments:write"
    )
    create_token.add_argument("--provider", help="clinician only: the provider's id")
    create_token.add_argument("--expires-in-days", type=int, help="default: never expires")
    create_token.set_defaults(run=cmd_token_create)
    list_tokens = token.add_parser("list", help="list an organization's tokens (never secrets)")
    list_tokens.add_argument("--org", required=True, help="organization slug")
    list_tokens.set_defaults(run=cmd_token_list)
    revoke = token.add_parser("revoke", help="revoke a token: it authenticates nothing after")
    revoke.add_argument("--org", required=True, help="organization slug")
    revoke.add_argument("--id", required=True, help="the token's id (from `token list`)")
    revoke.set_defaults(run=cmd_token_revoke)

    keys = commands.add_parser("idempotency", help="Idempotency-Key records").add_subparsers(
        dest="idempotency_command", required=True
    )
    purge = keys.add_parser("purge", help="delete keys first used more than 24 hours ago")
    purge.set_defaults(run=cmd_idempotency_purge)

    serve = commands.add_parser("serve", help="serve /graphql, /healthz and /readyz")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes: about one per core (several need PostgreSQL)",
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

    worker = commands.add_parser(
        "worker", help="deliver webhooks only (any number, beside `cmgraph serve`)"
    )
    worker.add_argument("--concurrency", type=int, default=8, help="endpoints delivered to at once")
    worker.set_defaults(run=cmd_worker)

    key = commands.add_parser(
        "secret-key", help="print a new CMGRAPH_SECRET_KEY (a Fernet key; docs/webhooks.md)"
    )
    key.set_defaults(run=cmd_secret_key)

    demo = commands.add_parser("demo", help="load the demo practice")
    demo.add_argument("--slug", default="demo")
    demo.set_defaults(run=cmd_demo)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", "-o", default="schema.graphql", help="file, or - for stdout")
    export.set_defaults(run=cmd_export_schema)

    plugins = commands.add_parser("plugins", help="list loaded plugins and their hooks")
    plugins.set_defaults(run=cmd_plugins)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        args.run(args, settings)
    except (CommandError, DatabaseConfigError, PluginError, tenants.TenantError) as exc:
        print(f"cmgraph: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
