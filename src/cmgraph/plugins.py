"""The plugin manager and the typed calls the core makes through it.

Load order: the built-in rules (all ``trylast``), then installed packages of the entry-point
group ``cmgraph``, then every ``*.py`` in the plugins folder. The core never calls
``pm.hook`` directly: `RuleBook` wraps each hook, and combines per-payor answers so that the
strictest wins (longest lead time, narrowest credentials).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from uuid import UUID

import pluggy

from cmgraph import PROJECT_NAME, hookspecs
from cmgraph.facts import (
    AssignmentCheck,
    Enrollment,
    Finding,
    Payor,
    Payors,
    RemovalCheck,
    RuleInfo,
    ServiceLine,
    SessionCheck,
)
from cmgraph.rules import BUILTIN_PLUGIN, BUILTIN_RULES


class PluginError(Exception):
    """A plugin could not be loaded; the message names the file and the reason."""


def _builtin_name(module: ModuleType) -> str:
    return f"{BUILTIN_PLUGIN}.{module.__name__.rsplit('.', 1)[-1]}"


def _import_file(path: Path) -> ModuleType:
    name = f"cmgraph_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path}: not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any failure stops start-up with one line
        sys.modules.pop(name, None)
        raise PluginError(f"{path}: {type(exc).__name__}: {exc}") from exc
    return module


def _refuse_async(pm: pluggy.PluginManager, plugin: object, origin: str) -> None:
    for impls in pm.get_hookcallers(plugin) or []:
        for impl in impls.get_hookimpls():
            if impl.plugin is plugin and inspect.iscoroutinefunction(impl.function):
                raise PluginError(f"{origin}: {impl.function.__name__} is async; hooks are sync")


def build_plugin_manager(
    plugins_dir: Path | None = None, disabled: Iterable[str] = ()
) -> pluggy.PluginManager:
    """Register built-in rules, entry points and the plugins folder; check every hook."""
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(name)
    for module in BUILTIN_RULES:
        pm.register(module, name=_builtin_name(module))
    try:
        pm.load_setuptools_entrypoints(PROJECT_NAME)
    except Exception as exc:
        raise PluginError(f"entry point: {type(exc).__name__}: {exc}") from exc
    if plugins_dir is not None and plugins_dir.is_dir():
        for path in sorted(plugins_dir.glob("*.py")):
            if path.stem.startswith("_") or pm.is_blocked(path.stem):
                continue
            module = _import_file(path)
            try:
                pm.register(module, name=path.stem)
            except pluggy.PluginValidationError as exc:
                raise PluginError(f"{path}: {_one_line(exc)}") from exc
            _refuse_async(pm, module, str(path))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        origin = getattr(exc.plugin, "__file__", None) or exc.plugin
        raise PluginError(f"{origin}: {_one_line(exc)}") from exc
    return pm


def _one_line(exc: Exception) -> str:
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


class RuleBook:
    """Typed access to the hooks, combining per-payor answers (the strictest wins)."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._hook = pm.hook
        lines: dict[str, ServiceLine] = {}
        for batch in self._hook.cmgraph_service_lines():
            for line in batch:
                lines.setdefault(line.code.upper(), line)
        self.service_lines = lines

    def plugin_names(self) -> set[str]:
        """Names a payor may list in `plugins`: every loaded plugin but the built-in rules."""
        return {
            name
            for name, plugin in self.pm.list_name_plugin()
            if plugin is not None and not name.startswith(f"{BUILTIN_PLUGIN}.")
        }

    def rules(self) -> list[RuleInfo]:
        return [info for batch in self._hook.cmgraph_rules() for info in batch]

    def qualifying_credentials(self, service_line: str, payors: Payors) -> frozenset[str]:
        answers = [
            self._hook.cmgraph_qualifying_credentials(service_line=service_line, payor=payor)
            for payor in (payors.all or (None,))
        ]
        sets = [frozenset(c.upper() for c in a) for a in answers if a is not None]
        return frozenset.intersection(*sets) if sets else frozenset()

    def lead_time(self, service_line: str, payors: Payors) -> timedelta:
        answers = [
            self._hook.cmgraph_lead_time(service_line=service_line, payor=payor)
            for payor in (payors.all or (None,))
        ]
        return max((a for a in answers if a is not None), default=timedelta(0))

    def credentialed(
        self, enrollments: Iterable[Enrollment], provider_id: UUID, payor: Payor, day: date
    ) -> bool:
        return any(
            self._hook.cmgraph_enrollment_counts(enrollment=e, day=day, payor=payor)
            for e in enrollments
            if e.provider_id == provider_id and e.payor_id == payor.id
        )

    def credentialed_with(
        self, enrollments: Iterable[Enrollment], provider_id: UUID, payors: Payors, day: date
    ) -> dict[UUID, bool]:
        mine = [e for e in enrollments if e.provider_id == provider_id]
        return {p.id: self.credentialed(mine, provider_id, p, day) for p in payors.all}

    def check_assignment(self, check: AssignmentCheck) -> list[Finding]:
        return _flatten(self._hook.cmgraph_check_assignment(check=check))

    def check_removal(self, check: RemovalCheck) -> list[Finding]:
        return _flatten(self._hook.cmgraph_check_removal(check=check))

    def check_session(self, check: SessionCheck) -> list[Finding]:
        return _flatten(self._hook.cmgraph_check_session(check=check))

    def rendering_provider(self, check: SessionCheck) -> UUID | None:
        answer: UUID | None = self._hook.cmgraph_rendering_provider(check=check)
        return answer


def _flatten(batches: Iterable[list[Finding] | None]) -> list[Finding]:
    return [finding for batch in batches if batch for finding in batch]
