"""The `cmgraph` command as operators run it: a real process, CMGRAPH_DATABASE_URL pointing at
a SQLite file, one line on stderr and exit status 1 when something is wrong."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pytest import MonkeyPatch
from sqlalchemy import select

import cmgraph as cmgraph_package
from cmgraph.api.schema import sdl
from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook, build_plugin_manager
from cmgraph.services import tenants


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def cmgraph(*args: str, url: str, cwd: Path) -> Run:
    env = {
        **os.environ,
        "CMGRAPH_DATABASE_URL": url,
        "CMGRAPH_PLUGINS_DIR": str(cwd / "no-plugins"),
    }
    env.pop("CMGRAPH_DISABLE_PLUGINS", None)
    result = subprocess.run(
        [sys.executable, "-m", "cmgraph.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(result.returncode, result.stdout, result.stderr)


def assert_one_line_error(run: Run) -> str:
    assert run.returncode == 1, run
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("cmgraph: "), lines
    return lines[0]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A SQLite file migrated with `cmgraph db upgrade`: (url, working directory)."""
    cwd = tmp_path_factory.mktemp("cli")
    url = sqlite_url(cwd / "cmgraph.db")
    run = cmgraph("db", "upgrade", url=url, cwd=cwd)
    assert run.returncode == 0, run
    assert run.stdout.startswith("database at ")
    return url, cwd


