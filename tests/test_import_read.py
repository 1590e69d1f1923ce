"""A file's rows as the import reads them (imports.read): the cells csv.DictReader would give
under the header's columns, blank lines skipped and not counted, whatever the file's shape."""

from __future__ import annotations

import csv
import io

import pytest

from cmgraph.services import imports
from cmgraph.services.csv_columns import Kind


def _as_dict_reader_reads(text: str) -> list[tuple[int, dict[str, str]]]:
    """What the import read before it read rows itself: DictReader, less what is no cell."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    reader.fieldnames = [(h or "").strip().lower() for h in reader.fieldnames or []]
    return [
        (number, {k: v for k, v in cells.items() if k is not None and isinstance(v, str)})
        for number, cells in enumerate(reader, start=2)
    ]


FILES = [
    "external_id,first_name,last_name\nC1,Ada,L\nC2,Alan,T\n",
    "\ufeff External_ID ,First_Name\r\nC1,Ada\r\n\r\n\r\nC2,Alan\r\n",  # BOM, CRLF, blank lines
    "external_id,first_name,last_name\nC1,Ada\nC2\n\nC3,Grace,H,extra,more\n",  # short, long
    "external_id,first_name,external_id\nC1,Ada\nC2,Alan,C3\nC4\n",  # a repeated column
    'external_id,first_name\n"",""\n"C1","A, ""B"""\n',  # quoted cells, an empty row
    "external_id,first_name\n",  # a header alone
    "\nexternal_id\nC1\n",  # a blank first line: no header
    "",
]


@pytest.mark.parametrize("text", FILES)
def test_rows_are_those_dict_reader_gives(text: str) -> None:
    read = imports.read(imports.Source(Kind.CLIENTS, "clients.csv", text))
    assert [(row.number, row.cells) for row in read.rows] == _as_dict_reader_reads(text)
