"""The plugin manager and the typed calls the core makes through it.

Load order: the built-in rules (all ``trylast``), then installed packages of the entry-point
group ``cmgraph``, then every ``*.py`` in the plugins folder. pluggy registers, validates and
orders the implementations; `RuleBook` then calls them itself, in pluggy's order, because the
core needs what pluggy's call loop cannot give: each implementation of a payor plugin reached
only for the payors naming it (told which payor), each answer checked and stamped with the
plugin's registered name, a failure pinned on the implementation that raised, and a wrapper
of a collecting hook handed one flat list of findings. Across payors the strictest answer
wins (longest lead time, narrowest credentials).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import re
import sys
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import pluggy

from cmgraph import PROJECT_NAME, hookspecs, plugin_trace
from cmgraph.facts import (
    AssignmentCheck,
    Choice,
    CurrentAssignmentCheck,
    DecidedBy,
    Enrollment,
    ExpiryKind,
    Finding,
    Narrowing,
    Payor,
    PayorRole,
    Payors,
    RemovalCheck,
    RuleInfo,
    ServiceLine,
    SessionCheck,
    Setting,
)
from cmgraph.observability import metrics, tracing
from cmgraph.rules import BUILTIN_PLUGIN, BUILTIN_RULES, overlap

ALL_PAYORS_MARKER = "CMGRAPH_ALL_PAYORS"
HOOK_PREFIX = f"{PROJECT_NAME}_"
# The 837P has room for four procedure modifiers per service line (SV101-3 to SV101-6).
MAX_MODIFIERS = 4
MODIFIER = re.compile(r"[A-Z0-9]{2}")
ENROLLMENT_HOOK = "cmgraph_enrollment_qualifies"
# Renamed hooks: the old name keeps working (pluggy warns on implementing it) until 1.0.
RENAMED = {"cmgraph_enrollment_counts": ENROLLMENT_HOOK}


class PluginError(Exception):
    """A plugin could not be loaded; the message names the file and the reason."""


class PluginFailed(Exception):
    """A plugin raised, or answered the wrong type, while the core called it; the core fails
    closed."""

    def __init__(self, plugin: str, error: BaseException, hook: str = "") -> None:
        # The error's own message may quote health data: only its type goes in ours, but for
        # the core's own verdict on a wrong answer, which names types only.
        reason = (
            f"{type(error).__name__}: {error}"
            if isinstance(error, WrongAnswer)
            else (type(error).__name__)
        )
        where = f" in {hook}" if hook else ""
        super().__init__(f"plugin {plugin!r} failed{where}: {reason}")
        self.plugin = plugin
        self.hook = hook
        self.error = error


class WrongAnswer(TypeError):
    """A hook answered something its spec does not allow."""


def name_of(plugin: object) -> str:
    """The name a plugin registers under when nobody says: a module's file stem (a package's
    own name), else the object's `name` attribute or its class name."""
    if isinstance(plugin, ModuleType):
        file = getattr(plugin, "__file__", None)
        if file and Path(file).stem != "__init__":
            return Path(file).stem
        return plugin.__name__.rsplit(".", 1)[-1]
    return str(getattr(plugin, "name", None) or type(plugin).__name__)


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, remembering where each plugin came from."""

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        self.origins: dict[str, str] = {}

    def register_from(self, plugin: object, name: str, origin: str) -> None:
        _refuse_unmarked(self, plugin, origin)
        try:
            self.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"{origin}: {_one_line(exc)}") from exc
        self.origins[name] = origin
        _refuse_misfits(self, plugin, origin)


def _one_line(exc: BaseException) -> str:
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def import_plugin(path: Path) -> ModuleType:
    """A plugin file imported as CMGRAPH_PLUGINS_DIR's are (PluginError when it fails)."""
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


def _refuse_unmarked(pm: pluggy.PluginManager, plugin: object, origin: str) -> None:
    """A hook-named function without the marker would silently never run."""
    for attr in dir(plugin):
        if not attr.startswith(HOOK_PREFIX):
            continue
        value = getattr(plugin, attr, None)
        if callable(value) and pm.parse_hookimpl_opts(plugin, attr) is None:
            raise PluginError(f"{origin}: {attr} is not marked; did you forget @hookimpl?")