def test_the_version_is_pyprojects(tmp_path: Path) -> None:
    """One spelling of the version: pyproject.toml's, read back from the installed metadata."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    version = project["project"]["version"]
    assert cmgraph_package.__version__ == importlib.metadata.version("cmgraph") == version
    run = cmgraph("--version", url=sqlite_url(tmp_path / "unused.db"), cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, f"cmgraph {version}\n"), run


def test_db_upgrade_is_idempotent(migrated: tuple[str, Path]) -> None:
    url, cwd = migrated
    run = cmgraph("db", "upgrade", url=url, cwd=cwd)
    assert run.returncode == 0, run
    assert run.stderr == ""


async def test_org_and_token_create_give_a_token_that_works(migrated: tuple[str, Path]) -> None:
    url, cwd = migrated
    org = cmgraph(
        "org", "create", "--name", "Sunrise Therapy", "--slug", "sunrise",
        "--timezone", "America/Chicago", url=url, cwd=cwd,
    )  # fmt: skip
    assert org.returncode == 0, org
    assert "sunrise" in org.stdout

    issued = cmgraph("token", "create", "--org", "sunrise", "--role", "admin", url=url, cwd=cwd)
    assert issued.returncode == 0, issued
    token = issued.stdout.strip().splitlines()[-1]
    assert token.startswith("cmg_")
    assert " " not in token

    settings = Settings(
        database_url=url,
        plugins_dir=cwd / "no-plugins",
        disabled_plugins=frozenset(),
        development=False,
        max_page_size=100,
    )
    db = Database.from_url(url)
    app = create_app(settings, db=db, book=RuleBook(build_plugin_manager()))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as http:
            created = await http.post(
                "/graphql",
                json={
                    "query": 'mutation { createClient(input: {firstName: "Ada", lastName: "L"}) '
                    "{ client { id } userErrors { code } } }"
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            listed = await http.post(
                "/graphql",
                json={"query": "{ clients { totalCount } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
            refused = await http.post(
                "/graphql",
                json={"query": "{ clients { totalCount } }"},
                headers={"Authorization": f"Bearer {token}x"},
            )
    finally:
        await db.dispose()

    assert created.status_code == 200, created.text
    assert created.json()["data"]["createClient"]["userErrors"] == []
    assert listed.json() == {"data": {"clients": {"totalCount": 1}}}
    assert refused.status_code == 401


def test_a_duplicate_slug_is_one_line_on_stderr(migrated: tuple[str, Path]) -> None:
    url, cwd = migrated
    args = ("org", "create", "--name", "Twice", "--slug", "twice", "--timezone", "UTC")
    assert cmgraph(*args, url=url, cwd=cwd).returncode == 0
    line = assert_one_line_error(cmgraph(*args, url=url, cwd=cwd))
    assert "twice" in line


@pytest.mark.parametrize(("flag", "value"), [("--workers", "0"), ("--graceful-timeout", "-1")])
def test_serve_refuses_impossible_numbers(
    migrated: tuple[str, Path], flag: str, value: str
) -> None:
    url, cwd = migrated
    line = assert_one_line_error(cmgraph("serve", "--port", "1", flag, value, url=url, cwd=cwd))
    assert flag in line


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "EST5EDT6", ""])
def test_a_bad_timezone_is_refused(migrated: tuple[str, Path], timezone: str) -> None:
    url, cwd = migrated
    run = cmgraph(
        "org", "create", "--name", "X", "--slug", "bad-tz", "--timezone", timezone,
        url=url, cwd=cwd,
    )  # fmt: skip
    line = assert_one_line_error(run)
    assert "time zone" in line


def test_a_token_for_an_unknown_org_is_refused(migrated: tuple[str, Path]) -> None:
    url, cwd = migrated
    run = cmgraph("token", "create", "--org", "nobody", "--role", "admin", url=url, cwd=cwd)
    assert "nobody" in assert_one_line_error(run)


@pytest.mark.parametrize(
    "url",
    ["not a url", "mysql+aiomysql://u@127.0.0.1/x", "postgresql+asyncpg://postgres@127.0.0.1:1/x"],
    ids=["garbage", "unsupported", "unreachable"],
)
@pytest.mark.parametrize(
    "args",
    [("org", "create", "--name", "X", "--slug", "x", "--timezone", "UTC"), ("db", "upgrade")],
    ids=["org-create", "db-upgrade"],
)
def test_a_wrong_database_url_is_one_line_and_exit_1(
    tmp_path: Path, url: str, args: tuple[str, ...]
) -> None:
    assert_one_line_error(cmgraph(*args, url=url, cwd=tmp_path))


def test_a_sqlite_file_in_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "missing" / "dir" / "cmgraph.db")
    assert_one_line_error(
        cmgraph(
            "org",
            "create",
            "--name",
            "X",
            "--slug",
            "x",
            "--timezone",
            "UTC",
            url=url,
            cwd=tmp_path,
        )
    )


def test_an_unmigrated_database_says_to_run_db_upgrade(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "fresh.db")
    run = cmgraph(
        "org", "create", "--name", "X", "--slug", "x", "--timezone", "UTC", url=url, cwd=tmp_path
    )
    line = assert_one_line_error(run)
    assert "`cmgraph db upgrade`" in line
    token = cmgraph("token", "create", "--org", "x", "--role", "admin", url=url, cwd=tmp_path)
    assert "`cmgraph db upgrade`" in assert_one_line_error(token)


def test_export_schema_writes_the_sdl(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "unused.db")
    run = cmgraph("export-schema", "-o", "out.graphql", url=url, cwd=tmp_path)
    assert run.returncode == 0, run
    assert (tmp_path / "out.graphql").read_text() == sdl()

    to_stdout = cmgraph("export-schema", "-o", "-", url=url, cwd=tmp_path)
    assert to_stdout.stdout == sdl()


def test_plugins_lists_each_plugin_with_its_origin_and_hooks(tmp_path: Path) -> None:
    (tmp_path / "no-plugins").mkdir()
    (tmp_path / "no-plugins" / "slow_payor.py").write_text(
        "from datetime import timedelta\n"
        "from cmgraph import hookimpl\n\n"
        "@hookimpl\n"
        "def cmgraph_lead_time(service_line, payor):\n"
        "    return timedelta(hours=72)\n"
    )

    run = cmgraph("plugins", url=sqlite_url(tmp_path / "unused.db"), cwd=tmp_path)

    assert run.returncode == 0, run
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in run.stdout.splitlines()}
    assert rows["slow_payor"] == [
        str(tmp_path / "no-plugins" / "slow_payor.py"),
        "cmgraph_lead_time",
    ]
    assert rows["cmgraph.lead_time"][0] == "built-in"


async def test_plugins_lists_rules_codes_settings_and_with_org_the_payors_naming_each(
    migrated: tuple[str, Path],
) -> None:
    url, cwd = migrated
    (cwd / "no-plugins").mkdir(exist_ok=True)
    (cwd / "no-plugins" / "acme_health.py").write_text(
        "from cmgraph import hookimpl\n"
        "from cmgraph.facts import RuleInfo, Setting, SettingKind\n\n"
        "@hookimpl\n"
        "def cmgraph_rules():\n"
        "    return [RuleInfo('acme_notice', ('LEAD_TIME',), 'Notice.', False,\n"
        "                     replaces=('lead_time',))]\n\n"
        "@hookimpl\n"
        "def cmgraph_payor_settings():\n"
        "    return [Setting('acme_hours', SettingKind.INTEGER, 72, 'Hours.')]\n"
    )
    db = Database.from_url(url)
    try:
        org = await tenants.create_organization(db, "Plugin Practice", "plugged", "UTC")
        async with db.write() as session:
            for name, plugins in (("Acme", ["acme_health"]), ("Plain", [])):
                session.add(
                    models.Payor(
                        organization_id=org.id, name=name, kind="COMMERCIAL", plugins=plugins
                    )
                )
            await session.commit()
    finally:
        await db.dispose()

    run = cmgraph("plugins", "--org", "plugged", url=url, cwd=cwd)
    without = cmgraph("plugins", url=url, cwd=cwd)

    assert run.returncode == 0, run
    block = run.stdout.split("acme_health\t", 1)[1].splitlines()[:4]
    assert block[1:] == [
        "  rule acme_notice: LEAD_TIME (replaces lead_time)",
        "  setting acme_hours (integer, default 72): Hours.",
        "  payors: Acme",
    ]
    assert "  rule lead_time: LEAD_TIME" in run.stdout.split("cmgraph\tbuilt-in rules")[1]
    assert "payors:" not in without.stdout
    unknown = cmgraph("plugins", "--org", "nobody", url=url, cwd=cwd)
    assert "no organization with slug 'nobody'" in assert_one_line_error(unknown)
    (cwd / "no-plugins" / "acme_health.py").unlink()


def test_a_plugin_that_does_not_load_stops_the_command_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "no-plugins").mkdir()
    (tmp_path / "no-plugins" / "broken.py").write_text("raise RuntimeError('no config')\n")

    run = cmgraph("plugins", url=sqlite_url(tmp_path / "unused.db"), cwd=tmp_path)

    line = assert_one_line_error(run)
    assert "broken.py" in line and "no config" in line


# --- tokens: create, list, revoke ---------------------------------------------------------


def test_tokens_are_created_listed_and_revoked_from_the_command_line(
    migrated: tuple[str, Path],
) -> None:
    url, cwd = migrated
    org = cmgraph(
        "org", "create", "--name", "Token Practice", "--slug", "tokens",
        "--timezone", "America/Chicago", url=url, cwd=cwd,
    )  # fmt: skip
    assert org.returncode == 0, org
    issued = cmgraph(
        "token", "create", "--org", "tokens", "--role", "integration", "--name", "ehr sync",
        "--scopes", "clients:read,appointments:write", "--expires-in-days", "30",
        url=url, cwd=cwd,
    )  # fmt: skip
    assert issued.returncode == 0, issued
    secret = issued.stdout.strip().splitlines()[-1]
    assert secret.startswith("cmg_")

    listed = cmgraph("token", "list", "--org", "tokens", url=url, cwd=cwd)
    assert listed.returncode == 0, listed
    (row,) = [line for line in listed.stdout.splitlines() if "ehr sync" in line]
    assert "integration" in row and "appointments:write,clients:read" in row
    assert "active" in row and "last used -" in row
    assert secret not in listed.stdout  # shown once, at creation only
    token_id = row.split("\t")[0]

    revoked = cmgraph("token", "revoke", "--org", "tokens", "--id", token_id, url=url, cwd=cwd)
    assert revoked.returncode == 0, revoked
    again = cmgraph("token", "list", "--org", "tokens", url=url, cwd=cwd)
    assert "revoked" in next(line for line in again.stdout.splitlines() if "ehr sync" in line)


def test_bad_token_requests_end_in_one_line(migrated: tuple[str, Path]) -> None:
    url, cwd = migrated
    cmgraph(
        "org", "create", "--name", "Bad Tokens", "--slug", "bad-tokens",
        "--timezone", "America/Chicago", url=url, cwd=cwd,
    )  # fmt: skip
    for args in (
        ("--role", "integration"),  # no scopes
        ("--role", "integration", "--scopes", "everything:write"),
        ("--role", "clinician"),  # no provider
        ("--role", "admin", "--scopes", "clients:read"),
        ("--role", "admin", "--expires-in-days", "0"),
    ):
        run = cmgraph("token", "create", "--org", "bad-tokens", *args, url=url, cwd=cwd)
        assert_one_line_error(run)
    assert_one_line_error(
        cmgraph("token", "revoke", "--org", "bad-tokens", "--id", "nope", url=url, cwd=cwd)
    )


async def test_idempotency_purge_deletes_expired_keys(migrated: tuple[str, Path]) -> None:
    url, cwd = migrated
    db = Database.from_url(url)
    try:
        org = await tenants.create_organization(db, "Keys Practice", "keys", "UTC")
        now = datetime.now(UTC)
        async with db.write() as session:
            for key, first_used in (("old", now - timedelta(hours=25)), ("new", now)):
                session.add(
                    models.IdempotencyKey(
                        organization_id=org.id, principal="token:x", key=key,
                        request_hash="0" * 64, state="done", attempt=uuid.uuid4(),
                        created_at=first_used, reserved_at=first_used,
                        response_status=200, response_body="{}",
                    )
                )  # fmt: skip
            await session.commit()
        run = cmgraph("idempotency", "purge", url=url, cwd=cwd)
        assert run.returncode == 0, run
        assert run.stdout.strip() == "purged 1 expired idempotency keys"
        async with db.read() as session:
            left = list(await session.scalars(select(models.IdempotencyKey.key)))
        assert left == ["new"]
    finally:
        await db.dispose()


@pytest.mark.parametrize("which", ["", "-shm"])
def test_serve_says_at_once_when_the_sqlite_files_are_not_writable(
    migrated: tuple[str, Path], which: str
) -> None:
    """A read-only database file (SQLite would then create -shm read-only too), or a -shm
    left read-only by such a start, makes every request a 503 even after the file is fixed:
    serve says so in one line instead of starting."""
    url, cwd = migrated
    path = Path(url.split("///", 1)[1] + which)
    path.touch()
    path.chmod(0o444)
    try:
        line = assert_one_line_error(cmgraph("serve", "--port", "1", url=url, cwd=cwd))
    finally:
        path.chmod(0o644)
    assert f"{path} is not writable (mode 0o444)" in line


def _every_parser(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("cmgraph",)
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Each parser of the command line with its path, subcommands included."""
    yield path, parser
    for action in parser._actions:
        if action.choices and hasattr(action, "_name_parser_map"):
            for name, sub in action._name_parser_map.items():
                yield from _every_parser(sub, (*path, name))


