"""The plugin manager and the typed calls the core makes through it.

Load order: the built-in rules (all ``trylast``), then installed packages of the entry-point
group ``cmgraph``, then every ``*.py`` in the plugins folder. The core never calls
``pm.hook`` directly: `RuleBook` wraps each hook, reaches only the plugins that the payors in
question name (plus built-ins and plugins declaring ``CMGRAPH_ALL_PAYORS = True``), combines
per-payor answers so that the strictest wins (longest lead time, narrowest credentials), and
turns a plugin's exception into `PluginFailed` naming it.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any
from uuid import UUID

import pluggy

from cmgraph import PROJECT_NAME, hookspecs
from cmgraph.facts import (
    AssignmentCheck,
    Choice,
    CurrentAssignmentCheck,
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

ALL_PAYORS_MARKER = "CMGRAPH_ALL_PAYORS"


class PluginError(Exception):
    """A plugin could not be loaded; the message names the file and the reason."""


class PluginFailed(Exception):
    """A plugin raised while the core called it; the core fails closed."""

    def __init__(self, plugin: str, error: BaseException) -> None:
        # The error's own message may quote health data: only its type goes in ours.
        super().__init__(f"plugin {plugin!r} failed: {type(error).__name__}")
        self.plugin = plugin
        self.error = error


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, remembering where each plugin came from."""

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        self.origins: dict[str, str] = {}

    def register_from(self, plugin: object, name: str, origin: str) -> None:
        try:
            self.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"{origin}: {_one_line(exc)}") from exc
        self.origins[name] = origin
        _refuse_async(self, plugin, origin)


def _one_line(exc: BaseException) -> str:
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


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
        raise PluginError(f"{path}: {type(exc).__name__}: {_one_line(exc)}") from exc
    return module


def _refuse_async(pm: pluggy.PluginManager, plugin: object, origin: str) -> None:
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and inspect.iscoroutinefunction(impl.function):
                raise PluginError(f"{origin}: {impl.function.__name__} is async; hooks are sync")


def build_plugin_manager(
    plugins_dir: Path | None = None, disabled: Iterable[str] = ()
) -> PluginManager:
    """Register built-in rules, entry points and the plugins folder; check every hook."""
    pm = PluginManager()
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(name)
    for module in BUILTIN_RULES:
        name = f"{BUILTIN_PLUGIN}.{module.__name__.rsplit('.', 1)[-1]}"
        pm.register_from(module, name, "built-in")
    try:
        pm.load_setuptools_entrypoints(PROJECT_NAME)
    except Exception as exc:
        raise PluginError(f"entry point: {type(exc).__name__}: {_one_line(exc)}") from exc
    for plugin, dist in pm.list_plugin_distinfo():
        name = pm.get_name(plugin) or ""
        origin = f"entry point of {dist.project_name} {dist.version}"
        pm.origins[name] = origin
        _refuse_async(pm, plugin, origin)
    if plugins_dir is not None and plugins_dir.is_dir():
        for path in sorted(plugins_dir.glob("*.py")):
            if path.stem.startswith("_") or pm.is_blocked(path.stem):
                continue
            pm.register_from(_import_file(path), path.stem, str(path))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        origin = pm.origins.get(pm.get_name(exc.plugin) or "", str(exc.plugin))
        raise PluginError(f"{origin}: {_one_line(exc)}") from exc
    return pm


@dataclass(frozen=True)
class ClaimDecision:
    """What goes on a claim line beside the session itself."""

    rendering_provider_id: UUID | None
    supervising_provider_id: UUID | None
    modifiers: tuple[str, ...]