def _refuse_misfits(pm: pluggy.PluginManager, plugin: object, origin: str) -> None:
    """What pluggy accepts but the core's call loop does not run the pluggy way."""
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is not plugin:
                continue
            what = impl.function.__name__
            if inspect.iscoroutinefunction(impl.function):
                raise PluginError(f"{origin}: {what} is async; hooks are sync")
            if impl.hookwrapper:
                raise PluginError(f"{origin}: {what} uses hookwrapper=True; use wrapper=True")
            if impl.wrapper and caller.spec is not None and caller.spec.opts["firstresult"]:
                raise PluginError(
                    f"{origin}: {what} wraps a one-answer hook; answer it instead (the first "
                    "answer wins over the built-in default)"
                )


def _not_a_plugin(path: Path) -> bool:
    """Private modules, and a plugin's tests kept beside it (pytest's names)."""
    name = path.name
    return name.startswith("_") or name.startswith("test_") or name == "conftest.py"


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
        _refuse_unmarked(pm, plugin, origin)
        _refuse_misfits(pm, plugin, origin)
    if plugins_dir is not None and plugins_dir.is_dir():
        for path in sorted(plugins_dir.glob("*.py")):
            if _not_a_plugin(path) or pm.is_blocked(path.stem):
                continue
            pm.register_from(import_plugin(path), path.stem, str(path))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        origin = pm.origins.get(pm.get_name(exc.plugin) or "", str(exc.plugin))
        raise PluginError(f"{origin}: {_one_line(exc)}") from exc
    return pm


# -- what each hook may answer -----------------------------------------------------------


def _list_of(kind: type) -> Callable[[object], bool]:
    return lambda answer: isinstance(answer, list) and all(isinstance(x, kind) for x in answer)


def _optional(kind: type | tuple[type, ...]) -> Callable[[object], bool]:
    return lambda answer: answer is None or isinstance(answer, kind)


def _credentials(answer: object) -> bool:
    return answer is None or (
        isinstance(answer, (set, frozenset)) and all(isinstance(c, str) for c in answer)
    )


def _duration(answer: object) -> bool:
    return answer is None or (isinstance(answer, timedelta) and answer >= timedelta(0))


def _choice(answer: object) -> bool:
    return answer is None or (
        isinstance(answer, Choice)
        and (answer.provider_id is None or isinstance(answer.provider_id, UUID))
    )


def _modifiers(answer: object) -> bool:
    return answer is None or (
        isinstance(answer, (list, tuple))
        and len(answer) <= MAX_MODIFIERS
        and all(isinstance(m, str) and MODIFIER.fullmatch(m.upper()) for m in answer)
    )


_findings = _list_of(Finding)
ANSWERS: dict[str, tuple[Callable[[object], bool], str]] = {
    "cmgraph_service_lines": (_list_of(ServiceLine), "a list of ServiceLine"),
    "cmgraph_rules": (_list_of(RuleInfo), "a list of RuleInfo"),
    "cmgraph_payor_settings": (_list_of(Setting), "a list of Setting"),
    "cmgraph_qualifying_credentials": (_credentials, "a set of credential types, or None"),
    "cmgraph_lead_time": (_duration, "a timedelta of zero or more, or None"),
    "cmgraph_enrollment_qualifies": (_optional(bool), "True, False or None"),
    "cmgraph_enrollment_counts": (_optional(bool), "True, False or None"),
    "cmgraph_check_assignment": (_findings, "a list of Finding"),
    "cmgraph_check_removal": (_findings, "a list of Finding"),
    "cmgraph_check_session": (_findings, "a list of Finding"),
    "cmgraph_rendering_provider": (_choice, "a Choice or None"),
    "cmgraph_supervising_provider": (_choice, "a Choice or None"),
    "cmgraph_modifiers": (_modifiers, "a list of at most four 2-character modifiers, or None"),
    "cmgraph_expiry_window": (_duration, "a timedelta of zero or more, or None"),
    "cmgraph_check_current_assignment": (_findings, "a list of Finding"),
}


# -- calling the implementations ---------------------------------------------------------