def test_every_command_and_option_explains_itself() -> None:
    """Each command says what it does and which variables it reads; each option and
    argument has help, with its default when it has one."""
    from cmgraph.cli import parser

    for path, command in _every_parser(parser()):
        assert command.description, path
        if len(path) > 1 and not any(
            a.choices for a in command._actions if a.dest.endswith("command")
        ):
            assert command.epilog and command.epilog.startswith("environment"), path
        for action in command._actions:
            if action.dest in ("help", "version") or action.dest.endswith("command"):
                continue
            assert action.help, (path, action.dest)
            if action.default not in (None, False) and not action.required:
                assert "default" in action.help, (path, action.dest)


def test_the_top_level_help_says_what_cmgraph_is_and_what_it_reads(tmp_path: Path) -> None:
    run = cmgraph("--help", url=sqlite_url(tmp_path / "unused.db"), cwd=tmp_path)
    assert run.returncode == 0, run
    assert "Case Manager" in run.stdout and "therapy" in run.stdout
    environment = run.stdout.split("environment:", 1)[1]
    assert environment.split()[0] == "CMGRAPH_DATABASE_URL"  # the one every command reads
    for name in ("CMGRAPH_PLUGINS_DIR", "CMGRAPH_METRICS", "OTEL_"):
        assert name in environment
    serve = cmgraph("serve", "--help", url=sqlite_url(tmp_path / "unused.db"), cwd=tmp_path)
    assert "(default: 8000)" in serve.stdout and "CMGRAPH_DATABASE_URL" in serve.stdout
    assert not (tmp_path / "unused.db").exists()


