"""Queries answered directly (api.direct) answer exactly what the general path answers:
the same status, data and errors, and, when answered directly, the same statements.

Each request runs twice: as served (api.direct first), then with api.direct answering
nothing, so that Strawberry's execution answers (api.planned is proven equal to
graphql-core's own completion in test_planned). A spy on api.direct says whether it gave
the answer, so these tests fail if it silently never does, or answers what it must leave
to the general path."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import principals as p
import pytest
from pytest import MonkeyPatch
from test_planned import client_ids, ui_document

from bench import queries
from cmgraph.api import direct, planned
from cmgraph.api.clients.queries import ClientQueries
from cmgraph.api.ids import encode
from cmgraph.config import Settings
from cmgraph.db.engine import Database
from cmgraph.web.trusted_documents import document_id
from tests.support import Api, StatementCounter


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """Without a caller's budget: each request runs twice."""
    limits = dataclasses.replace(settings.limits, requests_per_minute=0, cost_per_minute=0)
    return dataclasses.replace(settings, limits=limits)


class Answered:
    """Whether api.direct gave the last request's answer."""

    def __init__(self) -> None:
        self.directly = False

    @contextmanager
    def watching(self, monkeypatch: MonkeyPatch, *, on: bool) -> Iterator[None]:
        answer = direct.answer
        spy = self

        async def watched(*args: Any) -> Any:
            data = await answer(*args) if on else None
            spy.directly = data is not None
            return data

        with monkeypatch.context() as m:
            m.setattr(direct, "answer", watched)
            yield


async def both(
    api: Api,
    monkeypatch: MonkeyPatch,
    statements: StatementCounter,
    query: str | None,
    variables: dict[str, Any] | None = None,
    *,
    document: str | None = None,
) -> tuple[int, dict[str, Any], bool]:
    """The answer as served, checked equal to the general path's (its statements too, when
    api.direct answered): status, body, and whether api.direct answered."""
    spy = Answered()
    answers, counts, directly = [], [], []
    for on in (True, False):
        with spy.watching(monkeypatch, on=on):
            statements.count = 0
            body: dict[str, Any] = {"variables": variables or {}}
            if document is not None:
                body["documentId"] = document_id(document)
            else:
                body["query"] = query
            response = await api.client.post(
                "/graphql", json=body, headers={"Authorization": f"Bearer {api.token}"}
            )
            counts.append(statements.count)
            directly.append(spy.directly)
        answers.append((response.status_code, _comparable(response.json())))
    assert answers[0] == answers[1]
    assert not directly[1]
    if directly[0]:
        assert counts[0] == counts[1], counts
    status, answer = answers[0]
    return status, answer, directly[0]


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """An internal error's id is new each time; everything else must be equal."""
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("errorId", None)
    return body


QUERIES = ("Client", "Clients", "Providers", "SuggestCaseManagers")
MUTATIONS = ("AddCaseManager", "ChangeCaseManager", "RemoveCaseManager", "UpdateCaseManager")


