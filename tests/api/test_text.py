"""Text that is not text: every string a request carries (each String argument and input
field of the schema, found by walking it, so that a new one cannot skip the rule) is valid
Unicode without control nor bidirectional formatting characters, or the request is
INVALID_INPUT and nothing runs; a name made only of formatting characters is blank."""

from __future__ import annotations

import json
import sys
import unicodedata
from typing import Any

import builders as b
import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_required_argument,
    is_required_input_field,
)
from roles_support import literal, roots

from cmgraph.api.schema import schema
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import text
from tests.support import Api

GRAPHQL = schema._schema
ROOTS = roots(GRAPHQL)
SPOOF = "Ann\u202egnirts"  # RIGHT-TO-LEFT OVERRIDE: shows as "Annstring" reversed


def _text_fields(kind: GraphQLInputObjectType, path: list[str]) -> list[list[str]]:
    """Paths to every String field of an input type, nested input types included."""
    found = []
    for name, f in kind.fields.items():
        named = get_named_type(f.type)
        if isinstance(named, GraphQLScalarType) and named.name == "String":
            found.append([*path, name])
        elif isinstance(named, GraphQLInputObjectType):
            found.extend(_text_fields(named, [*path, name]))
    return found


def text_inputs() -> list[tuple[str, str, tuple[str, ...]]]:
    """(root, field, path of a String) for every String argument and input field."""
    found: list[tuple[str, str, tuple[str, ...]]] = []
    for root, kind in ROOTS.items():
        for name, field in kind.fields.items():
            for arg_name, arg in field.args.items():
                named = get_named_type(arg.type)
                if isinstance(named, GraphQLScalarType) and named.name == "String":
                    found.append((root, name, (arg_name,)))
                elif isinstance(named, GraphQLInputObjectType):
                    found += [(root, name, tuple(p)) for p in _text_fields(named, [arg_name])]
    return found


def _value_at(kind: Any, path: list[str]) -> Any:
    """A JSON value of `kind` with SPOOF at `path` and every other required field set."""
    if isinstance(kind, GraphQLNonNull):
        return _value_at(kind.of_type, path)
    if isinstance(kind, GraphQLList):
        return [_value_at(kind.of_type, path)]
    if not path:
        return SPOOF
    assert isinstance(kind, GraphQLInputObjectType)
    value = {
        name: json.loads(_json_literal(f.type))
        for name, f in kind.fields.items()
        if is_required_input_field(f) and name != path[0]
    }
    value[path[0]] = _value_at(kind.fields[path[0]].type, path[1:])
    return value


def _json_literal(kind: Any) -> str:
    """`literal` as JSON (the inputs here are flat scalars, enums or lists of them)."""
    written = literal(kind)
    return (
        written
        if written.startswith(("[", '"', "{")) or written[0].isdigit()
        else ("true" if written == "true" else json.dumps(written))
    )


