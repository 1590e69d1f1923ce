"""medicare_retro: a Medicare enrollment counts from 30 days (90 in a declared disaster)
before its effective date, for assignment start dates and dates of service alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmgraph.testing import GraphQLClient, PluginError, Registrar, RuleBook
from cmgraph.testing import records as p

PLUGIN = "medicare_retro"
PLUGIN_FILE = Path(__file__).with_name(f"{PLUGIN}.py")
pytestmark = pytest.mark.cmgraph_plugins(PLUGIN_FILE)
ENV = "CMGRAPH_MEDICARE_DISASTERS"

CHECK = """query($input: AddCaseManagerInput!) {
  checkCaseManager(input: $input) { code severity rule plugin }
}"""


async def _check(
    cmgraph_graphql: GraphQLClient, client: str, provider: str, start: str
) -> list[tuple[str, str]]:
    """checkCaseManager's findings for an ABA assignment from start: (code, severity)."""
    data = await cmgraph_graphql(
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


MARCH_2026 = [
    {"from": "2026-03-01", "to": "2026-03-31"},
    {"from": "2025-08-01", "to": "2025-08-15"},
]
CREATE_PAYOR = """mutation($input: CreatePayorInput!) {
  createPayor(input: $input) { payor { id settings } userErrors { code field message } }
}"""


async def _payor(
    cmgraph_graphql: GraphQLClient, with_plugin: bool, disasters: list[dict[str, str]] | None = None
) -> str:
    if disasters is not None:
        data = await cmgraph_graphql(
            CREATE_PAYOR,
            {
                "input": {
                    "name": "Medicare",
                    "kind": "MEDICARE",
                    "plugins": [PLUGIN],
                    "settings": {"medicare_disasters": disasters},
                }
            },
        )
        assert data["createPayor"]["userErrors"] == []
        return str(data["createPayor"]["payor"]["id"])
    if with_plugin:
        return await p.payor(cmgraph_graphql, "Medicare", "MEDICARE", PLUGIN)
    return await p.payor(cmgraph_graphql, "Plain Plan", "COMMERCIAL")


NOT_CREDENTIALED = ("NOT_CREDENTIALED", "ERROR")


# -- assignment start dates ----------------------------------------------------------------


async def test_an_assignment_may_start_up_to_30_days_before_the_enrollment(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client = await p.client(cmgraph_graphql)
    medicare = await _payor(cmgraph_graphql, with_plugin=True)
    await p.coverage(cmgraph_graphql, client, medicare)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, medicare, since="2026-03-20")

    assert await _check(cmgraph_graphql, client, cm, "2026-02-18") == []  # 30 days before
    assert await _check(cmgraph_graphql, client, cm, "2026-02-17") == [NOT_CREDENTIALED]  # 31 days
    payload = await p.add_case_manager(cmgraph_graphql, client, cm, "2026-03-01")
    assert payload["userErrors"] == []
    assert payload["warnings"] == []
    assert payload["caseManager"]["id"]


async def test_another_payor_gives_no_retro_window_to_an_assignment(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client = await p.client(cmgraph_graphql)
    plan = await _payor(cmgraph_graphql, with_plugin=False)
    await p.coverage(cmgraph_graphql, client, plan)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, plan, since="2026-03-20")

    assert await _check(cmgraph_graphql, client, cm, "2026-03-19") == [NOT_CREDENTIALED]
    payload = await p.add_case_manager(cmgraph_graphql, client, cm, "2026-03-01")
    assert payload["caseManager"] is None
    assert [(e["code"], e["plugin"]) for e in payload["userErrors"]] == [
        ("NOT_CREDENTIALED", "cmgraph")
    ]
    assert await _check(cmgraph_graphql, client, cm, "2026-03-20") == []


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
    cmgraph_graphql: GraphQLClient, status: str, until: str | None, counts: bool
) -> None:
    client = await p.client(cmgraph_graphql)
    medicare = await _payor(cmgraph_graphql, with_plugin=True)
    await p.coverage(cmgraph_graphql, client, medicare)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, medicare, since="2026-03-20", until=until, status=status)

    assert await _check(cmgraph_graphql, client, cm, "2026-03-01") == (
        [] if counts else [NOT_CREDENTIALED]
    )