class RuleBook:
    """Typed access to the hooks, scoped to payors, combining answers (the strictest wins)."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._callers: dict[tuple[str, tuple[tuple[str, ...], ...]], Any] = {}
        named = [(name, plugin) for name, plugin in pm.list_name_plugin() if plugin is not None]
        self._everywhere = {
            name
            for name, plugin in named
            if name.startswith(f"{BUILTIN_PLUGIN}.") or getattr(plugin, ALL_PAYORS_MARKER, False)
        }
        lines: dict[str, ServiceLine] = {}
        for batch in self._call("cmgraph_service_lines", ()):
            for line in batch:
                lines.setdefault(line.code.upper(), line)
        self.service_lines = lines

    # -- plumbing ------------------------------------------------------------------------

    def _caller(self, hook: str, payors: Iterable[Payor | None]) -> Any:
        """The hook, reaching built-ins, all-payor plugins and the plugins payors name."""
        # Keyed by the payors' plugin lists as they come: cheaper to hash than a set, and
        # the same payors come in the same order.
        key = (hook, tuple(tuple(p.plugins) for p in payors if p is not None))
        if key not in self._callers:
            keep = self._everywhere | {name for plugins in key[1] for name in plugins}
            others = [
                plugin
                for name, plugin in self.pm.list_name_plugin()
                if plugin is not None and name not in keep
            ]
            self._callers[key] = (
                self.pm.subset_hook_caller(hook, others) if others else getattr(self.pm.hook, hook)
            )
        return self._callers[key]

    def _call(self, hook: str, payors: Iterable[Payor | None], **kwargs: Any) -> Any:
        try:
            return self._caller(hook, payors)(**kwargs)
        except Exception as exc:
            culprit = self._culprit(exc.__traceback__)
            if culprit is None or culprit.startswith(f"{BUILTIN_PLUGIN}."):
                raise  # the core's own failure: an internal error, not a plugin's
            raise PluginFailed(culprit, exc) from exc

    def _culprit(self, tb: TracebackType | None) -> str | None:
        """The registered plugin whose code raised: the outermost plugin frame."""
        plugins = [(n, p) for n, p in self.pm.list_name_plugin() if p is not None]
        while tb is not None:
            frame = tb.tb_frame
            for name, plugin in plugins:
                if frame.f_globals is getattr(plugin, "__dict__", None) or (
                    frame.f_locals.get("self") is plugin
                ):
                    return name
            tb = tb.tb_next
        return None

    # -- what the core asks ----------------------------------------------------------------

    def plugin_names(self) -> set[str]:
        """Names a payor may list in `plugins`: every loaded plugin but the built-in rules."""
        return {
            name
            for name, plugin in self.pm.list_name_plugin()
            if plugin is not None and not name.startswith(f"{BUILTIN_PLUGIN}.")
        }

    def origin(self, name: str) -> str:
        origins: dict[str, str] = getattr(self.pm, "origins", {})
        return origins.get(name, "registered directly")

    def rules(self) -> list[RuleInfo]:
        return [info for batch in self.pm.hook.cmgraph_rules() for info in batch]

    def qualifying_credentials(self, service_line: str, payors: Payors) -> frozenset[str]:
        answers = [
            self._call("cmgraph_qualifying_credentials", [p], service_line=service_line, payor=p)
            for p in (payors.all or (None,))
        ]
        sets = [frozenset(c.upper() for c in a) for a in answers if a is not None]
        return frozenset.intersection(*sets) if sets else frozenset()

    def lead_time(self, service_line: str, payors: Payors) -> timedelta:
        answers = [
            self._call("cmgraph_lead_time", [p], service_line=service_line, payor=p)
            for p in (payors.all or (None,))
        ]
        return max((a for a in answers if a is not None), default=timedelta(0))

    def expiry_windows(self, payors: Payors) -> dict[str, timedelta]:
        windows = {}
        for kind in ("credential", "enrollment"):
            answers = [
                self._call("cmgraph_expiry_window", [p], kind=kind, payor=p)
                for p in (payors.all or (None,))
            ]
            windows[kind] = max((a for a in answers if a is not None), default=timedelta(0))
        return windows

    def credentialed(
        self, enrollments: Iterable[Enrollment], provider_id: UUID, payor: Payor, day: date
    ) -> bool:
        return any(
            self._call("cmgraph_enrollment_counts", [payor], enrollment=e, day=day, payor=payor)
            for e in enrollments
            if e.provider_id == provider_id and e.payor_id == payor.id
        )

    def credentialed_with(
        self, enrollments: Iterable[Enrollment], provider_id: UUID, payors: Payors, day: date
    ) -> dict[UUID, bool]:
        mine = [e for e in enrollments if e.provider_id == provider_id]
        return {p.id: self.credentialed(mine, provider_id, p, day) for p in payors.all}

    def check_assignment(self, check: AssignmentCheck) -> list[Finding]:
        return _flatten(self._call("cmgraph_check_assignment", check.payors.all, check=check))

    def check_removal(self, check: RemovalCheck) -> list[Finding]:
        return _flatten(self._call("cmgraph_check_removal", (), check=check))

    def check_session(self, check: SessionCheck) -> list[Finding]:
        return _flatten(self._call("cmgraph_check_session", check.payors.all, check=check))

    def check_current_assignment(self, check: CurrentAssignmentCheck) -> list[Finding]:
        return _flatten(
            self._call("cmgraph_check_current_assignment", check.payors.all, check=check)
        )

    def claim(self, check: SessionCheck) -> ClaimDecision:
        """Rendering and supervising providers and modifiers, by the primary payor's rules."""
        payor = [check.payor]
        rendering: Choice = self._call("cmgraph_rendering_provider", payor, check=check)
        supervising: Choice = self._call("cmgraph_supervising_provider", payor, check=check)
        modifiers: list[str] = self._call("cmgraph_modifiers", payor, check=check)
        supervisor = supervising.provider_id
        if supervisor == rendering.provider_id:
            supervisor = None  # clearinghouses reject a provider supervising themselves
        return ClaimDecision(rendering.provider_id, supervisor, tuple(modifiers))


def _flatten(batches: Iterable[list[Finding] | None]) -> list[Finding]:
    return [finding for batch in batches if batch for finding in batch]
