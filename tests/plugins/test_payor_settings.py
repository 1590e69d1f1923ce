"""Per-payor settings: a plugin declares what it reads (cmgraph_payor_settings), the core
checks a payor's settings on createPayor and updatePayor (a user error naming the setting,
nothing written) and hands them to the plugin in the payor's facts."""

from __future__ import annotations

from typing import Any, cast

import pytest

from tests.support import Api

PAYOR = "payor { id name payerId plugins settings }"
CREATE = f"""mutation($input: CreatePayorInput!) {{
  createPayor(input: $input) {{ {PAYOR} userErrors {{ code field message }} }}
}}"""
UPDATE = f"""mutation($input: UpdatePayorInput!) {{
  updatePayor(input: $input) {{ {PAYOR} userErrors {{ code field message }} }}
}}"""
EVENTS = """query($id: ID) { auditEvents(entityId: $id) { edges { node {
  operation before after
} } } }"""
MARCH = [{"from": "2026-03-01", "to": "2026-03-31"}]


async def _create(api: Any, **input: Any) -> dict[str, Any]:
    base = {"name": "Medicare", "kind": "MEDICARE", "plugins": ["medicare_retro"]}
    return cast("dict[str, Any]", (await api(CREATE, {"input": {**base, **input}}))["createPayor"])


async def _names(api: Any) -> list[str]:
    return [p["name"] for p in (await api("{ payors { name } }"))["payors"]]


async def test_a_payor_holds_the_settings_its_plugins_declare(api: Api) -> None:
    created = await _create(api, settings={"medicare_disasters": MARCH})

    assert created["userErrors"] == []
    assert created["payor"]["settings"] == {"medicare_disasters": MARCH}


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ({"medicare_disasters": "2026-03-01:2026-03-31"}, 'a list of {"from": ISO date'),
        ({"medicare_disasters": [{"from": "2026-03-31", "to": "2026-03-01"}]}, "end on or after"),
        ({"medicare_disasters": [{"from": "2026-02-30", "to": "2026-03-01"}]}, "an ISO date"),
        ({"disasters": MARCH}, "none of the payor's plugins reads this setting"),
    ],
)
async def test_a_bad_setting_is_a_user_error_naming_it_and_nothing_is_written(
    api: Api, given: dict[str, Any], complaint: str
) -> None:
    refused = await _create(api, settings=given)

    [name] = given
    assert refused["payor"] is None
    [error] = refused["userErrors"]
    assert error["code"] == "INVALID_INPUT"
    assert error["field"] == ["input", "settings", name]
    assert error["message"].startswith(f"{name}: ") and complaint in error["message"]
    assert await _names(api) == []


async def test_a_payor_without_the_plugin_may_not_hold_its_setting(api: Api) -> None:
    refused = await _create(api, plugins=[], settings={"medicare_disasters": MARCH})

    assert [e["field"] for e in refused["userErrors"]] == [
        ["input", "settings", "medicare_disasters"]
    ]
    assert "they read: none" in refused["userErrors"][0]["message"]


async def test_update_payor_edits_name_payer_id_plugins_and_settings_audited(api: Api) -> None:
    payor = (await _create(api))["payor"]

    updated = (
        await api(
            UPDATE,
            {
                "input": {
                    "id": payor["id"],
                    "name": "Medicare Part B",
                    "payerId": "MCR01",
                    "settings": {"medicare_disasters": MARCH},
                }
            },
        )
    )["updatePayor"]

    assert updated["userErrors"] == []
    assert updated["payor"] == {
        "id": payor["id"],
        "name": "Medicare Part B",
        "payerId": "MCR01",
        "plugins": ["medicare_retro"],
        "settings": {"medicare_disasters": MARCH},
    }
    events = [e["node"] for e in (await api(EVENTS, {"id": payor["id"]}))["auditEvents"]["edges"]]
    assert [e["operation"] for e in events] == ["createPayor", "updatePayor"]
    assert events[1]["before"]["settings"] == {} and events[1]["after"]["settings"] == {
        "medicare_disasters": MARCH
    }


async def test_dropping_the_plugin_whose_setting_the_payor_holds_is_refused(api: Api) -> None:
    payor = (await _create(api, settings={"medicare_disasters": MARCH}))["payor"]

    refused = (await api(UPDATE, {"input": {"id": payor["id"], "plugins": []}}))["updatePayor"]
    unknown = (await api(UPDATE, {"input": {"id": payor["id"], "plugins": ["nope"]}}))[
        "updatePayor"
    ]
    cleared = (await api(UPDATE, {"input": {"id": payor["id"], "name": None}}))["updatePayor"]

    assert [e["field"] for e in refused["userErrors"]] == [
        ["input", "settings", "medicare_disasters"]
    ]
    assert [e["field"] for e in unknown["userErrors"]] == [["input", "plugins", "0"]]
    assert [e["field"] for e in cleared["userErrors"]] == [["input", "name"]]
    [kept] = (await api("{ payors { plugins settings } }"))["payors"]
    assert kept == {"plugins": ["medicare_retro"], "settings": {"medicare_disasters": MARCH}}
