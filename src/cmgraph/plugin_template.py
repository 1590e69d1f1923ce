"""`cmgraph plugin new NAME`: a payor plugin and its tests, which pass as written.

The template is a working plugin (a longer lead time for the payors naming it, as a
setting) so an author starts from green tests and changes one thing at a time."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

NAME = re.compile(r"[a-z][a-z0-9_]*")

PLUGIN = '''"""{name}: payor rules for the payors whose `plugins` list "{name}".

Cite the payor's manual or provider page for each rule here.
"""

from __future__ import annotations

from datetime import timedelta

from cmgraph import hookimpl
from cmgraph.facts import RuleInfo, Setting, SettingKind

NOTICE = Setting(
    "{name}_notice_hours",
    SettingKind.INTEGER,
    default=48,
    description="Hours of notice the payor wants before a new case manager's first session.",
)


@hookimpl
def cmgraph_rules():
    return [
        RuleInfo(
            "{name}_notice",
            ("LEAD_TIME",),
            "A new case manager starts the payor's notice (48 h unless set) before the "
            "first session.",
            applies_to_all_payors=False,
        )
    ]


@hookimpl
def cmgraph_payor_settings():
    return [NOTICE]


@hookimpl
def cmgraph_lead_time(payor):
    return timedelta(hours=NOTICE.of(payor))
'''

TEST = '''"""Tests of {name}, with the fixtures of cmgraph.testing.

Needs pip install 'cmgraph[testing]' and pytest-asyncio's auto mode (pytest.ini).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cmgraph.testing import builders as b

PLUGIN = Path(__file__).with_name("{name}.py")
pytestmark = pytest.mark.cmgraph_plugins(PLUGIN)


def test_the_payor_naming_the_plugin_wants_48_hours_unless_set(cmgraph_book):
    mine = b.payor("Mine", plugins=["{name}"])
    other = b.payor("Other")

    assert cmgraph_book.lead_time("ABA", b.Payors(primary=mine)) == timedelta(hours=48)
    assert cmgraph_book.lead_time("ABA", b.Payors(primary=other)) == timedelta(hours=24)


def test_a_short_start_is_refused_in_the_plugins_name(cmgraph_book):
    cm = b.bcba()
    mine = b.payor("Mine", plugins=["{name}"])
    session = b.appointment("2026-03-02T09:00-05:00", by=cm)
    check = b.assignment_check(
        cmgraph_book,
        b.assignment(cm, "2026-03-01", saved=False),
        cm,
        coverages=[b.coverage(mine)],
        enrollments=[b.enrollment(cm, mine)],
        appointments=[session],
    )

    [finding] = cmgraph_book.check_assignment(check)

    assert (finding.code, finding.plugin) == ("LEAD_TIME", "{name}")


async def test_through_the_api_a_short_start_is_refused_and_a_long_one_accepted(cmgraph_graphql):
    who = await cmgraph_graphql.practice(["{name}"])
    # The first session is 33 hours after 00:00 on 2026-03-01 (America/New_York).
    await cmgraph_graphql.session(who, "2026-03-02T09:00-05:00", "2026-03-02T10:00-05:00")

    refused = await cmgraph_graphql.add_case_manager(who, "2026-03-01")
    accepted = await cmgraph_graphql.add_case_manager(who, "2026-02-28")

    assert [(e["code"], e["plugin"]) for e in refused["userErrors"]] == [
        ("LEAD_TIME", "{name}")
    ]
    assert accepted["userErrors"] == [] and accepted["caseManager"] is not None


async def test_a_payor_sets_its_notice_through_the_api(cmgraph_graphql):
    data = await cmgraph_graphql(
        "mutation($input: CreatePayorInput!) {{ createPayor(input: $input) {{ "
        "payor {{ settings }} userErrors {{ field message }} }} }}",
        {{
            "input": {{
                "name": "Mine",
                "kind": "COMMERCIAL",
                "plugins": ["{name}"],
                "settings": {{"{name}_notice_hours": "72"}},
            }}
        }},
    )

    [error] = data["createPayor"]["userErrors"]
    assert error["field"] == ["input", "settings", "{name}_notice_hours"]
'''

PYTEST_INI = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""


def write(name: str, folder: Path) -> list[Path]:
    """The plugin, its test and (when the folder has none) a pytest.ini; never overwrites."""
    if not NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ValueError(
            f"{name!r} is not a plugin name: lower-case letters, digits and _, starting "
            "with a letter (it is the module's name and the name payors list)"
        )
    files = {
        folder / f"{name}.py": PLUGIN.format(name=name),
        folder / f"test_{name}.py": TEST.format(name=name),
    }
    if not any((folder / f).exists() for f in ("pytest.ini", "pyproject.toml", "tox.ini")):
        files[folder / "pytest.ini"] = PYTEST_INI
    taken = [str(path) for path in files if path.exists()]
    if taken:
        raise FileExistsError(f"would overwrite {', '.join(taken)}")
    folder.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text)
    return list(files)