@dataclass(frozen=True)
class Impl:
    """One hook implementation and what the core knows of its plugin."""

    hook: str
    impl: pluggy.HookImpl
    plugin: str  # the name findings and answers are stamped with
    registered: str  # the name payors list (built-ins: cmgraph.<module>)
    everywhere: bool  # a built-in rule or an all-payor plugin
    rank: int  # registration order
    trace: bool = False  # log every call (CMGRAPH_TRACE_PLUGINS)

    @functools.cached_property
    def builtin(self) -> bool:
        return self.registered.startswith(f"{BUILTIN_PLUGIN}.")

    def reaches(self, payor: Payor | None) -> bool:
        return self.everywhere or (payor is not None and self.registered in payor.plugins)

    @functools.cached_property
    def only_argument(self) -> str | None:
        """The name of the implementation's one argument, when it takes one (most rules take
        `check` alone): run passes it without a list made for it on every call."""
        names = self.impl.argnames
        return names[0] if len(names) == 1 else None

    def run(self, kwargs: dict[str, Any]) -> Any:
        only = self.only_argument
        args = (kwargs[only],) if only is not None else [kwargs[n] for n in self.impl.argnames]
        if not self.trace:  # the common case, called per session of a batch: no clock read
            try:
                return self.impl.function(*args)
            except Exception as exc:
                raise self.failed(exc) from exc
        started = time.perf_counter()
        try:
            answer = self.impl.function(*args)
        except Exception as exc:
            plugin_trace.record(self.plugin, self.hook, kwargs, _since(started), error=exc)
            raise self.failed(exc) from exc
        if not self.impl.wrapper:  # a wrapper's answer is traced when it ends
            plugin_trace.record(self.plugin, self.hook, kwargs, _since(started), answer)
        return answer

    def failed(self, exc: BaseException) -> BaseException:
        # A built-in rule's failure is the core's own: an internal error, not a plugin's.
        if self.builtin:
            return exc
        metrics.plugin_failed(self.plugin, self.hook)
        return PluginFailed(self.plugin, exc, self.hook)

    def checked(self, answer: Any) -> Any:
        fits, expected = ANSWERS[self.hook]
        if not fits(answer):
            raise self.failed(WrongAnswer(f"answered {type(answer).__name__}; expected {expected}"))
        return answer

    def stamp(self, finding: Finding, payor: Payor | None) -> Finding:
        payor_id = finding.payor_id or (payor.id if payor else None)
        # A built-in rule may attribute its finding to the plugin whose answer it enforces
        # (a payor's lead time); anybody else's is stamped with their registered name.
        plugin = finding.plugin if self.builtin and finding.plugin else self.plugin
        if finding.plugin == plugin and finding.payor_id == payor_id:
            return finding
        return replace(finding, plugin=plugin, payor_id=payor_id)

    def stamped(self, answer: Any, payor: Payor | None) -> Any:
        """The answer with this plugin's registered name on it, whatever the plugin wrote."""
        if isinstance(answer, list):
            return [self.stamped(x, payor) for x in answer]
        if isinstance(answer, Finding):
            return self.stamp(answer, payor)
        if isinstance(answer, (RuleInfo, Choice, Setting)) and answer.plugin != self.plugin:
            return replace(answer, plugin=self.plugin)
        return answer


def _since(started: float) -> float:
    return time.perf_counter() - started


Scope = tuple[Payor | None, PayorRole | None]
_NOBODY: tuple[Scope, ...] = ((None, None),)
_PLANS = 4096  # hook calls' plans kept (RuleBook._plan): a few per set of payors


@dataclass(frozen=True, slots=True)
class _Plan:
    """The implementations one hook call runs (RuleBook._plan): the scopes they are asked
    in, as positions in the call's scopes (-1: no payor), and each wrapper (in the order
    they are opened) and each implementation (in the order they are called) with the index
    of its scope in `positions`. Payors are taken from each call, never from the plan:
    payors equal without their settings (facts.Payor), and a payor's settings may have
    changed since the plan was made."""

    positions: tuple[int, ...]
    wrappers: tuple[tuple[Impl, int], ...]
    calls: tuple[tuple[Impl, int], ...]


