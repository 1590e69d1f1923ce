"""medicare_retro: a Medicare enrollment counts from 30 days (90 in a declared disaster)
before its effective date, for assignment start dates and dates of service alike."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import practice as p
import pytest
from claims import claim_lines
from pytest import MonkeyPatch

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db.engine import Database
from cmgraph.plugins import PluginError, RuleBook, build_plugin_manager
from cmgraph.services import tenants
from tests.support import Api

PLUGINS_DIR = Path(__file__).resolve().parents[2] / "plugins"
PLUGIN = "medicare_retro"
ENV = "CMGRAPH_MEDICARE_DISASTERS"

CHECK = """query($input: AddCaseManagerInput!) {
  checkCaseManager(input: $input) { code severity rule plugin }
}"""


async def _check(api: Any, client: str, provider: str, start: str) -> list[tuple[str, str]]:
    """checkCaseManager's findings for an ABA assignment from start: (code, severity)."""
    data = await api(
        CHECK,
        {
            "input": {
                "clientId": client,
                "serviceLine": "ABA",
                "providerId": provider,
                "startDate": start,
            }
        },
    )
    return [(f["code"], f["severity"]) for f in data["checkCaseManager"]]


async def _payor(api: Any, with_plugin: bool) -> str:
    if with_plugin:
        return await p.payor(api, "Medicare", "MEDICARE", PLUGIN)
    return await p.payor(api, "Plain Plan", "COMMERCIAL")


NOT_CREDENTIALED = ("NOT_CREDENTIALED", "ERROR")


# -- assignment start dates ----------------------------------------------------------------


async def test_an_assignment_may_start_up_to_30_days_before_the_enrollment(api: Api) -> None:
    client = await p.client(api)
    medicare = await _payor(api, with_plugin=True)
    await p.coverage(api, client, medicare)
    cm = await p.provider(api, "Casey", "Manager", "BCBA")
    await p.enroll(api, cm, medicare, since="2026-03-20")

    assert await _check(api, client, cm, "2026-02-18") == []  # 30 days before
    assert await _check(api, client, cm, "2026-02-17") == [NOT_CREDENTIALED]  # 31 days
    payload = await p.add_case_manager(api, client, cm, "2026-03-01")
    assert payload["userErrors"] == []
    assert payload["warnings"] == []
    assert payload["caseManager"]["id"]


async def test_another_payor_gives_no_retro_window_to_an_assignment(api: Api) -> None:
    client = await p.client(api)
    plan = await _payor(api, with_plugin=False)
    await p.coverage(api, client, plan)
    cm = await p.provider(api, "Casey", "Manager", "BCBA")
    await p.enroll(api, cm, plan, since="2026-03-20")

    assert await _check(api, client, cm, "2026-03-19") == [NOT_CREDENTIALED]
    payload = await p.add_case_manager(api, client, cm, "2026-03-01")
    assert payload["caseManager"] is None
    assert [(e["code"], e["plugin"]) for e in payload["userErrors"]] == [
        ("NOT_CREDENTIALED", "cmgraph")
    ]
    assert await _check(api, client, cm, "2026-03-20") == []


@pytest.mark.parametrize(
    ("status", "until", "counts"),
    [
        ("ENROLLED", None, True),
        ("TERMINATED", "2026-06-30", True),
        ("TERMINATED", None, False),
        ("PENDING", None, False),
        ("DENIED", None, False),
    ],
)
async def test_only_enrolled_or_terminated_enrollments_reach_back(
    api: Api, status: str, until: str | None, counts: bool
) -> None:
    client = await p.client(api)
    medicare = await _payor(api, with_plugin=True)
    await p.coverage(api, client, medicare)
    cm = await p.provider(api, "Casey", "Manager", "BCBA")
    await p.enroll(api, cm, medicare, since="2026-03-20", until=until, status=status)

    assert await _check(api, client, cm, "2026-03-01") == ([] if counts else [NOT_CREDENTIALED])


@pytest.mark.parametrize("with_plugin", [True, False])
async def test_the_end_of_an_enrollment_is_kept(api: Api, with_plugin: bool) -> None:
    client = await p.client(api)
    payor = await _payor(api, with_plugin)
    await p.coverage(api, client, payor)
    cm = await p.provider(api, "Casey", "Manager", "BCBA")
    await p.enroll(api, cm, payor, since="2026-03-02", until="2026-03-25")

    assert await _check(api, client, cm, "2026-03-25") == []
    assert await _check(api, client, cm, "2026-03-26") == [NOT_CREDENTIALED]


# -- dates of service ----------------------------------------------------------------------


async def _sessions_around(api: Any, with_plugin: bool) -> dict[str, list[str]]:
    """Sessions 31, 30 and 23 days before a 2026-03-20 enrollment and on it: findings by date.

    The client's coverage starts 2026-02-16, after the assignment (2026-02-10, self-pay then,
    so nothing to be credentialed with), so that sessions before the window have a CM.
    """
    client = await p.client(api)
    payor = await _payor(api, with_plugin)
    await p.coverage(api, client, payor, since="2026-02-16")
    cm = await p.provider(api, "Casey", "Manager", "BCBA")
    await p.enroll(api, cm, payor, since="2026-03-20")
    await p.case_manager(api, client, cm, "2026-02-10")
    for day, offset in (
        ("02-17", "-05:00"),
        ("02-18", "-05:00"),
        ("02-25", "-05:00"),
        ("03-20", "-04:00"),
    ):
        await p.session(
            api,
            client,
            cm,
            f"2026-{day}T09:00{offset}",
            f"2026-{day}T11:00{offset}",
            code="97153",
        )
    lines = await claim_lines(api, client, "2026-02-01", "2026-03-31")
    for line in lines:
        assert line["renderingProvider"]["id"] == cm
        assert line["supervisingProvider"] is None
        assert line["modifiers"] == []
    return {line["dateOfService"]: [f["code"] for f in line["findings"]] for line in lines}