@pytest.mark.parametrize("with_plugin", [True, False])
async def test_the_end_of_an_enrollment_is_kept(
    cmgraph_graphql: GraphQLClient, with_plugin: bool
) -> None:
    client = await p.client(cmgraph_graphql)
    payor = await _payor(cmgraph_graphql, with_plugin)
    await p.coverage(cmgraph_graphql, client, payor)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, payor, since="2026-03-02", until="2026-03-25")

    assert await _check(cmgraph_graphql, client, cm, "2026-03-25") == []
    assert await _check(cmgraph_graphql, client, cm, "2026-03-26") == [NOT_CREDENTIALED]


# -- dates of service ----------------------------------------------------------------------


async def _sessions_around(
    cmgraph_graphql: GraphQLClient, with_plugin: bool
) -> dict[str, list[str]]:
    """Sessions 31, 30 and 23 days before a 2026-03-20 enrollment and on it: findings by date.

    The client's coverage starts 2026-02-16, after the assignment (2026-02-10, self-pay then,
    so nothing to be credentialed with), so that sessions before the window have a CM.
    """
    client = await p.client(cmgraph_graphql)
    payor = await _payor(cmgraph_graphql, with_plugin)
    await p.coverage(cmgraph_graphql, client, payor, since="2026-02-16")
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, payor, since="2026-03-20")
    await p.case_manager(cmgraph_graphql, client, cm, "2026-02-10")
    for day, offset in (
        ("02-17", "-05:00"),
        ("02-18", "-05:00"),
        ("02-25", "-05:00"),
        ("03-20", "-04:00"),
    ):
        await p.session(
            cmgraph_graphql,
            client,
            cm,
            f"2026-{day}T09:00{offset}",
            f"2026-{day}T11:00{offset}",
            code="97153",
        )
    lines = await p.claim_lines(cmgraph_graphql, client, "2026-02-01", "2026-03-31")
    for line in lines:
        assert line["renderingProvider"]["id"] == cm
        assert line["supervisingProvider"] is None
        assert line["modifiers"] == []
    return {line["dateOfService"]: [f["code"] for f in line["findings"]] for line in lines}


async def test_sessions_count_from_30_days_before_the_enrollment(
    cmgraph_graphql: GraphQLClient,
) -> None:
    assert await _sessions_around(cmgraph_graphql, with_plugin=True) == {
        "2026-02-17": ["NOT_CREDENTIALED"],
        "2026-02-18": [],
        "2026-02-25": [],
        "2026-03-20": [],
    }


async def test_another_payors_sessions_count_only_from_the_enrollment(
    cmgraph_graphql: GraphQLClient,
) -> None:
    assert await _sessions_around(cmgraph_graphql, with_plugin=False) == {
        "2026-02-17": ["NOT_CREDENTIALED"],
        "2026-02-18": ["NOT_CREDENTIALED"],
        "2026-02-25": ["NOT_CREDENTIALED"],
        "2026-03-20": [],
    }


# -- declared disasters --------------------------------------------------------------------


@pytest.fixture
def disaster_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """March 2026 declared a disaster by the deprecated variable, which the plugin reads when
    it is imported: a test uses it through ``usefixtures``, set up before the plugin is."""
    monkeypatch.setenv(ENV, " 2026-03-01:2026-03-31 , 2025-08-01:2025-08-15,")


BY_THE_VARIABLE = f"ignore:{ENV} is deprecated:DeprecationWarning"  # asserted once, below


def test_the_deprecated_variable_warns_when_the_plugin_loads(
    disaster_variable: None,
) -> None:
    with pytest.warns(DeprecationWarning, match="medicare_disasters"):
        Registrar().register(PLUGIN_FILE)


