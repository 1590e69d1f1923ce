"""The plugin kit as an author outside the repo meets it: cmgraph.testing costs nothing to
load, a plugin's tests may sit beside it in the plugins folder, and `cmgraph plugin new`
writes a plugin whose tests pass at once. (./scripts/kit-check runs the same from the wheel
in a clean virtualenv.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmgraph import cli
from cmgraph.plugins import build_plugin_manager


def test_loading_the_pytest_plugin_imports_neither_the_app_nor_httpx() -> None:
    code = (
        "import sys, cmgraph.testing, cmgraph.testing.builders\n"
        "heavy = {'httpx', 'sqlalchemy', 'strawberry', 'starlette', 'cmgraph.app', "
        "'cmgraph.db'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


PLUGIN = "from cmgraph import hookimpl\n"


def test_tests_beside_the_plugins_are_not_loaded_as_plugins(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(PLUGIN)
    # Both would stop start-up if imported as plugins.
    (tmp_path / "test_mine.py").write_text("raise RuntimeError('a test module')\n")
    (tmp_path / "conftest.py").write_text("raise RuntimeError('a conftest')\n")

    pm = build_plugin_manager(tmp_path)

    assert "mine" in {name for name, _ in pm.list_name_plugin()}
    assert not {"test_mine", "conftest"} & {name for name, _ in pm.list_name_plugin()}


def test_plugin_new_writes_a_plugin_whose_tests_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["plugin", "new", "acme_health", "--dir", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "acme_health.py",
        "pytest.ini",
        "test_acme_health.py",
    ]

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CMGRAPH_PLUGINS_DIR")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 passed" in run.stdout


@pytest.mark.parametrize(
    ("name", "complaint"), [("Acme", "not a plugin name"), ("class", "not a plugin name")]
)
def test_plugin_new_refuses_a_name_that_is_no_module_name(
    name: str, complaint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["plugin", "new", name, "--dir", str(tmp_path)]) == 1
    assert complaint in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_plugin_new_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "acme_health.py").write_text("# mine\n")

    assert cli.main(["plugin", "new", "acme_health", "--dir", str(tmp_path)]) == 1

    assert "would overwrite" in capsys.readouterr().err
    assert (tmp_path / "acme_health.py").read_text() == "# mine\n"
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["acme_health.py"]
