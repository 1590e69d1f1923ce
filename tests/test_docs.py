"""Every hook is documented for plugin authors and exercised by a test (as Datasette's
tests/test_docs.py keeps its plugin docs honest)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from cmgraph import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(
    name
    for name, value in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("cmgraph_")
)


def test_there_are_hooks():
    assert len(HOOKS) >= 13


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_section_in_the_plugin_docs(hook):
    docs = (ROOT / "docs" / "plugins.md").read_text()
    assert re.search(rf"^### {hook}$", docs, re.MULTILINE), f"docs/plugins.md lacks ### {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_implemented_by_a_plugin_under_test(hook):
    """A test defines a plugin implementing the hook, or a shipped plugin with its own tests
    does."""
    in_tests = any(
        f"def {hook}(" in path.read_text() for path in (ROOT / "tests").rglob("test_*.py")
    )
    shipped = any(
        f"def {hook}(" in path.read_text()
        and (ROOT / "tests" / "plugins" / f"test_{path.stem}.py").is_file()
        for path in (ROOT / "plugins").glob("*.py")
    )
    assert in_tests or shipped, f"no test exercises a plugin implementing {hook}"
