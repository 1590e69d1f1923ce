"""The plugin manager: load order, the plugins folder, blocking, and refusing bad plugins."""

from __future__ import annotations

import inspect
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from cmgraph import hookspecs
from cmgraph.facts import Payor, PayorKind, Payors
from cmgraph.plugins import PluginError, RuleBook, build_plugin_manager

PAYOR = Payor(id=uuid4(), name="Slow Payor", kind=PayorKind.COMMERCIAL, plugins=("slow",))
HEADER = "from cmgraph import hookimpl\n\n@hookimpl\n"

SLOW_PLUGIN = """
from datetime import timedelta
from cmgraph import hookimpl

@hookimpl
def cmgraph_lead_time(service_line, payor):
    if payor is not None and "slow" in payor.plugins:
        return timedelta(hours=72)
    return None
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(text)
    return path


def test_every_hook_is_documented() -> None:
    hooks = [
        f
        for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("cmgraph_")
    ]
    assert hooks, "no hookspecs found"
    for hook in hooks:
        assert hook.__doc__ and len(hook.__doc__.strip()) > 40, f"{hook.__name__} is undocumented"


def test_a_plugin_in_the_folder_changes_a_default_for_the_payor_that_names_it(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "slow", SLOW_PLUGIN)
    book = RuleBook(build_plugin_manager(tmp_path))

    assert book.lead_time("ABA", Payors(primary=PAYOR)) == timedelta(hours=72)
    other = Payor(id=PAYOR.id, name="Other", kind=PayorKind.COMMERCIAL, plugins=())
    assert book.lead_time("ABA", Payors(primary=other)) == timedelta(hours=24)
    assert "slow" in book.plugin_names()


def test_a_blocked_plugin_is_not_loaded(tmp_path: Path) -> None:
    _write(tmp_path, "slow", SLOW_PLUGIN)
    book = RuleBook(build_plugin_manager(tmp_path, disabled=["slow"]))

    assert book.lead_time("ABA", Payors(primary=PAYOR)) == timedelta(hours=24)
    assert "slow" not in book.plugin_names()


def test_built_in_rules_are_not_names_a_payor_may_list() -> None:
    assert RuleBook(build_plugin_manager()).plugin_names() == set()


def test_a_plugin_that_fails_to_import_stops_startup_naming_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken", "import does_not_exist\n")
    with pytest.raises(PluginError) as raised:
        build_plugin_manager(tmp_path)
    message = str(raised.value)
    assert str(path) in message and "ModuleNotFoundError" in message
    assert "\n" not in message


def test_an_implementation_without_a_spec_is_refused(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "typo",
        HEADER + "def cmgraph_lead_tim(service_line, payor):\n    return None\n",
    )
    with pytest.raises(PluginError, match="cmgraph_lead_tim"):
        build_plugin_manager(tmp_path)


def test_an_implementation_with_unknown_arguments_is_refused(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "wrongargs",
        HEADER + "def cmgraph_lead_time(line, payor, extra):\n    return None\n",
    )
    with pytest.raises(PluginError, match="wrongargs"):
        build_plugin_manager(tmp_path)


def test_an_async_implementation_is_refused(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "asyncy",
        HEADER + "async def cmgraph_lead_time(service_line, payor):\n    return None\n",
    )
    with pytest.raises(PluginError, match="async"):
        build_plugin_manager(tmp_path)


def test_files_starting_with_an_underscore_are_not_plugins(tmp_path: Path) -> None:
    _write(tmp_path, "_helpers", "raise RuntimeError('must not be imported')\n")
    build_plugin_manager(tmp_path)