async def test_the_ui_documents_answer_as_the_general_path_does(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    api = demo_api
    ids = await client_ids(api)
    for client_id in ids[:8]:
        for by_id in (None, ui_document("Client")):
            status, one, directly = await both(
                api,
                monkeypatch,
                statements,
                ui_document("Client"),
                {"id": client_id},
                document=by_id,
            )
            assert status == 200 and one["data"]["client"]["id"] == client_id and directly
    status, page, directly = await both(
        api, monkeypatch, statements, ui_document("Clients"), {"first": 50}
    )
    assert len(page["data"]["clients"]["edges"]) == 50 and directly
    cursor = page["data"]["clients"]["pageInfo"]["endCursor"]
    searched = {"search": "a", "first": 5, "after": cursor}
    status, page, directly = await both(
        api, monkeypatch, statements, ui_document("Clients"), searched
    )
    assert status == 200 and "errors" not in page and directly
    status, providers, directly = await both(api, monkeypatch, statements, ui_document("Providers"))
    assert providers["data"]["providers"]["edges"] and directly
    suggest = {"clientId": ids[0], "serviceLine": "ABA", "startDate": "2026-10-01"}
    status, suggested, directly = await both(
        api, monkeypatch, statements, ui_document("SuggestCaseManagers"), suggest
    )
    assert status == 200 and "errors" not in suggested and directly


async def test_mutations_and_dry_runs_keep_the_general_path(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    """The dry runs are queries too: whatever answers them, the answer is the same. Nothing
    here writes (the inputs are refused), so each request can run twice."""
    api = demo_api
    ids = await client_ids(api)
    providers = await api("{ providers(first: 1) { edges { node { id } } } }")
    provider = providers["providers"]["edges"][0]["node"]["id"]
    check = {
        "input": {
            "clientId": ids[0],
            "serviceLine": "ABA",
            "providerId": provider,
            "startDate": "2026-10-01",
        }
    }
    status, checked, _ = await both(
        api, monkeypatch, statements, ui_document("CheckCaseManager"), check
    )
    assert status == 200 and checked["data"]["checkCaseManager"] is not None, checked
    refused = {"input": {"clientId": "nope", "serviceLine": "ABA", "providerId": "nope"}}
    for name in MUTATIONS[:1]:
        status, answer, directly = await both(
            api, monkeypatch, statements, ui_document(name), refused
        )
        assert answer.get("errors") and not directly


async def test_the_benchmark_documents_are_answered_directly(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    api = demo_api
    ids = await client_ids(api)
    window = {"from": "2026-09-01", "to": "2026-11-30", "first": 100}
    cases: list[tuple[str, dict[str, Any]]] = [
        (queries.CASELOAD, {"first": 50}),
        (queries.CLAIM_LINES, window),
        (queries.COMPLIANCE, window),
        (queries.COMPLIANCE_PAGE_ONLY, window),
        *((queries.CLIENT, {"id": i}) for i in ids[:5]),
        *((queries.CLINICAL, {"id": i}) for i in ids[:5]),
    ]
    for query, variables in cases:
        status, answer, directly = await both(api, monkeypatch, statements, query, variables)
        assert status == 200 and "errors" not in answer and directly, query


async def test_bad_variables_and_ids_answer_as_the_general_path_does(
    demo_api: Api,
    other_api: Api,
    monkeypatch: MonkeyPatch,
    statements: StatementCounter,
) -> None:
    api = demo_api
    theirs = await other_api("""mutation { createClient(input: {
      firstName: "Other", lastName: "Org", dateOfBirth: "2015-01-01"
    }) { client { id } } }""")
    their_id = theirs["createClient"]["client"]["id"]
    nobody = encode("Client", uuid.uuid4())
    # another organization's client, and no client at all: null, answered directly
    for missing in (their_id, nobody):
        status, answer, directly = await both(
            api, monkeypatch, statements, queries.CLIENT, {"id": missing}
        )
        assert answer == {"data": {"client": None}} and directly
    # not an id, an id of another type, and variables that do not coerce: the general path
    cases: list[dict[str, Any]] = [
        {"id": "nope"},
        {"id": encode("Provider", uuid.uuid4())},
        {},
        {"id": None},
        {"id": ["a"]},
        {"id": "bad\x00text"},
    ]
    for variables in cases:
        status, answer, directly = await both(
            api, monkeypatch, statements, queries.CLIENT, variables
        )
        assert "errors" in answer or answer["data"]["client"] is None, variables
        if "errors" in answer:
            assert not directly, variables
    status, answer, directly = await both(
        api, monkeypatch, statements, queries.CASELOAD, {"first": "fifty"}
    )
    assert status == 200 and "errors" in answer and not directly
    status, answer, directly = await both(
        api, monkeypatch, statements, queries.CASELOAD, {"first": 100_000}
    )
    # refused by the resolver: the general path answers, the error at its path
    assert answer["errors"][0]["path"] == ["clients"] and not directly


async def test_a_clinician_sees_what_the_general_path_shows(
    db: Database, demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    api = demo_api
    page = await api("""{ clients(first: 50) { edges { node { id
      caseManagers { provider { id } } } } } }""")
    nodes = [e["node"] for e in page["clients"]["edges"]]
    mine = next(cm["provider"]["id"] for n in nodes for cm in n["caseManagers"])
    clinician = p.as_(api, await p.token(db, api.slug, "clinician", provider=mine))
    await clinician("{ __typename }")  # the token's first use is recorded: not counted below
    shown = 0
    for node in nodes[:15]:
        status, answer, directly = await both(
            clinician, monkeypatch, statements, queries.CLIENT, {"id": node["id"]}
        )
        assert status == 200 and directly
        shown += answer["data"]["client"] is not None
    assert 0 < shown < 15  # their caseload's clients only
    status, answer, directly = await both(
        clinician, monkeypatch, statements, queries.CASELOAD, {"first": 50}
    )
    assert 0 < len(answer["data"]["clients"]["edges"]) < 50 and directly
    # a field the role may not use: refused by the guard, as the general path refuses
    status, answer, directly = await both(
        clinician, monkeypatch, statements, "{ apiTokens { id } }"
    )
    assert status == 403 and answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert not directly


async def test_several_root_fields_aliases_and_fragments(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    api = demo_api
    ids = await client_ids(api)
    query = """query($a: ID!, $b: ID!) {
      first: client(id: $a) { ...Shown }
      second: client(id: $b) { ...Shown coverages { payor { name } } }
      ... on Query { providers(first: 3) { edges { node { displayName } } } }
    }
    fragment Shown on Client { id displayName caseManagers { startDate } }"""
    status, answer, directly = await both(
        api, monkeypatch, statements, query, {"a": ids[0], "b": ids[1]}
    )
    data = answer["data"]
    assert status == 200
    assert list(data) == ["first", "second", "providers"] and directly
    assert data["first"]["id"] == ids[0] and data["second"]["id"] == ids[1]


async def test_what_only_the_general_path_answers(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    api = demo_api
    ids = await client_ids(api)
    general = [
        ("query($id: ID!, $no: Boolean!) { client(id: $id) @skip(if: $no) { id } }", True),
        ("query($id: ID!) { __typename client(id: $id) { id } }", None),
        ("query($id: ID!) { node(id: $id) { id ... on Client { displayName } } }", None),
        ("query($id: ID!) { client(id: $id) { id nope } }", None),
        ("{ clients(first: 2) { edges { node { id } } } } { other: clients { totalCount } }", None),
    ]
    for query, skip in general:
        variables: dict[str, Any] = {"id": ids[0]}
        if skip is not None:
            variables["no"] = skip
        _, _, directly = await both(api, monkeypatch, statements, query, variables)
        assert not directly, query


async def test_a_failing_root_resolver_falls_back_with_nothing_left_behind(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    """Raised in the root field's resolver: the general path answers from the start, its
    error at its path, and the request's reader starts over (a transaction of its own)."""
    api = demo_api
    ids = await client_ids(api)
    field = next(
        f
        for f in ClientQueries.__strawberry_definition__.fields  # type: ignore[attr-defined]
        if f.python_name == "client"
    )
    assert field.base_resolver is not None
    function = field.base_resolver.wrapped_func
    calls = 0

    async def failing_once(self: Any, info: Any, id: str) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            await function(self, info, id)  # reads, then fails
            raise RuntimeError("the client could not be read")
        return await function(self, info, id)

    monkeypatch.setattr(field.base_resolver, "wrapped_func", failing_once)
    planned.PLANS.clear()  # plans hold the function they were compiled with
    try:
        response = await api.post(queries.CLIENT, {"id": ids[0]})
    finally:
        planned.PLANS.clear()
    assert calls == 2
    assert response.status_code == 200
    assert response.json()["data"]["client"]["id"] == ids[0]