@dataclass(frozen=True)
class ClaimDecision:
    """What goes on a claim line beside the session itself, and which plugin decided it."""

    rendering_provider_id: UUID | None
    supervising_provider_id: UUID | None
    modifiers: tuple[str, ...]
    rendering_plugin: str = BUILTIN_PLUGIN
    supervising_plugin: str = BUILTIN_PLUGIN
    modifier_plugins: tuple[str, ...] = ()


def _source_hash(plugin: object) -> str:
    """A hash of a plugin's code: its module's or class's source (an instance: its class's);
    what has no source to read (built in C, made at run time) hashes its qualified name."""
    target = plugin if inspect.ismodule(plugin) or inspect.isclass(plugin) else type(plugin)
    try:
        text = inspect.getsource(target)
    except (OSError, TypeError):
        text = f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', target)}"
    return hashlib.sha256(text.encode()).hexdigest()


class RuleBook:
    """Typed access to the hooks, scoped to payors, combining answers (the strictest wins)."""

    def __init__(self, pm: pluggy.PluginManager, *, trace: bool | None = None) -> None:
        """`trace`: log every hook call (default: CMGRAPH_TRACE_PLUGINS)."""
        self.pm = pm
        trace = plugin_trace.enabled() if trace is None else trace
        named = [(name, plugin) for name, plugin in pm.list_name_plugin() if plugin is not None]
        rank = {name: i for i, (name, _) in enumerate(named)}
        self._calls: dict[str, list[Impl]] = {}
        self._wrappers: dict[str, list[Impl]] = {}
        self._reaching_by: dict[tuple[str, tuple[str, ...] | None], list[Impl]] = {}
        self._replacing: dict[str, frozenset[str]] = {}
        self._plans: dict[tuple[str, tuple[Scope, ...], bool], _Plan] = {}
        self._replaced: dict[tuple[str, tuple[str, ...]], bool] = {}
        self.setting_declarations: list[Setting] = []
        for hook in ANSWERS:
            caller = getattr(pm.hook, hook, None)
            impls = []
            for impl in caller.get_hookimpls() if caller is not None else []:
                registered = impl.plugin_name
                builtin = registered.startswith(f"{BUILTIN_PLUGIN}.")
                impls.append(
                    Impl(
                        hook=hook,
                        impl=impl,
                        plugin=BUILTIN_PLUGIN if builtin else registered,
                        registered=registered,
                        everywhere=builtin or bool(getattr(impl.plugin, ALL_PAYORS_MARKER, False)),
                        rank=rank.get(registered, len(rank)),
                        trace=trace,
                    )
                )
            # pluggy's order: the last of the list is called first; wrappers are set up
            # outermost first and see the result innermost first.
            self._calls[hook] = [i for i in reversed(impls) if not i.impl.wrapper]
            self._wrappers[hook] = [i for i in impls if i.impl.wrapper]
        for old, new in RENAMED.items():
            # The old name is asked after every plugin's new one, before the defaults.
            calls = self._calls[new]
            own = [i for i in calls if not i.impl.trylast]
            self._calls[new] = own + self._calls.pop(old) + calls[len(own) :]
        lines: dict[str, ServiceLine] = {}
        # Describing lines and rules is not a payor's decision: every plugin is asked.
        for line in self._collect("cmgraph_service_lines", _NOBODY, {}, every=True):
            lines.setdefault(line.code.upper(), line)
        self.service_lines = lines
        self._replacing = self._replacements()
        self._replaced.clear()  # answered, if at all, before the replacements were known
        self.setting_declarations = self._collect("cmgraph_payor_settings", _NOBODY, {}, every=True)
        self.settings = self._declared_settings()

    def _replacements(self) -> dict[str, frozenset[str]]:
        """Which built-in rules each plugin stands in for (RuleInfo.replaces), checked."""
        rules = self.rules()
        builtin = {r.name for r in rules if r.plugin == BUILTIN_PLUGIN}
        replacing: dict[str, set[str]] = {}
        for rule in rules:
            for name in rule.replaces:
                if rule.plugin == BUILTIN_PLUGIN or name not in builtin:
                    raise PluginError(
                        f"{self.origin(rule.plugin)}: rule {rule.name!r} replaces {name!r}, "
                        f"which is not a built-in rule (built-in: {', '.join(sorted(builtin))})"
                    )
                replacing.setdefault(rule.plugin, set()).add(name)
        return {plugin: frozenset(names) for plugin, names in replacing.items()}

    def _declared_settings(self) -> dict[str, Setting]:
        """Every plugin's declared payor settings by name; one name, one kind."""
        declared: dict[str, Setting] = {}
        for setting in self.setting_declarations:
            other = declared.setdefault(setting.name, setting)
            if other.kind is not setting.kind:
                raise PluginError(
                    f"{self.origin(setting.plugin)}: setting {setting.name!r} is declared "
                    f"{setting.kind.value} here and {other.kind.value} by {other.plugin!r}"
                )
        return declared

    def setting_errors(self, plugins: Sequence[str], settings: Mapping[str, Any]) -> list[str]:
        """Why a payor naming `plugins` may not hold `settings`, one sentence per setting
        (each starting with its name); empty when it may."""
        errors = []
        for name, value in settings.items():
            setting = self.settings.get(name)
            declarers = {s.plugin for s in self.setting_declarations if s.name == name}
            if setting is None or not declarers & set(plugins):
                offered = sorted({s.name for s in self.setting_declarations if s.plugin in plugins})
                errors.append(
                    f"{name}: none of the payor's plugins reads this setting (they read: "
                    f"{', '.join(offered) or 'none'})."
                )
                continue
            try:
                setting.kind.parse(value)
            except ValueError as exc:
                errors.append(f"{name}: {exc}.")
        return errors

    def replaced(self, rule: str, payor: Payor | None) -> bool:
        """Whether a plugin the payor names stands in for the built-in rule."""
        if payor is None:
            return False
        # Asked for each finding of a built-in rule (a batch's sessions find thousands): the
        # answer depends on the payor's plugins alone, so it is worked out once for them.
        key = (rule, tuple(payor.plugins))  # a list, in a plugin author's test
        found = self._replaced.get(key)
        if found is None:
            found = self._replaced[key] = any(
                rule in self._replacing.get(p, ()) for p in payor.plugins
            )
        return found

    def _unreplaced(self, found: list[Any], scopes: Sequence[Scope]) -> list[Any]:
        """A built-in rule's findings minus those concerning a payor that replaced the rule;
        a finding concerning no payor in particular concerns the primary (it decides)."""
        if not self._replacing:
            return found
        by_id = {p.id: p for p, _ in scopes if p is not None}
        primary = next((p for p, r in scopes if r is PayorRole.PRIMARY), None)
        return [
            f
            for f in found
            if not (
                isinstance(f, Finding)
                and self.replaced(f.rule, by_id.get(f.payor_id) if f.payor_id else primary)
            )
        ]

    # -- plumbing ------------------------------------------------------------------------

    def _first(
        self, hook: str, payor: Payor | None, kwargs: dict[str, Any], *, stamp: bool = True
    ) -> Any:
        """The first answer other than None of the implementations reaching payor, and its
        implementation (`stamp`: with its plugin's name on the answer)."""
        if tracing.on():  # a span per hook call; one flag check while tracing is off
            with tracing.span(hook, {"cmgraph.hook": hook}):
                return self._first_answer(hook, payor, kwargs, stamp)
        return self._first_answer(hook, payor, kwargs, stamp)

    def _first_answer(
        self, hook: str, payor: Payor | None, kwargs: dict[str, Any], stamp: bool
    ) -> Any:
        for impl in self._reaching(hook, payor):
            answer = impl.checked(impl.run(kwargs))
            if answer is not None:
                return (impl.stamped(answer, payor) if stamp else answer), impl
        return None, None

    def _reaching(self, hook: str, payor: Payor | None) -> list[Impl]:
        """The hook's implementations that reach the payor, in calling order. Which reach it
        depends on its plugins alone, so they are listed once per hook and plugins: asking
        each implementation on every call was ten thousand calls for 500 answers."""
        plugins = payor.plugins if payor is not None else None
        try:
            found = self._reaching_by.get((hook, plugins))
        except TypeError:  # plugins in a list (a fact made by hand): listed, not kept
            return [i for i in self._calls[hook] if i.reaches(payor)]
        if found is None:
            found = self._reaching_by[(hook, plugins)] = [
                i for i in self._calls[hook] if i.reaches(payor)
            ]
        return found

    def _collect(
        self, hook: str, scopes: Sequence[Scope], kwargs: dict[str, Any], *, every: bool = False
    ) -> list[Any]:
        if tracing.on():
            with tracing.span(hook, {"cmgraph.hook": hook}):
                return self._collected(hook, scopes, kwargs, every=every)
        return self._collected(hook, scopes, kwargs, every=every)

    def _collected(
        self, hook: str, scopes: Sequence[Scope], kwargs: dict[str, Any], *, every: bool = False
    ) -> list[Any]:
        """Every answer, flattened: built-in and all-payor implementations once (payor and
        role None), a payor plugin's once per payor naming it (`every`: once, whatever the
        payors). Wrappers then see the flat list, minus what concerns another payor than
        theirs, and return what they keep."""
        plan = self._plan(hook, scopes, every)
        # Each scope's arguments, made once for every implementation reaching it.
        asked_in = [scopes[at] if at >= 0 else (None, None) for at in plan.positions]
        asked = [{**kwargs, "payor": payor, "role": role} for payor, role in asked_in]
        opened: list[tuple[Impl, Payor | None, Generator[Any, Any, Any]]] = []
        try:
            for impl, at in plan.wrappers:
                payor = asked_in[at][0]
                gen = impl.run(asked[at])
                opened.append((impl, payor, gen))
                try:
                    next(gen)
                except Exception as exc:
                    raise impl.failed(exc) from exc
            found: list[Any] = []
            for impl, at in plan.calls:
                answer = impl.run(asked[at])
                if answer.__class__ is list and not answer:
                    continue  # most rules find nothing: nothing to check or stamp
                answer = impl.stamped(impl.checked(answer), asked_in[at][0])
                found.extend(self._unreplaced(answer, scopes) if impl.builtin else answer)
            while opened:
                impl, payor, gen = opened.pop()
                found = self._unwrap(impl, payor, gen, found)
            return found
        finally:
            for _, _, gen in opened:
                gen.close()

    def _plan(self, hook: str, scopes: Sequence[Scope], every: bool) -> _Plan:
        """Which implementations a hook call runs, with which scope, in order: built-in and
        all-payor implementations once (payor and role None), a payor plugin's once per
        payor naming it (`every`: once, whatever the payors). The same for every call with
        these payors: a batch judging thousands of sessions asks it once per set of payors,
        not once per session and implementation."""
        key = (hook, tuple(scopes), every)
        found = self._plans.get(key)
        if found is not None:
            return found
        payors = [(i, p) for i, (p, _) in enumerate(scopes) if p is not None]

        def reached(impl: Impl) -> Sequence[int]:
            if impl.everywhere or every:
                return (-1,)
            return [i for i, p in payors if impl.reaches(p)]

        asked: list[int] = []

        def at(position: int) -> int:
            if position not in asked:
                asked.append(position)
            return asked.index(position)

        wrappers = [(impl, at(i)) for impl in reversed(self._wrappers[hook]) for i in reached(impl)]
        calls = [(impl, at(i)) for impl in self._calls[hook] for i in reached(impl)]
        if len(self._plans) >= _PLANS:  # payors change (a plugin named): start afresh
            self._plans.clear()
        found = self._plans[key] = _Plan(
            tuple(asked),
            tuple(wrappers),
            tuple(calls),
        )
        return found

    @staticmethod
    def _unwrap(
        impl: Impl, payor: Payor | None, gen: Generator[Any, Any, Any], found: list[Finding]
    ) -> list[Finding]:
        # A payor's wrapper handles its payor's findings and those of no payor in particular;
        # another payor's pass around it, so it cannot drop them by accident.
        mine = [f for f in found if payor is None or f.payor_id in (None, payor.id)]
        started = time.perf_counter()
        try:
            gen.send(mine)
        except StopIteration as done:
            if impl.trace:
                plugin_trace.record(
                    impl.plugin, impl.hook, {"payor": payor}, _since(started), done.value
                )
            kept = [impl.stamp(f, payor) if f.plugin == "" else f for f in impl.checked(done.value)]
        except Exception as exc:
            raise impl.failed(exc) from exc
        else:
            raise impl.failed(RuntimeError("the wrapper yielded twice"))
        given, still = {id(f) for f in mine}, {id(f) for f in kept}
        return [f for f in found if id(f) not in given or id(f) in still] + [
            f for f in kept if id(f) not in given
        ]

    # -- what the core asks ----------------------------------------------------------------

    def plugin_names(self) -> set[str]:
        """Names a payor may list in `plugins`: every loaded plugin but the built-in rules."""
        return {
            name
            for name, plugin in self.pm.list_name_plugin()
            if plugin is not None and not name.startswith(f"{BUILTIN_PLUGIN}.")
        }

    @functools.cached_property
    def fingerprint(self) -> str:
        """Which rules these are: every loaded plugin's name, origin (an entry point names its
        distribution's version) and a hash of its source. Stored findings judged under
        another fingerprint are judged again (services.findings)."""
        parts = sorted(
            f"{name}\0{self.origin(name)}\0{_source_hash(plugin)}"
            for name, plugin in self.pm.list_name_plugin()
            if plugin is not None
        )
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def origin(self, name: str) -> str:
        origins: dict[str, str] = getattr(self.pm, "origins", {})
        return origins.get(name, "registered directly")

    @staticmethod
    def overlap_lost_race() -> Finding:
        """The finding for a write the database's overlap backstop refused (a concurrent
        write got there first), in the overlap rule's own words."""
        return overlap.lost_race()

    def rules(self) -> list[RuleInfo]:
        return self._collect("cmgraph_rules", _NOBODY, {}, every=True)

    def _per_payor(self, hook: str, payors: Payors, **kwargs: Any) -> list[Any]:
        scopes = payors.with_roles() or _NOBODY
        return [
            self._first(hook, payor, {**kwargs, "payor": payor, "role": role})[0]
            for payor, role in scopes
        ]

    def qualifying_credentials(self, service_line: str, payors: Payors) -> frozenset[str]:
        return self.qualifying_decision(service_line, payors)[0]

    def qualifying_decision(
        self, service_line: str, payors: Payors
    ) -> tuple[frozenset[str], tuple[Narrowing, ...]]:
        """What qualifies a CM for the line with every payor (only what all of them accept;
        a payor nobody answers for keeps the line's default), and the payor plugins' answers
        that left out credentials the default accepts, primary first: a refusal they cause
        is theirs."""
        line = self.service_lines.get(service_line.upper())
        default = frozenset(c.upper() for c in line.qualifying_credentials) if line else frozenset()
        sets, narrowings = [], []
        for payor, role in payors.with_roles() or _NOBODY:
            kwargs = {"service_line": service_line, "payor": payor, "role": role}
            answer, impl = self._first("cmgraph_qualifying_credentials", payor, kwargs)
            accepted = default if answer is None else frozenset(c.upper() for c in answer)
            sets.append(accepted)
            if impl is not None and not impl.builtin and default - accepted:
                decided = DecidedBy(impl.plugin, payor.id if payor else None)
                narrowings.append(Narrowing(default - accepted, decided))
        return frozenset.intersection(*sets), tuple(narrowings)

    def lead_time(self, service_line: str, payors: Payors) -> timedelta:
        return self.lead_time_decision(service_line, payors)[0]

    def lead_time_decision(
        self, service_line: str, payors: Payors
    ) -> tuple[timedelta, DecidedBy | None]:
        """The longest lead time across the payors, and whose answer it is (the first payor's
        on a tie). Payors whose plugins replace the built-in lead_time rule are left out
        while another payor remains: the built-in rule enforces the others' lead time."""
        answers = []
        for payor, role in payors.with_roles() or _NOBODY:
            kwargs = {"service_line": service_line, "payor": payor, "role": role}
            answer, impl = self._first("cmgraph_lead_time", payor, kwargs)
            if answer is not None and impl is not None:
                answers.append((answer, DecidedBy(impl.plugin, payor.id if payor else None)))
        kept = [a for a in answers if not self.replaced("lead_time", self._payor(payors, a))]
        if not (kept or answers):
            return timedelta(0), None
        return max(kept or answers, key=lambda a: a[0])

    @staticmethod
    def _payor(payors: Payors, answer: tuple[timedelta, DecidedBy]) -> Payor | None:
        return next((p for p in payors.all if p.id == answer[1].payor_id), None)

    def expiry_windows(self, payors: Payors) -> dict[ExpiryKind, timedelta]:
        windows = {}
        for kind in ExpiryKind:
            answers = self._per_payor("cmgraph_expiry_window", payors, kind=kind)
            windows[kind] = max((a for a in answers if a is not None), default=timedelta(0))
        return windows

    def credentialed(
        self,
        enrollments: Iterable[Enrollment],
        provider_id: UUID,
        payor: Payor,
        day: date,
        service_line: str | None = None,
    ) -> bool:
        return any(
            self._first(
                ENROLLMENT_HOOK,
                payor,
                {"enrollment": e, "day": day, "payor": payor, "service_line": service_line},
            )[0]
            for e in enrollments
            if e.provider_id == provider_id and e.payor_id == payor.id
        )

    def credentialed_with(
        self,
        enrollments: Iterable[Enrollment],
        provider_id: UUID,
        payors: Payors,
        day: date,
        service_line: str | None = None,
    ) -> dict[UUID, bool]:
        mine = [e for e in enrollments if e.provider_id == provider_id]
        return {
            p.id: self.credentialed(mine, provider_id, p, day, service_line) for p in payors.all
        }

    def check_assignment(self, check: AssignmentCheck) -> list[Finding]:
        return self._collect(
            "cmgraph_check_assignment", check.payors.with_roles(), {"check": check}
        )

    def check_removal(self, check: RemovalCheck) -> list[Finding]:
        return self._collect("cmgraph_check_removal", (), {"check": check})

    def check_session(self, check: SessionCheck) -> list[Finding]:
        return self._collect("cmgraph_check_session", check.payors.with_roles(), {"check": check})

    def check_current_assignment(self, check: CurrentAssignmentCheck) -> list[Finding]:
        return self._collect(
            "cmgraph_check_current_assignment", check.payors.with_roles(), {"check": check}
        )

    def claim(self, check: SessionCheck) -> ClaimDecision:
        """Rendering and supervising providers and modifiers, by the primary payor's plugins."""
        payor = check.payor
        kwargs = {"check": check, "payor": payor}
        # The decision records who decided: the choices need no name stamped on them.
        rendering, by = self._first("cmgraph_rendering_provider", payor, kwargs, stamp=False)
        supervising, sup_by = self._first(
            "cmgraph_supervising_provider", payor, kwargs, stamp=False
        )
        rendering = rendering or Choice(None)
        supervisor = supervising.provider_id if supervising else None
        if supervisor == rendering.provider_id:
            supervisor = None  # clearinghouses reject a provider supervising themselves
        modifiers, deciders = self._modifiers(payor, kwargs)
        return ClaimDecision(
            rendering.provider_id,
            supervisor,
            modifiers,
            rendering_plugin=by.plugin if by else BUILTIN_PLUGIN,
            supervising_plugin=sup_by.plugin if sup_by and supervisor else BUILTIN_PLUGIN,
            modifier_plugins=deciders,
        )

    def _modifiers(
        self, payor: Payor | None, kwargs: dict[str, Any]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Every plugin's modifiers, in registration order, once each, at most four."""
        answers = []
        for impl in self._reaching("cmgraph_modifiers", payor):
            answer = impl.checked(impl.run(kwargs))
            if answer:
                answers.append((impl.rank, impl.plugin, answer))
        combined: list[str] = []
        deciders: list[str] = []
        for _, plugin, answer in sorted(answers, key=lambda a: a[0]):
            fresh = [m.upper() for m in answer if m.upper() not in combined]
            if fresh and len(combined) < MAX_MODIFIERS:
                deciders.append(plugin)
            combined.extend(dict.fromkeys(fresh))
        return tuple(combined[:MAX_MODIFIERS]), tuple(deciders)
