"""Input no practice would send (year 9999, a NUL, a novel as a name, a forged cursor) gets a
clear error and changes nothing: never an internal error or a 500."""

from __future__ import annotations

import base64
from typing import Any, cast

import pytest
from helpers import ADD, cm_input, create_client, credentialed_case

from tests.support import Api


def _error_of(body: dict[str, Any]) -> str:
    [error] = body["errors"]
    assert "Internal error" not in error["message"], error
    return cast(str, error["message"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("startDate", "0001-01-05"), ("endDate", "9999-12-31"), ("startDate", "2026-02-30")],
)
async def test_dates_outside_any_practice_are_refused_before_anything_runs(
    api: Api, field: str, value: str
) -> None:
    case = await credentialed_case(api)
    input = {**cm_input(case, "2026-03-01"), field: value}

    response = await api.post(ADD, {"input": input})

    assert response.status_code == 200
    assert value in _error_of(response.json())
    query = "query($id: ID!) { client(id: $id) { caseManagers { id } } }"
    assert (await api(query, {"id": case.client}))["client"]["caseManagers"] == []


async def test_a_date_time_outside_any_practice_is_refused(api: Api) -> None:
    client = await create_client(api)
    body = await api.raw(
        "query($id: ID!, $from: DateTime) { client(id: $id) { appointments(from: $from) { id } } }",
        {"id": client, "from": "0001-01-01T00:00:00+01:00"},
    )

    assert "1900-01-01" in _error_of(body)


async def test_a_forged_cursor_is_malformed_not_a_crash(api: Api) -> None:
    forged = base64.urlsafe_b64encode(b"cursor:99999999999999999999999").decode()

    body = await api.raw("query($a: String) { clients(after: $a) { totalCount } }", {"a": forged})

    assert "cursor" in _error_of(body)


async def test_a_search_of_a_thousand_words_is_refused(api: Api) -> None:
    body = await api.raw(
        "query($s: String) { clients(search: $s) { totalCount } }", {"s": "ada " * 1000}
    )

    assert "at most" in _error_of(body)


async def test_a_name_search_ignores_case_beyond_ascii(api: Api) -> None:
    await api(
        'mutation { createClient(input: {firstName: "Élise", lastName: "Ørsted"}) '
        "{ userErrors { code } } }"
    )

    data = await api('{ clients(search: "élise øRSTED") { totalCount } }')

    assert data["clients"]["totalCount"] == 1


CREATE_CLIENT = """mutation($input: CreateClientInput!) {
  createClient(input: $input) { client { id } userErrors { field code message } }
}"""


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"firstName": "A" * 101, "lastName": "L"}, ["input", "firstName"]),
        ({"firstName": "Ada", "lastName": "L", "externalId": "E" * 101}, ["input", "externalId"]),
        ({"firstName": "Ada\u0000", "lastName": "L"}, ["input", "firstName"]),
        ({"firstName": "Ada\nLovelace", "lastName": "L"}, ["input", "firstName"]),
    ],
    ids=["long-name", "long-external-id", "nul", "line-break"],
)
async def test_text_too_long_or_with_control_characters_is_invalid_input(
    api: Api, input: dict[str, str], field: list[str]
) -> None:
    body = await api.raw(CREATE_CLIENT, {"input": input})

    if "errors" in body:  # not text at all (test_text.py): refused before anything runs
        [error] = [e["extensions"] for e in body["errors"]]
    else:  # text, but not for this field
        assert body["data"]["createClient"]["client"] is None
        [error] = body["data"]["createClient"]["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", field)
    assert (await api("{ clients { totalCount } }"))["clients"]["totalCount"] == 0


async def test_a_member_id_longer_than_any_payor_uses_is_invalid_input(api: Api) -> None:
    case = await credentialed_case(api)
    payload = (
        await api(
            """mutation($input: AddCoverageInput!) {
                 addCoverage(input: $input) { coverage { id } userErrors { field code } }
               }""",
            {
                "input": {
                    "clientId": case.client,
                    "payorId": case.payor,
                    "effectiveFrom": "2026-01-01",
                    "memberId": "M" * 65,
                }
            },
        )
    )["addCoverage"]

    assert payload["userErrors"] == [{"field": ["input", "memberId"], "code": "INVALID_INPUT"}]


async def test_more_rendering_questions_than_a_request_may_ask_are_refused(api: Api) -> None:
    case = await credentialed_case(api)
    requests = [
        {"clientId": case.client, "serviceLine": "ABA", "dateOfService": "2026-03-01"}
    ] * 1001

    body = await api.raw(
        "query($r: [RenderingProviderRequest!]!) { renderingProviders(requests: $r) { clientId } }",
        {"r": requests},
    )

    assert "1000" in _error_of(body)
