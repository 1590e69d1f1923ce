"""`cmgraph import`, `cmgraph export` and `cmgraph org list/show` as operators run them: a
real process on a SQLite file. (The import's rules and round trip are specified on both
databases in tests/api/test_imports.py; here: files, progress, summary, errors, exit status.)
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from stdnum import luhn

from cmgraph.services import csv_columns


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def cmgraph(*args: str, cwd: Path) -> Run:
    env = {
        **os.environ,
        "CMGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{cwd / 'cmgraph.db'}",
        "CMGRAPH_PLUGINS_DIR": str(cwd / "no-plugins"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "cmgraph.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(result.returncode, result.stdout, result.stderr)


def npi(serial: int) -> str:
    body = str(200_000_000 + serial)
    return body + luhn.calc_check_digit("80840" + body)


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with organization `north`, and a folder of CSV files."""
    cwd = tmp_path_factory.mktemp("bulk")
    assert cmgraph("db", "upgrade", cwd=cwd).returncode == 0
    made = cmgraph("org", "create", "--name", "North", "--slug", "north", "--timezone",
                   "America/Chicago", cwd=cwd)  # fmt: skip
    assert made.returncode == 0, made
    folder = cwd / "files"
    folder.mkdir()
    (folder / "payors.csv").write_text("payer_id,name,kind,plugins\nP1,Acme,COMMERCIAL,\n")
    (folder / "providers.csv").write_text(
        f"npi,first_name,last_name,active,credentials\n{npi(1)},Grace,Hopper,,BCBA|1|TX||\n"
    )
    (folder / "clients.csv").write_text(
        "external_id,first_name,last_name,date_of_birth\nC1,Ada,Lovelace,\nC2,Alan,Turing,\n"
    )
    return cwd


def test_a_folder_imports_with_progress_lines_and_a_summary(practice: Path) -> None:
    run = cmgraph("import", "--org", "north", "files", cwd=practice)

    assert run.returncode == 0, run
    assert "clients: 2/2 rows" in run.stderr  # not a terminal: plain progress lines
    assert "findings: 2/2 clients judged" in run.stderr  # once, at the end
    summary = {line.split()[0]: line.split()[1:] for line in run.stdout.splitlines()}
    assert summary["payors"] == ["1", "0", "0", "0"]
    assert summary["providers"] == ["1", "0", "0", "0"]
    assert summary["clients"] == ["2", "0", "0", "0"]

    again = cmgraph("import", "--org", "north", "files", cwd=practice)
    assert again.returncode == 0, again
    summary = {line.split()[0]: line.split()[1:] for line in again.stdout.splitlines()}
    assert summary["clients"] == ["0", "0", "2", "0"]


def test_refused_rows_end_in_an_errors_file_and_exit_status_1(practice: Path) -> None:
    cmgraph("import", "--org", "north", "files", cwd=practice)  # the two clients, as alone
    bad = practice / "bad-clients.csv"
    bad.write_text(
        "external_id,first_name,last_name,date_of_birth\nC3,Kurt,,\nC4,Ed,Codd,3000-01-01\n"
    )

    run = cmgraph("import", "--org", "north", "--kind", "clients", str(bad), cwd=practice)

    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith("cmgraph: ")
    assert "nothing was written" in run.stdout
    assert "CMGRAPH_PLUGINS_DIR" not in run.stdout  # no plugin named: no hint about them
    with (practice / "import-errors.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["file"], r["row"], r["column"], r["code"]) for r in rows] == [
        ("bad-clients.csv", "2", "last_name", "INVALID_INPUT"),
        ("bad-clients.csv", "3", "date_of_birth", "INVALID_INPUT"),
    ]
    shown = cmgraph("org", "show", "north", cwd=practice)
    assert "clients\t2" in shown.stdout  # nothing of the refused file was written


def test_a_template_has_the_documented_columns(practice: Path) -> None:
    run = cmgraph("import", "--template", "case-managers", cwd=practice)
    assert run.returncode == 0, run
    assert run.stdout.strip().split(",") == csv_columns.names(csv_columns.Kind.CASE_MANAGERS)

    unknown = cmgraph("import", "--template", "invoices", cwd=practice)
    assert unknown.returncode == 1 and "unknown kind 'invoices'" in unknown.stderr


def test_export_streams_a_kind_as_ndjson(practice: Path) -> None:
    cmgraph("import", "--org", "north", "files", cwd=practice)
    run = cmgraph("export", "--org", "north", "--kind", "clients", "--format", "ndjson",
                  cwd=practice)  # fmt: skip
    assert run.returncode == 0, run
    records = sorted((json.loads(line) for line in run.stdout.splitlines()), key=str)
    assert {(r["external_id"], r["date_of_birth"]) for r in records} == {
        ("C1", None),
        ("C2", None),
    }


