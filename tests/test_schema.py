"""schema.graphql is the schema the code builds, and it honours the public contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cmgraph.api.schema import sdl

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "contract"
SHARED = ROOT.parent / "shared"


def test_schema_graphql_is_up_to_date() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == sdl(), "schema.graphql is stale: run `cmgraph export-schema`"


def test_schema_honours_the_contract() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(CONTRACT / "contract_check.py"),
            "schema.graphql",
            str(CONTRACT / "contract.graphql"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "contract: honoured" in result.stdout


@pytest.mark.parametrize(
    ("copy", "original"),
    [("contract.graphql", "contract.graphql"), ("contract_check.py", "tools/contract_check.py")],
)
def test_the_contract_copies_match_the_shared_originals(copy: str, original: str) -> None:
    if not (SHARED / original).is_file():
        pytest.skip("the shared originals are not beside this clone")
    assert (CONTRACT / copy).read_text() == (SHARED / original).read_text(), (
        f"contract/{copy} drifted from ../shared/{original}: copy it again"
    )