def request(root: str, name: str, path: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    field = ROOTS[root].fields[name]
    target = field.args[path[0]]
    args = [
        f"{a}: {literal(arg.type)}"
        for a, arg in field.args.items()
        if is_required_argument(arg) and a != path[0]
    ]
    args.append(f"{path[0]}: $v")
    selection = (
        "" if isinstance(get_named_type(field.type), GraphQLScalarType) else " { __typename }"
    )
    document = f"{root.lower()}($v: {target.type}) {{ {name}({', '.join(args)}){selection} }}"
    return document, {"v": _value_at(target.type, list(path[1:]))}


TEXT_INPUTS = text_inputs()


def test_the_walk_finds_the_text_inputs_the_issue_names() -> None:
    paths = {(name, ".".join(p)) for _, name, p in TEXT_INPUTS}
    for expected in (
        ("createClient", "input.firstName"),
        ("createClient", "input.externalId"),
        ("createPayor", "input.name"),
        ("addCoverage", "input.memberId"),
        ("createProvider", "input.credentials.number"),
        ("addCaseManager", "input.note"),
        ("clients", "search"),
    ):
        assert expected in paths


def invalid(body: dict[str, Any]) -> None:
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_INPUT"], body
    assert not body.get("data"), body


@pytest.mark.parametrize(("root", "name", "path"), TEXT_INPUTS, ids=lambda v: str(v))
async def test_every_text_input_refuses_bidi_overrides(
    api: Api, db: Database, root: str, name: str, path: tuple[str, ...]
) -> None:
    document, variables = request(root, name, path)
    before = await b.count(db, models.ChangeRecord, api.slug)

    response = await api.post(document, variables)

    assert response.status_code == 200, response.text
    invalid(response.json())
    assert await b.count(db, models.ChangeRecord, api.slug) == before


NAME = """mutation($first: String!) { createClient(input: {firstName: $first, lastName: "X"}) {
  client { id } userErrors { code field } } }"""


@pytest.mark.parametrize(
    "first",
    ["\ud800x", "x\udfff", "Ann\u202e", "\u2066Ann", "A\u0000nn", "A\u001bnn", "A\nB"],
    ids=["lone-high", "lone-low", "rlo", "isolate", "nul", "escape", "line-break"],
)
async def test_a_name_that_is_not_text_is_invalid_input_on_every_database(
    api: Api, db: Database, first: str
) -> None:
    # sent as JSON escapes, as a client would: "\ud800" decodes to a lone surrogate
    body = json.dumps({"query": NAME, "variables": {"first": first}})
    response = await api.client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    if first == "A\nB":  # a line break is text, but not in a name
        assert answer["data"]["createClient"]["userErrors"][0]["code"] == "INVALID_INPUT"
    else:
        invalid(answer)
    assert await b.count(db, models.Client, api.slug) == 0


@pytest.mark.parametrize("first", ["\u200b", "\u200b\u200d \u2060", "\ufeff"])
async def test_a_name_of_only_formatting_characters_is_blank(
    api: Api, db: Database, first: str
) -> None:
    data = await api(NAME, {"first": first})
    assert data["createClient"]["userErrors"] == [
        {"code": "INVALID_INPUT", "field": ["input", "firstName"]}
    ]
    assert await b.count(db, models.Client, api.slug) == 0


async def test_text_written_in_the_document_follows_the_same_rule(api: Api, db: Database) -> None:
    invalid(
        await api.raw(
            'mutation { createClient(input: {firstName: "Ann\u202e", lastName: "X"}) '
            "{ client { id } } }"
        )
    )
    assert await b.count(db, models.Client, api.slug) == 0


async def test_real_text_passes_notes_keep_their_lines(api: Api) -> None:
    client = await b.client(api, "Zoë", "Nguyễn-O'Brien")
    provider = await b.provider(api)
    data = await api(
        """mutation($input: AddCaseManagerInput!) { addCaseManager(input: $input) {
          caseManager { note } userErrors { code } } }""",
        {
            "input": {
                "clientId": client,
                "providerId": provider,
                "serviceLine": "ABA",
                "startDate": "2026-01-01",
                "note": "Line one\n\tline two 👩\u200d👩\u200d👧",
            }
        },
    )
    assert data["addCaseManager"]["caseManager"]["note"].startswith("Line one\n\tline two")
    found = await api('{ clients(search: "Zoë") { totalCount } }')
    assert found["clients"]["totalCount"] == 1


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($n: Int) { clients(first: $n) { totalCount } }", {"n": "\ud800"}),
        (
            "mutation($i: CreateClientInput!) { createClient(input: $i) { client { id } } }",
            {"i": {"firstName": "A", "lastName": "B", "a\ud800": 1}},
        ),
        ('{ clients(search: "\ud800") { totalCount } }', {}),
        ("{ clients { totalCount } } \ud800", {}),
    ],
    ids=["int-variable", "input-key", "literal", "document"],
)
async def test_a_lone_surrogate_anywhere_is_a_clear_error_not_a_500(
    api: Api, query: str, variables: dict[str, Any]
) -> None:
    body = json.dumps({"query": query, "variables": variables})  # "\ud800" escaped, as sent
    response = await api.client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    codes = [e.get("extensions", {}).get("code") for e in errors]
    assert errors and "INTERNAL_ERROR" not in codes, ascii(errors)


@pytest.mark.parametrize("multiline", [True, False])
def test_every_code_point_is_judged_by_its_category_alone_or_beside_text(multiline: bool) -> None:
    """The rule of text, character by character, whatever shortcut `problem` takes: a lone
    surrogate, a control character (but a line break or tab where several lines are taken)
    or a bidirectional control is refused, alone or amid ordinary text."""
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        category = unicodedata.category(ch)
        refused = (
            category == "Cs"
            or (category == "Cc" and not (multiline and ch in text.LINE_BREAKS))
            or ch in text.BIDI_CONTROLS
        )
        for value in (ch, f"Ann {ch} Lee"):
            assert (text.problem(value, multiline) is not None) is refused, (hex(code), value)