async def test_sessions_count_from_30_days_before_the_enrollment(api: Api) -> None:
    assert await _sessions_around(api, with_plugin=True) == {
        "2026-02-17": ["NOT_CREDENTIALED"],
        "2026-02-18": [],
        "2026-02-25": [],
        "2026-03-20": [],
    }


async def test_another_payors_sessions_count_only_from_the_enrollment(api: Api) -> None:
    assert await _sessions_around(api, with_plugin=False) == {
        "2026-02-17": ["NOT_CREDENTIALED"],
        "2026-02-18": ["NOT_CREDENTIALED"],
        "2026-02-25": ["NOT_CREDENTIALED"],
        "2026-03-20": [],
    }


# -- declared disasters --------------------------------------------------------------------


class _Api:
    """GraphQL as one organization, against an app with its own rule book."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client, self.token = client, token

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


def _only_this_plugin(directory: Path) -> Path:
    """A plugins folder holding only medicare_retro (the file itself, re-imported)."""
    directory.mkdir()
    (directory / f"{PLUGIN}.py").symlink_to(PLUGINS_DIR / f"{PLUGIN}.py")
    return directory


@pytest.fixture
async def disaster_api(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[_Api]:
    """The app started with March 2026 declared a disaster."""
    monkeypatch.setenv(ENV, " 2026-03-01:2026-03-31 , 2025-08-01:2025-08-15,")
    book = RuleBook(build_plugin_manager(_only_this_plugin(tmp_path / "plugins")))
    app = create_app(settings, db=db, book=book)
    slug = f"t-{uuid.uuid4().hex[:12]}"
    await tenants.create_organization(db, f"Practice {slug}", slug, "America/New_York")
    token = await tenants.create_token(db, slug, "admin")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as http:
        yield _Api(http, token)


async def _disaster_sessions(api: Any, with_plugin: bool) -> dict[str, list[str]]:
    """Sessions 91 and 90 days (in the disaster), 42 days (after it) and 27 days before a
    2026-06-01 enrollment: findings by date of service."""
    client = await p.client(api)
    payor = await _payor(api, with_plugin)
    await p.coverage(api, client, payor, since="2026-03-01")
    cm = await p.provider(api, "Casey", "Manager", "BCBA")
    await p.enroll(api, cm, payor, since="2026-06-01")
    await p.case_manager(api, client, cm, "2026-02-20")
    for day, offset in (
        ("03-02", "-05:00"),
        ("03-03", "-05:00"),
        ("04-20", "-04:00"),
        ("05-05", "-04:00"),
    ):
        await p.session(api, client, cm, f"2026-{day}T09:00{offset}", f"2026-{day}T10:00{offset}")
    lines = await claim_lines(api, client, "2026-03-01", "2026-05-31")
    return {line["dateOfService"]: [f["code"] for f in line["findings"]] for line in lines}


async def test_a_declared_disaster_reaches_back_90_days(disaster_api: _Api) -> None:
    assert await _disaster_sessions(disaster_api, with_plugin=True) == {
        "2026-03-02": ["NOT_CREDENTIALED"],
        "2026-03-03": [],
        "2026-04-20": ["NOT_CREDENTIALED"],
        "2026-05-05": [],
    }


async def test_without_a_declared_disaster_only_30_days(api: Api) -> None:
    assert await _disaster_sessions(api, with_plugin=True) == {
        "2026-03-02": ["NOT_CREDENTIALED"],
        "2026-03-03": ["NOT_CREDENTIALED"],
        "2026-04-20": ["NOT_CREDENTIALED"],
        "2026-05-05": [],
    }


async def test_a_declared_disaster_gives_another_payor_nothing(disaster_api: _Api) -> None:
    assert await _disaster_sessions(disaster_api, with_plugin=False) == {
        "2026-03-02": ["NOT_CREDENTIALED"],
        "2026-03-03": ["NOT_CREDENTIALED"],
        "2026-04-20": ["NOT_CREDENTIALED"],
        "2026-05-05": ["NOT_CREDENTIALED"],
    }


async def test_a_disaster_assignment_may_start_90_days_before(disaster_api: _Api) -> None:
    client = await p.client(disaster_api)
    medicare = await _payor(disaster_api, with_plugin=True)
    await p.coverage(disaster_api, client, medicare)
    cm = await p.provider(disaster_api, "Casey", "Manager", "BCBA")
    await p.enroll(disaster_api, cm, medicare, since="2026-06-01")

    assert await _check(disaster_api, client, cm, "2026-03-02") == [NOT_CREDENTIALED]
    assert await _check(disaster_api, client, cm, "2026-03-03") == []


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("2026-03-01-2026-04-30", "is not a period START:END"),
        ("2026-03-01:2026-04-31", "is not a period START:END"),
        ("2026-03-01:2026-04-30,March", "'March' is not a period START:END"),
        ("2026-04-30:2026-03-01", "ends before it starts"),
    ],
)
def test_a_malformed_disaster_list_stops_the_plugin_loading(
    value: str, complaint: str, tmp_path: Path, monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, value)
    with pytest.raises(PluginError) as raised:
        build_plugin_manager(_only_this_plugin(tmp_path / "plugins"))
    message = str(raised.value)
    assert "\n" not in message
    assert f"{PLUGIN}.py" in message
    assert ENV in message
    assert complaint in message


def test_the_rule_is_listed_for_the_payor_only(book: RuleBook) -> None:
    [info] = [r for r in book.rules() if r.plugin == PLUGIN]
    assert info.name == "retroactive_billing"
    assert info.applies_to_all_payors is False
