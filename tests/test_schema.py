"""schema.graphql is the schema the code builds, and it honours the shared contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cmgraph.api.schema import sdl

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_CHECK = ROOT.parent / "shared" / "tools" / "contract_check.py"


def test_schema_graphql_is_up_to_date():
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == sdl(), "schema.graphql is stale: run `cmgraph export-schema`"


@pytest.mark.skipif(not CONTRACT_CHECK.parent.parent.is_dir(), reason="../shared is not here")
def test_schema_honours_the_contract():
    result = subprocess.run(
        [sys.executable, "../shared/tools/contract_check.py", "schema.graphql"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "contract: honoured" in result.stdout
