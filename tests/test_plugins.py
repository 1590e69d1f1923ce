"""The plugin manager: load order, the plugins folder, blocking, and refusing bad plugins."""

from __future__ import annotations

import inspect
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
import rulefacts as rf

from cmgraph import hookspecs
from cmgraph.facts import EnrollmentStatus, Payor, PayorKind, Payors
from cmgraph.plugins import (
    PluginError,
    PluginFailed,
    RuleBook,
    build_plugin_manager,
    import_plugin,
    name_of,
)
from cmgraph.testing import Registrar

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


# --- names: the core knows them; plugins never spell their own ---

PLUGINS_DIR = Path(__file__).resolve().parents[1] / "plugins"


def test_a_copy_of_a_shipped_plugin_works_under_its_new_name(tmp_path: Path) -> None:
    """Copying nv_medicaid.py to nv.py gives a plugin `nv` that does everything, stamped `nv`."""
    (tmp_path / "nv.py").write_text((PLUGINS_DIR / "nv_medicaid.py").read_text())
    book = RuleBook(build_plugin_manager(tmp_path))
    nv = Payor(id=uuid4(), name="Nevada", kind=PayorKind.MEDICAID, plugins=("nv",))
    cm, rbt = rf.bcba(), rf.provider("RBT", name="Robin Tech")
    session = rf.appointment("2026-03-10T09:00-04:00", by=rbt)
    check = replace(
        rf.session_check(
            book, session, rf.assignment(cm, "2026-03-01"), coverages=[rf.coverage(nv)]
        ),
        deliverer=rbt,
    )

    decision = book.claim(check)
    found = book.check_session(check)

    assert decision.rendering_provider_id == rbt.id and decision.modifiers == ("UD",)
    assert decision.rendering_plugin == "nv" and decision.modifier_plugins == ("nv",)
    assert {(f.code, f.plugin, f.payor_id) for f in found} == {
        ("NV_MEDICAID_RENDERING_NOT_ENROLLED", "nv", nv.id),
        ("NOT_CREDENTIALED", "cmgraph", nv.id),  # a built-in finding names its payor too
    }
    assert {r.plugin for r in book.rules() if r.name.startswith("nv_medicaid_")} == {"nv"}


def test_a_module_registered_by_a_test_is_named_after_its_stem(tmp_path: Path) -> None:
    module = import_plugin(_write(tmp_path, "stemmed", SLOW_PLUGIN.replace('"slow"', '"stemmed"')))
    registrar = Registrar()
    registrar.register(module)

    assert registrar.plugins == [(module, "stemmed")]
    assert "stemmed" in RuleBook(registrar.manager()).plugin_names()


def test_a_hook_named_function_without_the_marker_stops_startup(tmp_path: Path) -> None:
    _write(tmp_path, "unmarked", "def cmgraph_lead_time(service_line):\n    return None\n")
    with pytest.raises(PluginError, match=r"unmarked.*did you forget @hookimpl\?"):
        build_plugin_manager(tmp_path)


