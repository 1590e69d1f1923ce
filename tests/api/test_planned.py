"""Planned execution (api.planned) answers exactly what graphql-core's own field-by-field
execution answers: the same data, the same errors at the same paths, the same statements.

Each document runs twice on the demo practice (50 clients with coverages, histories and
findings): planned, then with every root field completed by graphql-core; both through
Strawberry's execution (api.direct, which answers with the same plans, is compared with it
in test_direct). A spy on graphql-core's
completion tells which of the two actually answered, so these tests fail if the plan is
silently never used."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pytest import MonkeyPatch
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext as General

from bench import queries
from cmgraph.api import direct, planned
from cmgraph.api.clients import types as client_types
from cmgraph.api.ids import encode
from cmgraph.config import Settings
from tests.support import Api, StatementCounter


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """Without a caller's budget: each document runs twice, reports included."""
    limits = dataclasses.replace(settings.limits, requests_per_minute=0, cost_per_minute=0)
    return dataclasses.replace(settings, limits=limits)


class Spy:
    """Counts root fields completed by graphql-core rather than by a plan."""

    def __init__(self) -> None:
        self.general: set[tuple[int, Any]] = set()  # (request, root key)
        self.request = 0

    @contextmanager
    def watching(self, monkeypatch: MonkeyPatch, *, plans: bool) -> Iterator[None]:
        complete = General.complete_value
        spy = self

        def counted(self: Any, return_type: Any, fields: Any, info: Any, path: Any, *a: Any) -> Any:
            if path.prev is None:
                spy.general.add((spy.request, path.key))
            return complete(self, return_type, fields, info, path, *a)

        with monkeypatch.context() as m:
            m.setattr(General, "complete_value", counted)
            m.setattr(direct, "answer", never)
            if not plans:
                m.setattr(planned.PlannedExecution, "complete_value", counted)
            yield


async def never(*_: Any) -> None:
    """api.direct's answer when it answers nothing: the general path answers."""


async def both(
    api: Api,
    monkeypatch: MonkeyPatch,
    statements: StatementCounter,
    query: str,
    variables: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], int]:
    """The planned answer, checked equal to graphql-core's (statements included); and how
    many root fields graphql-core completed in the planned run."""
    spy = Spy()
    answers, counts = [], []
    for plans in (True, False):
        spy.request += 1
        with spy.watching(monkeypatch, plans=plans):
            statements.count = 0
            response = await api.post(query, variables)
            counts.append(statements.count)
        answers.append((response.status_code, _comparable(response.json())))
        if plans:
            planned_general = len(spy.general)
    assert answers[0] == answers[1]
    assert counts[0] == counts[1], counts
    return answers[0][1], planned_general


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """An internal error's id is new each time; everything else must be equal."""
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("errorId", None)
    return body


async def client_ids(api: Api) -> list[str]:
    data = await api("{ clients(first: 50) { edges { node { id } } } }")
    return [e["node"]["id"] for e in data["clients"]["edges"]]


def ui_document(name: str) -> str:
    folder = resources.files("cmgraph.web") / "ui" / "graphql"
    return (folder / f"{name}.graphql").read_text("utf-8")


