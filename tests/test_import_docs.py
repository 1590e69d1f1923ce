"""docs/import.md lists the columns the code reads and writes, kind by kind."""

from __future__ import annotations

from pathlib import Path

from cmgraph.services import csv_columns

DOC = Path(__file__).resolve().parent.parent / "docs" / "import.md"
MARKER = "<!-- generated from cmgraph.services.csv_columns.markdown()"


def test_the_documented_columns_are_the_codes() -> None:
    text = DOC.read_text()
    assert MARKER in text
    generated = text.split(MARKER, 1)[1].split("\n", 1)[1]
    assert generated.strip() == csv_columns.markdown().strip(), (
        "docs/import.md is stale: regenerate its columns from csv_columns.markdown()"
    )