def test_a_failure_is_pinned_on_the_implementation_even_when_re_exported(tmp_path: Path) -> None:
    """A package whose hooks live in a submodule: the failure is still the plugin's."""
    package = tmp_path / "reexporting"
    package.mkdir()
    (package / "__init__.py").write_text("from reexporting.hooks import cmgraph_lead_time\n")
    (package / "hooks.py").write_text(
        HEADER + "def cmgraph_lead_time(service_line):\n    raise KeyError(service_line)\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import reexporting

        pm = build_plugin_manager()
        pm.register_from(reexporting, name_of(reexporting), "a test")
    finally:
        sys.path.remove(str(tmp_path))
    payor = Payor(id=uuid4(), name="P", kind=PayorKind.COMMERCIAL, plugins=("reexporting",))

    with pytest.raises(PluginFailed) as failed:
        RuleBook(pm).lead_time("ABA", Payors(primary=payor))

    assert (failed.value.plugin, failed.value.hook) == ("reexporting", "cmgraph_lead_time")


# --- answers are checked ---


@pytest.mark.parametrize(
    ("hook", "answer", "ask"),
    [
        ("cmgraph_modifiers", '"95"', "claim"),
        ("cmgraph_modifiers", '["HM", "H"]', "claim"),
        ("cmgraph_lead_time", "72", "lead_time"),
        ("cmgraph_rendering_provider", "check.case_manager.provider_id", "claim"),
        ("cmgraph_check_session", "None and [] or 'NO_CASE_MANAGER'", "check_session"),
    ],
)
def test_a_wrong_answer_fails_the_plugin_naming_it_and_the_hook(
    tmp_path: Path, hook: str, answer: str, ask: str
) -> None:
    args = "service_line" if hook == "cmgraph_lead_time" else "check"
    _write(tmp_path, "wrong", HEADER + f"def {hook}({args}):\n    return {answer}\n")
    book = RuleBook(build_plugin_manager(tmp_path))
    payor = Payor(id=uuid4(), name="W", kind=PayorKind.COMMERCIAL, plugins=("wrong",))
    cm = rf.bcba()

    with pytest.raises(PluginFailed) as failed:
        if ask == "lead_time":
            book.lead_time("ABA", Payors(primary=payor))
        else:
            check = rf.session_check(
                book,
                rf.appointment("2026-03-10T09:00-04:00", by=cm),
                rf.assignment(cm, "2026-03-01"),
                coverages=[rf.coverage(payor)],
            )
            getattr(book, ask)(check)

    assert (failed.value.plugin, failed.value.hook) == ("wrong", hook)
    assert f"'wrong' failed in {hook}: WrongAnswer" in str(failed.value)


def test_modifiers_of_a_payors_plugins_combine_in_registration_order(tmp_path: Path) -> None:
    for name, modifiers in (("a_first", '["HM", "UD"]'), ("b_second", '["UD", "HN", "GT", "95"]')):
        _write(tmp_path, name, HEADER + f"def cmgraph_modifiers():\n    return {modifiers}\n")
    book = RuleBook(build_plugin_manager(tmp_path))
    both = Payor(id=uuid4(), name="B", kind=PayorKind.COMMERCIAL, plugins=("b_second", "a_first"))
    cm = rf.bcba()
    check = rf.session_check(
        book,
        rf.appointment("2026-03-10T09:00-04:00", by=cm),
        rf.assignment(cm, "2026-03-01"),
        coverages=[rf.coverage(both)],
    )

    decision = book.claim(check)

    assert decision.modifiers == ("HM", "UD", "HN", "GT")  # no duplicate, four at most
    assert decision.modifier_plugins == ("a_first", "b_second")


# --- renamed hooks keep working, with a warning ---


def test_the_old_enrollment_hook_still_works_with_a_deprecation_warning(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "old_style",
        HEADER + "def cmgraph_enrollment_counts(enrollment, day, payor):\n    return True\n",
    )
    with pytest.warns(DeprecationWarning, match="cmgraph_enrollment_qualifies"):
        book = RuleBook(build_plugin_manager(tmp_path))
    old = Payor(id=uuid4(), name="Old", kind=PayorKind.COMMERCIAL, plugins=("old_style",))
    plain = Payor(id=uuid4(), name="Plain", kind=PayorKind.COMMERCIAL, plugins=())
    cm = rf.bcba()

    for payor, counted in ((old, True), (plain, False)):
        pending = rf.enrollment(cm, payor, EnrollmentStatus.PENDING)
        assert book.credentialed([pending], cm.id, payor, rf.d("2026-03-01")) is counted


# --- which implementations a hook call runs, planned once per set of payors ---

FLAGGER = """
from cmgraph import hookimpl
from cmgraph.facts import Finding, Severity

@hookimpl
def cmgraph_check_session(check, payor, role):
    return [Finding("FLAGGED", Severity.WARNING, f"for {payor.name} ({role.value})", "flag")]

@hookimpl(wrapper=True)
def cmgraph_check_assignment(check, payor):
    found = yield
    return found + [Finding("WRAPPED", Severity.WARNING, payor.name, "flag")]
"""


def test_a_hook_call_reaches_the_payors_of_its_own_check_whatever_was_asked_before(
    tmp_path: Path,
) -> None:
    """The RuleBook plans a hook call's implementations once per set of payors: a payor
    plugin still runs for each payor naming it, in its role, and only for those; a payor
    whose plugins change is planned anew."""
    _write(tmp_path, "flagger", FLAGGER)
    book = RuleBook(build_plugin_manager(tmp_path))
    named = Payor(id=uuid4(), name="Named", kind=PayorKind.COMMERCIAL, plugins=("flagger",))
    other = Payor(id=uuid4(), name="Other", kind=PayorKind.COMMERCIAL)
    renamed = replace(other, plugins=("flagger",))  # the same payor, naming it now
    cm = rf.bcba()

    def flagged(*payors: Payor) -> list[str]:
        coverages = [rf.coverage(p, priority=i + 1) for i, p in enumerate(payors)]
        check = rf.session_check(
            book,
            rf.appointment("2026-03-10T09:00-04:00", by=cm),
            rf.assignment(cm, "2026-03-01"),
            coverages=coverages,
        )
        return sorted(f.message for f in book.check_session(check) if f.code == "FLAGGED")

    for _ in range(2):  # asked again, the plans answer as at first
        assert flagged(named) == ["for Named (PRIMARY)"]
        assert flagged(other) == []
        assert flagged(renamed) == ["for Other (PRIMARY)"]
        assert flagged(other, named) == ["for Named (SECONDARY)"]
        assert flagged(named, renamed) == ["for Named (PRIMARY)", "for Other (SECONDARY)"]

    def wrapped(*payors: Payor) -> list[str]:
        check = rf.assignment_check(
            book, rf.assignment(cm, "2026-03-01"), cm, coverages=[rf.coverage(p) for p in payors]
        )
        return [f.message for f in book.check_assignment(check) if f.code == "WRAPPED"]

    assert wrapped(named) == ["Named"]
    assert wrapped(other) == []
    assert wrapped(named) == ["Named"]


GAPS_OFF = """
from cmgraph import hookimpl
from cmgraph.facts import RuleInfo

@hookimpl
def cmgraph_rules():
    return [RuleInfo("no_gaps", (), "Gaps are fine.", False, replaces=("coverage_gaps",))]
"""


def test_a_replaced_rule_is_off_for_the_payors_naming_the_replacement_whatever_was_asked_before(
    tmp_path: Path,
) -> None:
    """Whether a payor replaced a built-in rule is worked out once for its plugins: a
    finding of the rule still goes for the payors naming the replacement, and only for
    them, however the calls come."""
    _write(tmp_path, "gaps_off", GAPS_OFF)
    book = RuleBook(build_plugin_manager(tmp_path))
    named = Payor(id=uuid4(), name="Named", kind=PayorKind.COMMERCIAL, plugins=("gaps_off",))
    other = Payor(id=uuid4(), name="Other", kind=PayorKind.COMMERCIAL)
    renamed = replace(other, plugins=("gaps_off",))

    def gaps(*payors: Payor) -> list[str]:
        check = rf.session_check(
            book,
            rf.appointment("2026-03-10T09:00-04:00", by=rf.bcba()),
            None,  # no case manager: the coverage_gaps rule finds it
            coverages=[rf.coverage(p, priority=i + 1) for i, p in enumerate(payors)],
        )
        return [f.code for f in book.check_session(check) if f.rule == "coverage_gaps"]

    for _ in range(2):
        assert gaps(named) == []
        assert gaps(other) == ["NO_CASE_MANAGER"]
        assert gaps(renamed) == []
        assert gaps(other, named) == ["NO_CASE_MANAGER"]  # the primary decides
        assert gaps(named, other) == []


SETTING_READER = """
from cmgraph import hookimpl
from cmgraph.facts import Finding, Severity

@hookimpl
def cmgraph_check_session(check, payor, role):
    return [Finding("READ", Severity.WARNING, str(payor.settings.get("note")), "reader")]
"""


def test_a_hook_is_given_the_payor_of_its_own_call_with_its_settings_of_now(
    tmp_path: Path,
) -> None:
    """Payors are equal whatever their settings (facts.Payor), so a plan made for one call
    must not hand its payor to the next: a payor whose settings changed in between (an
    updatePayor) is seen with its new settings."""
    _write(tmp_path, "reader", SETTING_READER)
    book = RuleBook(build_plugin_manager(tmp_path))
    before = Payor(
        id=uuid4(),
        name="P",
        kind=PayorKind.COMMERCIAL,
        plugins=("reader",),
        settings={"note": "before"},
    )
    after = replace(before, settings={"note": "after"})
    assert before == after
    cm = rf.bcba()

    def read(payor: Payor) -> list[str]:
        check = rf.session_check(
            book,
            rf.appointment("2026-03-10T09:00-04:00", by=cm),
            rf.assignment(cm, "2026-03-01"),
            coverages=[rf.coverage(payor)],
        )
        return [f.message for f in book.check_session(check) if f.code == "READ"]

    assert read(before) == ["before"]
    assert read(after) == ["after"]