async def _disaster_sessions(
    cmgraph_graphql: GraphQLClient, with_plugin: bool, disasters: list[dict[str, str]] | None = None
) -> dict[str, list[str]]:
    """Sessions 91 and 90 days (in the disaster), 42 days (after it) and 27 days before a
    2026-06-01 enrollment: findings by date of service."""
    client = await p.client(cmgraph_graphql)
    payor = await _payor(cmgraph_graphql, with_plugin, disasters)
    await p.coverage(cmgraph_graphql, client, payor, since="2026-03-01")
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, payor, since="2026-06-01")
    await p.case_manager(cmgraph_graphql, client, cm, "2026-02-20")
    for day, offset in (
        ("03-02", "-05:00"),
        ("03-03", "-05:00"),
        ("04-20", "-04:00"),
        ("05-05", "-04:00"),
    ):
        await p.session(
            cmgraph_graphql, client, cm, f"2026-{day}T09:00{offset}", f"2026-{day}T10:00{offset}"
        )
    lines = await p.claim_lines(cmgraph_graphql, client, "2026-03-01", "2026-05-31")
    return {line["dateOfService"]: [f["code"] for f in line["findings"]] for line in lines}


async def test_a_declared_disaster_reaches_back_90_days(cmgraph_graphql: GraphQLClient) -> None:
    assert await _disaster_sessions(cmgraph_graphql, with_plugin=True, disasters=MARCH_2026) == {
        "2026-03-02": ["NOT_CREDENTIALED"],
        "2026-03-03": [],
        "2026-04-20": ["NOT_CREDENTIALED"],
        "2026-05-05": [],
    }


@pytest.mark.usefixtures("disaster_variable")
@pytest.mark.filterwarnings(BY_THE_VARIABLE)
async def test_the_deprecated_variable_still_declares_disasters(
    cmgraph_graphql: GraphQLClient,
) -> None:
    assert await _disaster_sessions(cmgraph_graphql, with_plugin=True) == {
        "2026-03-02": ["NOT_CREDENTIALED"],
        "2026-03-03": [],
        "2026-04-20": ["NOT_CREDENTIALED"],
        "2026-05-05": [],
    }


async def test_without_a_declared_disaster_only_30_days(cmgraph_graphql: GraphQLClient) -> None:
    assert await _disaster_sessions(cmgraph_graphql, with_plugin=True) == {
        "2026-03-02": ["NOT_CREDENTIALED"],
        "2026-03-03": ["NOT_CREDENTIALED"],
        "2026-04-20": ["NOT_CREDENTIALED"],
        "2026-05-05": [],
    }


@pytest.mark.usefixtures("disaster_variable")
@pytest.mark.filterwarnings(BY_THE_VARIABLE)
async def test_a_declared_disaster_gives_another_payor_nothing(
    cmgraph_graphql: GraphQLClient,
) -> None:
    assert await _disaster_sessions(cmgraph_graphql, with_plugin=False) == {
        "2026-03-02": ["NOT_CREDENTIALED"],
        "2026-03-03": ["NOT_CREDENTIALED"],
        "2026-04-20": ["NOT_CREDENTIALED"],
        "2026-05-05": ["NOT_CREDENTIALED"],
    }


async def test_a_disaster_assignment_may_start_90_days_before(
    cmgraph_graphql: GraphQLClient,
) -> None:
    client = await p.client(cmgraph_graphql)
    medicare = await _payor(cmgraph_graphql, with_plugin=True, disasters=MARCH_2026)
    await p.coverage(cmgraph_graphql, client, medicare)
    cm = await p.provider(cmgraph_graphql, "Casey", "Manager", "BCBA")
    await p.enroll(cmgraph_graphql, cm, medicare, since="2026-06-01")

    assert await _check(cmgraph_graphql, client, cm, "2026-03-02") == [NOT_CREDENTIALED]
    assert await _check(cmgraph_graphql, client, cm, "2026-03-03") == []


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
    value: str, complaint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, value)
    with pytest.raises(PluginError) as raised:
        Registrar().register(PLUGIN_FILE)
    message = str(raised.value)
    assert "\n" not in message
    assert f"{PLUGIN}.py" in message
    assert ENV in message
    assert complaint in message


def test_the_rule_is_listed_for_the_payor_only(cmgraph_book: RuleBook) -> None:
    [info] = [r for r in cmgraph_book.rules() if r.plugin == PLUGIN]
    assert info.name == "retroactive_billing"
    assert info.applies_to_all_payors is False