def test_export_into_a_closed_pipe_stops_without_a_traceback(practice: Path) -> None:
    """`cmgraph export ... | head -1`: the reader goes away; the export stops quietly."""
    cmgraph("import", "--org", "north", "files", cwd=practice)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    env = {**os.environ, "CMGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{practice / 'cmgraph.db'}"}
    try:
        run = subprocess.run(
            [sys.executable, "-m", "cmgraph.cli", "export", "--org", "north", "--kind", "clients"],
            env=env,
            cwd=practice,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert run.returncode == 1
    assert run.stderr == ""


def test_org_list_and_show_tell_an_operator_what_is_there(practice: Path) -> None:
    cmgraph("import", "--org", "north", "files", cwd=practice)
    listed = cmgraph("org", "list", cwd=practice)
    assert listed.returncode == 0 and "north\tNorth\tAmerica/Chicago" in listed.stdout

    shown = cmgraph("org", "show", "north", cwd=practice)
    lines = dict(line.split("\t", 1) for line in shown.stdout.splitlines())
    assert lines["time zone"] == "America/Chicago"
    assert (lines["payors"], lines["providers"], lines["clients"]) == ("1", "1", "2")
    assert lines["plugins in use"] == "none"

    missing = cmgraph("org", "show", "south", cwd=practice)
    assert missing.returncode == 1 and "no organization with slug 'south'" in missing.stderr


def test_a_first_import_makes_the_database_and_the_organization(
    practice: Path, tmp_path: Path
) -> None:
    """CSV files to a served practice in two commands: this import, then `cmgraph serve`."""
    (tmp_path / "files").symlink_to(practice / "files")
    first = ("import", "--org", "sunrise", "--create-org", "Sunrise Therapy",
             "--timezone", "America/Chicago", "files")  # fmt: skip

    run = cmgraph(*first, cwd=tmp_path)

    assert run.returncode == 0, run
    assert "created organization sunrise (America/Chicago)" in run.stdout
    token = run.stdout.splitlines()[run.stdout.splitlines().index(
        "admin token for sunrise; it is shown only once:") + 1]  # fmt: skip
    assert token.startswith("cmg_")
    listed = cmgraph("token", "list", "--org", "sunrise", cwd=tmp_path)
    assert "first admin (import)" in listed.stdout and "\tadmin\t" in listed.stdout
    shown = cmgraph("org", "show", "sunrise", cwd=tmp_path)
    assert "clients\t2" in shown.stdout

    again = cmgraph(*first, cwd=tmp_path)  # the same command again changes nothing
    assert again.returncode == 0, again
    assert "created organization" not in again.stdout and "token" not in again.stdout
    summary = {line.split()[0]: line.split()[1:] for line in again.stdout.splitlines()}
    assert summary["clients"] == ["0", "0", "2", "0"]
    assert cmgraph("token", "list", "--org", "sunrise", cwd=tmp_path).stdout == listed.stdout


def test_a_first_import_refuses_another_time_zone_or_a_dry_run_on_nothing(
    practice: Path, tmp_path: Path
) -> None:
    elsewhere = cmgraph("import", "--org", "north", "--create-org", "North",
                        "--timezone", "Europe/Paris", "files", cwd=practice)  # fmt: skip
    assert elsewhere.returncode == 1
    assert elsewhere.stderr.strip() == (
        "cmgraph: organization north exists in time zone America/Chicago, not Europe/Paris"
    )

    (tmp_path / "files").symlink_to(practice / "files")
    dry = cmgraph("import", "--org", "x", "--create-org", "X", "--timezone", "UTC",
                  "--dry-run", "files", cwd=tmp_path)  # fmt: skip
    assert dry.returncode == 1 and "a dry run writes nothing" in dry.stderr
    no_zone = cmgraph("import", "--org", "x", "--create-org", "X", "files", cwd=tmp_path)
    assert no_zone.returncode == 1 and "--create-org needs --timezone" in no_zone.stderr
    bad_slug = cmgraph("import", "--org", "My Practice", "--create-org", "X", "--timezone",
                       "UTC", "files", cwd=tmp_path)  # fmt: skip
    assert bad_slug.returncode == 1 and "invalid slug 'My Practice'" in bad_slug.stderr
    zone_alone = cmgraph("import", "--org", "x", "--timezone", "UTC", "files", cwd=tmp_path)
    assert zone_alone.returncode == 1 and "--timezone goes with --create-org" in zone_alone.stderr
    assert not (tmp_path / "cmgraph.db").exists()  # none left a database behind


def test_a_payor_naming_a_plugin_not_loaded_says_where_plugins_come_from(
    practice: Path,
) -> None:
    plugged = practice / "plugged-payors.csv"
    plugged.write_text("payer_id,name,kind,plugins\nP9,Triwest,TRICARE,tricare_acd\n")

    run = cmgraph("import", "--org", "north", "--kind", "payors", str(plugged), cwd=practice)

    assert run.returncode == 1
    assert (
        "payor rows name plugins this command did not load: it loads them from installed "
        f"packages and {practice / 'no-plugins'} (CMGRAPH_PLUGINS_DIR, default ./plugins)"
    ) in run.stdout


def test_a_first_import_that_fails_has_shown_the_token_already(
    practice: Path, tmp_path: Path
) -> None:
    """The organization is made, and its admin token shown, before any row: an import
    refused afterwards leaves an organization its operator can reach."""
    (tmp_path / "clients.csv").write_text(
        "external_id,first_name,last_name,date_of_birth\nC1,Ada,,\n"
    )
    run = cmgraph("import", "--org", "east", "--create-org", "East", "--timezone", "UTC",
                  "clients.csv", cwd=tmp_path)  # fmt: skip

    assert run.returncode == 1
    lines = run.stdout.splitlines()
    shown = lines.index("admin token for east; it is shown only once:")
    first_row = next(n for n, line in enumerate(lines) if line.startswith("kind "))
    assert shown < first_row  # before the import's first row: shown whatever happens next
    assert "nothing was written" in run.stdout