async def test_the_ui_documents_are_planned_and_answer_as_graphql_core_does(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    api = demo_api
    ids = await client_ids(api)
    page, general = await both(api, monkeypatch, statements, ui_document("Clients"), {"first": 50})
    assert len(page["data"]["clients"]["edges"]) == 50 and general == 0
    for client_id in ids[:12]:
        one, general = await both(
            api, monkeypatch, statements, ui_document("Client"), {"id": client_id}
        )
        assert one["data"]["client"]["id"] == client_id and general == 0
    providers, general = await both(api, monkeypatch, statements, ui_document("Providers"))
    assert providers["data"]["providers"]["edges"] and general == 0


async def test_the_benchmark_documents_are_planned_and_answer_as_graphql_core_does(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    api = demo_api
    ids = await client_ids(api)
    window = {"from": "2026-09-01", "to": "2026-11-30", "first": 100}
    cases: list[tuple[str, dict[str, Any]]] = [
        (queries.CASELOAD, {"first": 50}),
        (queries.CLAIM_LINES, window),
        (queries.COMPLIANCE, window),
        *((queries.CLIENT, {"id": i}) for i in ids[:5]),
        *((queries.CLINICAL, {"id": i}) for i in ids[:10]),
    ]
    findings = 0
    for query, variables in cases:
        answer, general = await both(api, monkeypatch, statements, query, variables)
        assert "errors" not in answer and general == 0, (query, answer.get("errors"))
        findings += str(answer).count("'code'")
    assert findings > 0  # the practice's deliberate findings were part of the answers


async def test_aliases_typenames_fragments_and_arguments_below_the_root(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    api = demo_api
    query = """
    query($first: Int!, $line: String, $since: DateTime) {
      page: clients(first: $first) {
        __typename
        edges { node { ...Person
          primary: coverages(activeOn: "2026-10-01") { __typename memberId priority }
          aba: caseManagers(serviceLine: $line) { startDate provider { name: displayName } }
          everything: caseManagers { id }
          appointments(from: $since) { id status }
        } }
      }
    }
    fragment Person on Client { id displayName ... on Client { externalId dateOfBirth } }
    """
    variables = {"first": 20, "line": "ABA", "since": "2026-10-26T00:00:00-05:00"}
    answer, general = await both(api, monkeypatch, statements, query, variables)
    nodes = [e["node"] for e in answer["data"]["page"]["edges"]]
    assert general == 0 and len(nodes) == 20
    assert answer["data"]["page"]["__typename"] == "ClientConnection"
    assert any(n["aba"] for n in nodes) and any(n["appointments"] for n in nodes)
    assert all(len(n["aba"]) <= len(n["everything"]) for n in nodes)


async def test_arguments_below_the_root_follow_each_request_s_variables(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    """A plan is kept per document, and so are the arguments of a field that writes none
    (its defaults): those a field writes come from each request's variables."""
    query = """query($line: String) { clients(first: 50) { edges { node {
      chosen: caseManagers(serviceLine: $line) { serviceLine { code } }
      every: caseManagers { serviceLine { code } }
    } } } }"""
    seen: dict[str | None, set[str]] = {}
    for line in ("ABA", "ST", None, "ABA"):
        answer, general = await both(demo_api, monkeypatch, statements, query, {"line": line})
        nodes = [e["node"] for e in answer["data"]["clients"]["edges"]]
        chosen = {cm["serviceLine"]["code"] for n in nodes for cm in n["chosen"]}
        every = {cm["serviceLine"]["code"] for n in nodes for cm in n["every"]}
        assert general == 0 and chosen == ({line} & every if line else every), (line, chosen)
        seen[line] = chosen
    assert seen["ABA"] and seen["ST"] and len(seen[None]) > 2


async def test_documents_with_directives_or_interfaces_are_left_to_graphql_core(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    api = demo_api
    ids = await client_ids(api)
    skipping = """query($id: ID!, $more: Boolean!) {
      client(id: $id) { id coverages @include(if: $more) { priority } }
    }"""
    for more in (True, False):
        answer, general = await both(
            api, monkeypatch, statements, skipping, {"id": ids[0], "more": more}
        )
        assert general == 1 and ("coverages" in answer["data"]["client"]) is more
    node = """query($id: ID!) { node(id: $id) { id ... on Client { displayName } } }"""
    answer, general = await both(api, monkeypatch, statements, node, {"id": ids[0]})
    assert general == 1 and answer["data"]["node"]["id"] == ids[0]


async def test_a_resolver_that_fails_gets_graphql_cores_answer_with_its_path(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    """The plan gives up on the root field and graphql-core answers it: the error at its
    path, and the nulls where the spec puts them (every level up to `clients` is non-null
    here, so the whole answer is null)."""
    api = demo_api
    page = await api("{ clients(first: 50) { edges { node { coverages { payor { id } } } } } }")
    payors = {c["payor"]["id"] for e in page["clients"]["edges"] for c in e["node"]["coverages"]}
    failing = sorted(payors)[0]
    related = client_types.related_payor  # type: ignore[attr-defined]

    def flaky(info: Any, pk: uuid.UUID) -> Any:
        if encode("Payor", pk) == failing:
            raise RuntimeError("the payor could not be read")
        return related(info, pk)

    monkeypatch.setattr(client_types, "related_payor", flaky)
    query = """query { clients(first: 50) {
      totalCount edges { node { id coverages { priority payor { id name } } } }
    } }"""
    answer, general = await both(api, monkeypatch, statements, query)
    assert general == 1
    errors = answer["errors"]
    assert errors and all(e["extensions"]["code"] == "INTERNAL_ERROR" for e in errors)
    assert all(e["path"][:2] == ["clients", "edges"] for e in errors)
    assert answer["data"] is None


async def test_a_failing_async_resolver_also_falls_back(
    demo_api: Api, monkeypatch: MonkeyPatch, statements: StatementCounter
) -> None:
    """Raised while the plan awaits a level (the Clinical tab's service lines are read
    asynchronously): graphql-core answers, and nothing is left unawaited."""
    api = demo_api
    ids = await client_ids(api)
    lines = client_types.Client.service_lines

    async def failing(self: client_types.Client, info: Any) -> Any:
        raise RuntimeError("the lines could not be read")

    # Strawberry calls the function it was given: replace the one the field holds.
    field = next(
        f
        for f in client_types.Client.__strawberry_definition__.fields  # type: ignore[attr-defined]
        if f.python_name == "service_lines"
    )
    assert field.base_resolver is not None
    monkeypatch.setattr(field.base_resolver, "wrapped_func", failing)
    planned.PLANS.clear()  # plans hold the function they were compiled with
    try:
        answer, general = await both(api, monkeypatch, statements, queries.CLINICAL, {"id": ids[0]})
    finally:
        planned.PLANS.clear()
    assert lines is not failing and general == 1
    assert answer["errors"][0]["path"] == ["client", "serviceLines"]
    assert answer["data"] == {"client": None}


def test_no_resolver_reads_its_path() -> None:
    """A plan gives a field's resolver one Info for every object (api.planned): its path is
    the field's, not each object's. No resolver of the API may read it."""
    api = Path(planned.__file__).parent
    readers = [
        f"{source.relative_to(api)}:{number}"
        for source in sorted(api.rglob("*.py"))
        for number, line in enumerate(source.read_text("utf-8").splitlines(), 1)
        if re.search(r"\binfo\.(_raw_info\.)?path\b", line)
    ]
    assert readers == []