def test_the_top_level_help_lists_every_variable_of_readmes_configuration() -> None:
    """README: "`cmgraph --help` lists these"; a family (`CMGRAPH_JWT_*`) lists its members."""
    from cmgraph import cli

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n\n", 1)[1].split("\n\n", 1)[0]
    documented = {
        name
        for line in table.splitlines()[2:]
        for name in re.findall(r"`((?:CMGRAPH|OTEL)_[A-Z_*]+)`", line.split(" | ", 1)[0])
    }
    listed = [name for name, _, _ in cli.ENVIRONMENT]
    assert len(documented) > 15
    missing = {
        name
        for name in documented
        if not any(
            name == entry or (entry.endswith("*") and name.startswith(entry[:-1]))
            for entry in listed
        )
    }
    assert missing == set()


@pytest.mark.parametrize(
    ("variable", "value", "takes"),
    [
        ("CMGRAPH_MAX_DEPTH", "abc", "whole number of at least 1"),
        ("CMGRAPH_MAX_PAGE_SIZE", "-5", "whole number of at least 1"),
        ("CMGRAPH_GRACEFUL_SHUTDOWN_SECONDS", "-1", "whole number of at least 0"),
        ("CMGRAPH_JWT_LEEWAY_SECONDS", "1.5", "whole number of at least 0"),
        ("CMGRAPH_DB_POOL_SIZE", "0", "whole number of at least 1"),
        ("CMGRAPH_DB_POOL_OVERFLOW", "-1", "whole number of at least 0"),
        ("CMGRAPH_DEV", "maybe", "true or false"),
        ("CMGRAPH_METRICS", "yes-please", "true or false"),
        ("CMGRAPH_METRICS_PORT", "-1", "whole number of at least 0"),
        ("CMGRAPH_CONCURRENT_REPORTS", "-1", "whole number of at least 0"),
        ("CMGRAPH_DATABASE_URL", "::nope", "database URL"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    migrated: tuple[str, Path], monkeypatch: MonkeyPatch, variable: str, value: str, takes: str
) -> None:
    url, cwd = migrated
    monkeypatch.setenv(variable, value)
    if variable.startswith("CMGRAPH_METRICS_"):
        monkeypatch.setenv("CMGRAPH_METRICS", "true")
    run = cmgraph("idempotency", "purge", url=url, cwd=cwd)
    if variable == "CMGRAPH_DATABASE_URL":  # the helper sets it: give the bad one directly
        run = cmgraph("idempotency", "purge", url=value, cwd=cwd)
    line = assert_one_line_error(run)
    assert variable in line and takes in line and repr(value) in line, line
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_plain_postgresql_urls_mean_asyncpg(scheme: str) -> None:
    settings = Settings.from_env({"CMGRAPH_DATABASE_URL": f"{scheme}://u:p%40ss@db.example/cm"})
    assert settings.database_url == "postgresql+asyncpg://u:p%40ss@db.example/cm"
    kept = "postgresql+asyncpg://u@h/cm"
    assert Settings.from_env({"CMGRAPH_DATABASE_URL": kept}).database_url == kept


def test_a_plain_postgresql_url_works_from_the_command_line(
    database_url: str, tmp_path: Path
) -> None:
    """Operators paste the URL their host gives them: postgres://... works as it is."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("needs the suite's PostgreSQL database")
    plain = url.set(drivername="postgres").render_as_string(hide_password=False)
    run = cmgraph("idempotency", "purge", url=plain, cwd=tmp_path)
    assert run.returncode == 0, run
    assert run.stdout.startswith("purged ")


@pytest.mark.parametrize(
    "args",
    [
        ("org", "create", "--name", "X", "--slug", "x", "--timezone", "UTC"),
        ("token", "list", "--org", "x"),
        ("serve",),
        ("db", "downgrade"),
        ("db", "upgrade", "no-such-revision"),
    ],
    ids=["org-create", "token-list", "serve", "db-downgrade", "db-upgrade-bad-revision"],
)
def test_a_command_that_fails_before_migrating_leaves_no_sqlite_file(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    run = cmgraph(*args, url=sqlite_url(tmp_path / "never.db"), cwd=tmp_path)
    assert_one_line_error(run)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("never")) == []


def test_serve_refuses_a_trace_exporter_it_does_not_have(
    migrated: tuple[str, Path], monkeypatch: MonkeyPatch
) -> None:
    url, cwd = migrated
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    line = assert_one_line_error(cmgraph("serve", url=url, cwd=cwd))
    assert "OTEL_TRACES_EXPORTER" in line and "otlp" in line


def test_metrics_on_without_a_token_or_port_is_one_line(
    migrated: tuple[str, Path], monkeypatch: MonkeyPatch
) -> None:
    url, cwd = migrated
    monkeypatch.setenv("CMGRAPH_METRICS", "true")
    line = assert_one_line_error(cmgraph("serve", url=url, cwd=cwd))
    assert "CMGRAPH_METRICS_TOKEN" in line and "CMGRAPH_METRICS_PORT" in line


def test_a_first_import_into_a_migrated_database_creates_only_the_organization(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """`import --create-org` on the suite's database (migrated, on both databases): nothing
    to migrate, the organization made, the files in, an admin token printed."""
    slug = f"first-{uuid.uuid4().hex[:8]}"
    (tmp_path / "clients.csv").write_text(
        "external_id,first_name,last_name,date_of_birth\nF1,Frances,Allen,\n"
    )
    run = cmgraph("import", "--org", slug, "--create-org", "First", "--timezone",
                  "America/Denver", "clients.csv", url=database_url, cwd=tmp_path)  # fmt: skip

    assert run.returncode == 0, run
    assert "database at" not in run.stdout  # it was migrated already
    assert f"created organization {slug} (America/Denver)" in run.stdout
    assert f"admin token for {slug}; it is shown only once:" in run.stdout
    shown = cmgraph("org", "show", slug, url=database_url, cwd=tmp_path)
    assert "time zone\tAmerica/Denver" in shown.stdout and "clients\t1" in shown.stdout
