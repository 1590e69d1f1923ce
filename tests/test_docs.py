"""Every hook is documented for plugin authors, its documented signature is the real one,
each example of the docs runs, and every hook is exercised by a test (as Datasette's
tests/test_docs.py keeps its plugin docs honest)."""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import rulefacts as rf

from cmgraph import hookspecs
from cmgraph.facts import Payors
from cmgraph.plugins import RuleBook, build_plugin_manager

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "docs" / "plugins.md").read_text()
HOOKS = sorted(
    name
    for name, value in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("cmgraph_")
)
PRELUDE = (
    "from datetime import date, timedelta\n"
    "from cmgraph import hookimpl\n"
    "from cmgraph.facts import *\n"
)


def section(hook: str) -> str:
    match = re.search(rf"^### {hook}\n(.*?)(?=^##)", DOCS, re.MULTILINE | re.DOTALL)
    assert match, f"docs/plugins.md lacks ### {hook}"
    return match.group(1)


def signature(hook: str) -> str:
    """The spec's signature as the docs write it: `(name: type, ...) -> type`."""
    sig = inspect.signature(getattr(hookspecs, hook))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"({params}) -> {sig.return_annotation}"


def test_there_are_hooks() -> None:
    assert len(HOOKS) >= 14


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_section_in_the_plugin_docs(hook: str) -> None:
    assert section(hook)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_documented_signature_is_the_hookspecs_one(hook: str) -> None:
    documented = re.match(r"`([^`]*)`", section(hook))
    assert documented, f"### {hook} does not open with its signature"
    assert " ".join(documented.group(1).split()) == signature(hook)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_docstring_gives_parameters_answer_and_version(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    for name in inspect.signature(getattr(hookspecs, hook)).parameters:
        assert f":param {name}:" in doc, f"{hook} does not document {name}"
    assert ":return:" in doc and ".. versionadded::" in doc, hook
    assert "Stops at the first non-None answer" in doc or "Every answer is kept" in doc, hook


# -- each example runs ---------------------------------------------------------------------

CM = rf.bcba()
MINE = rf.payor("My Payor", plugins=["my_payor"])
SESSION = rf.appointment("2026-03-10T09:00-04:00", by=CM)
ASSIGNED = rf.assignment(CM, "2026-03-01")


def _session(book: RuleBook) -> Any:
    return rf.session_check(book, SESSION, ASSIGNED, coverages=[rf.coverage(MINE)])


# How each hook's example is driven through the RuleBook, for a payor naming the plugin.
DRIVE: dict[str, Callable[[RuleBook], object]] = {
    "cmgraph_service_lines": lambda book: book.service_lines,
    "cmgraph_rules": lambda book: book.rules(),
    "cmgraph_payor_settings": lambda book: [
        book.lead_time("ABA", Payors(primary=MINE)),
        book.setting_errors(["my_payor"], {"notice_hours": 72}) == [] or 1 / 0,
    ],
    "cmgraph_qualifying_credentials": lambda book: book.qualifying_credentials(
        "ABA", Payors(primary=MINE)
    ),
    "cmgraph_lead_time": lambda book: book.lead_time("ABA", Payors(primary=MINE)),
    "cmgraph_enrollment_qualifies": lambda book: book.credentialed(
        [rf.enrollment(CM, MINE)], CM.id, MINE, rf.d("2026-03-01"), "ABA"
    ),
    "cmgraph_enrollment_counts": lambda book: book.credentialed(
        [rf.enrollment(CM, MINE)], CM.id, MINE, rf.d("2026-03-01")
    ),
    "cmgraph_check_assignment": lambda book: book.check_assignment(
        rf.assignment_check(
            book, rf.assignment(CM, "2026-03-07", saved=False), CM, coverages=[rf.coverage(MINE)]
        )
    ),
    "cmgraph_check_removal": lambda book: book.check_removal(rf.removal_check(ASSIGNED)),
    "cmgraph_check_session": lambda book: book.check_session(_session(book)),
    "cmgraph_rendering_provider": lambda book: book.claim(_session(book)),
    "cmgraph_supervising_provider": lambda book: book.claim(_session(book)),
    "cmgraph_modifiers": lambda book: book.claim(_session(book)),
    "cmgraph_expiry_window": lambda book: book.expiry_windows(Payors(primary=MINE)),
    "cmgraph_check_current_assignment": lambda book: book.check_current_assignment(
        rf.current_check(book, ASSIGNED, CM, "2026-03-10", coverages=[rf.coverage(MINE)])
    ),
}


def examples() -> list[tuple[str, str]]:
    """(the hook section it sits in, or the heading above it; the code) of every block."""
    found, heading = [], ""
    for line_match in re.finditer(r"^(#+ [^\n]*)$|^```python\n(.*?)^```", DOCS, re.M | re.S):
        if line_match.group(1):
            heading = line_match.group(1).lstrip("# ").strip()
        else:
            found.append((heading, line_match.group(2)))
    return found


def test_the_docs_have_an_example_per_hook() -> None:
    assert {heading for heading, _ in examples()} >= set(HOOKS)


@pytest.mark.parametrize(("heading", "code"), examples(), ids=lambda v: v[:40])
def test_each_docs_example_runs(heading: str, code: str) -> None:
    module = ModuleType("my_payor")
    exec(compile(PRELUDE + code, f"docs/plugins.md ({heading})", "exec"), module.__dict__)
    if heading not in DRIVE:
        return  # the testing example: it defines a plugin and a test, both checked above
    pm = build_plugin_manager()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the deprecated hook's example
        pm.register_from(module, "my_payor", "docs/plugins.md")
    pm.check_pending()
    assert any(h.name == heading for h in pm.get_hookcallers(module) or [])
    DRIVE[heading](RuleBook(pm))  # no PluginFailed: the answer fits the hook


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_implemented_by_a_plugin_under_test(hook: str) -> None:
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
