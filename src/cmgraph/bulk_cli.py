"""The terminal side of `cmgraph import` and `cmgraph export`: files in and out, a progress
bar (rich) on a terminal and plain lines otherwise, and the import's summary. The work
itself is services.imports and services.exports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from cmgraph.services import findings, imports
from cmgraph.services.csv_columns import Kind, kind_of

FINDINGS = "findings"  # the progress of the stored findings judged at the import's end


class InputError(Exception):
    """A path or file the import cannot use; the message fits on one line."""


def sources(path: Path, kind: str | None) -> list[imports.Source]:
    """A folder's `<kind>.csv` files, or one file (its kind from --kind or its name)."""
    if path.is_dir():
        found = []
        for file in sorted(path.glob("*.csv")):
            try:
                found.append(_source(file, kind_of(file.stem)))
            except ValueError:
                continue  # not a kind's file (an earlier run's errors, say)
        if not found:
            known = ", ".join(f"{k.value}.csv" for k in Kind)
            raise InputError(f"no CSV file of a kind in {path} (expected: {known})")
        return found
    if not path.is_file():
        raise InputError(f"no such file or folder: {path}")
    try:
        return [_source(path, kind_of(kind or path.stem))]
    except ValueError as exc:
        raise InputError(f"{exc}; name the file after its kind or pass --kind") from None


def _source(file: Path, kind: Kind) -> imports.Source:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{file} is not UTF-8 text") from None
    return imports.Source(kind, file.name, text)


@dataclass(frozen=True)
class Shown:
    """Where an import reports how far it is: its rows per kind, then the stored findings
    of the clients it reached, judged again once at its end."""

    rows: imports.Progress
    findings: findings.Progress


@contextmanager
def progress(out: TextIO) -> Iterator[Shown]:
    """A progress bar per kind on a terminal; otherwise a line per batch."""
    if out.isatty():
        bar = Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        tasks: dict[str, TaskID] = {}

        def show(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        with bar:
            yield Shown(
                lambda kind, done, total: show(kind.value, done, total),
                lambda done, total: show(FINDINGS, done, total),
            )
        return

    def line(kind: Kind, done: int, total: int) -> None:
        print(f"{kind.value}: {done}/{total} rows", file=out, flush=True)

    def judged(done: int, total: int) -> None:
        print(f"{FINDINGS}: {done}/{total} clients judged", file=out, flush=True)

    yield Shown(line, judged)


def summary(report: imports.Report) -> list[str]:
    lines = [f"{'kind':<14} {'created':>8} {'updated':>8} {'unchanged':>10} {'refused':>8}"]
    for kind, c in report.counts.items():
        lines.append(
            f"{kind.value:<14} {c.created:>8} {c.updated:>8} {c.unchanged:>10} {c.refused:>8}"
        )
    if report.dry_run:
        lines.append("dry run: nothing was written")
    elif report.errors and report.policy is imports.ErrorPolicy.REJECT_EVERYTHING:
        lines.append("rows were refused, so nothing was written (--error-policy reject-everything)")
    return lines


def plugins_hint(report: imports.Report, plugins_dir: Path) -> str | None:
    """Payor rows refused for naming a plugin this command did not load: most often the
    command ran in another folder than the service, whose ./plugins it did not see."""
    if not any(e.column == "plugins" and "No plugin named" in e.message for e in report.errors):
        return None
    return (
        "payor rows name plugins this command did not load: it loads them from installed "
        f"packages and {plugins_dir.resolve()} (CMGRAPH_PLUGINS_DIR, default ./plugins)"
    )


def write_errors(report: imports.Report, path: Path) -> None:
    path.write_text(imports.errors_csv(report.errors), encoding="utf-8")
