"""The document analyzer (api.document): each document is parsed and walked once, and what
the guard, the limits and the Idempotency-Key need is read from that one walk."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from graphql import DocumentNode, GraphQLSchema, parse
from strawberry.schema import schema as strawberry_schema

from cmgraph.api import document
from cmgraph.api.cost import RENDERING_QUESTION_COST, REPORT_DAY_COST
from cmgraph.api.document import AnalyzedDocument, analyze
from cmgraph.api.schema import schema
from tests.support import Api

SCHEMA: GraphQLSchema = schema._schema
PAGE_CAP, LIST_FACTOR = 100, 5

PAGE = """query($n: Int) {
  clients(first: $n) { edges { node { coverages { payor { name } } } } }
}"""


def analyzed_text(text: str) -> AnalyzedDocument:
    return analyze(SCHEMA, parse(text))


def cost(text: str, variables: dict[str, Any] | None = None) -> int:
    (operation,) = analyzed_text(text).operations
    return operation.cost.cost(variables, PAGE_CAP, LIST_FACTOR)


def test_root_fields_are_read_through_fragments_in_order_each_once() -> None:
    analysis = analyzed_text(
        """query Q { ...Roots clients { totalCount } ... on Query { payors { name } } }
        fragment Roots on Query { __typename clients { totalCount } providers { totalCount } }
        mutation M { createClient(input: {firstName: "A", lastName: "B"}) { client { id } } }"""
    )
    query, mutation = analysis.operations
    assert query.root_fields == ("__typename", "clients", "providers", "payors")
    assert (query.root, query.is_mutation) == ("Query", False)
    assert mutation.root_fields == ("createClient",)
    assert (mutation.root, mutation.is_mutation) == ("Mutation", True)
    assert analysis.operation("M") is mutation
    assert analysis.operation(None) is None  # two operations: the name must be given


def test_types_read_follow_fragments_and_skip_typename() -> None:
    (operation,) = analyzed_text(
        """{ clients { edges { node { __typename ...Cover } } } }
        fragment Cover on Client { coverages { ... on Coverage { payor { name } } } }"""
    ).operations
    assert operation.types_read == {
        "Query",
        "ClientConnection",
        "ClientEdge",
        "Client",
        "Coverage",
        "Payor",
    }
    (typename_only,) = analyzed_text("{ clients { edges { node { __typename } } } }").operations
    assert "Client" not in typename_only.types_read


def test_the_size_counts_every_spread_of_a_fragment() -> None:
    levels = 30
    parts = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    parts.append(f"fragment F{levels} on Query {{ serviceLines {{ code }} }}")
    analysis = analyzed_text("query { ...F0 }\n" + "\n".join(parts))
    assert analysis.size == 2 * 2**levels  # walked once per fragment, not 2**30 times
    assert analysis.cycle is None


def test_a_fragment_that_spreads_itself_is_named() -> None:
    analysis = analyzed_text(
        "query { ...A } fragment A on Query { clients { totalCount } ...B } "
        "fragment B on Query { ...A }"
    )
    assert analysis.cycle == "A"
    assert analysis.operations[0].root_fields == ("clients",)


def test_the_cost_plan_multiplies_by_each_request_s_page_size() -> None:
    # clients 1 + n * (edges 1 + node 1 + coverages 1 + 5 * (payor 1 + name 1))
    assert cost(PAGE, {"n": 10}) == 1 + 10 * 13
    assert cost(PAGE, {"n": 3}) == 1 + 3 * 13
    assert cost(PAGE, {"n": None}) == 1 + PAGE_CAP * 13  # null: the cap
    assert cost(PAGE, {"n": 10_000}) == 1 + PAGE_CAP * 13  # above it: the cap
    assert cost(PAGE.replace("query($n: Int) ", "").replace("$n", "7")) == 1 + 7 * 13


def test_the_cost_counts_a_fragment_as_often_as_it_is_spread_and_introspection_as_nothing() -> None:
    spread_twice = """query($n: Int) { clients(first: $n) { edges { node { ...C ...C } } } }
    fragment C on Client { coverages { payor { name } } }"""
    # node 1 + 2 * (coverages 1 + 5 * 2)
    assert cost(spread_twice, {"n": 2}) == 1 + 2 * (1 + 1 + 2 * 11)
    assert cost("{ __schema { types { name } } __typename }") == 0


def test_the_cost_of_rendering_providers_is_per_request() -> None:
    query = """query($r: [RenderingProviderRequest!]!) {
      renderingProviders(requests: $r) { provider { npi } }
    }"""
    q = RENDERING_QUESTION_COST  # the work of each question, whatever is selected
    assert cost(query, {"r": [{}] * 4}) == 1 + 4 * 2 + 4 * q
    assert cost(query, {"r": []}) == 1 + 1 * 2
    assert cost(query, {}) == 1 + LIST_FACTOR * 2 + q  # no list to count: a list's factor


def test_a_report_costs_the_days_of_its_window_per_alias_up_to_the_longest_window() -> None:
    report = """query($from: Date!, $to: Date!) { complianceFindings(from: $from, to: $to,
      first: 0) { totalCount } }"""
    year = {"from": "2026-01-01", "to": "2026-12-31"}
    assert cost(report, year) == 1 + 1 + 365 * REPORT_DAY_COST
    assert cost(report, {"from": "2026-03-01", "to": "2026-03-01"}) == 2 + REPORT_DAY_COST
    centuries = {"from": "1900-01-01", "to": "2100-12-31"}  # refused by the field itself
    assert cost(report, centuries) == 2 + 366 * REPORT_DAY_COST
    one = '{ a: claimLines(from: "2026-01-01", to: "2026-12-31", first: 1) { totalCount } }'
    assert cost(one) == 2 + 365 * REPORT_DAY_COST
    two = one[:-2] + one[2:].replace("a:", "b:")
    assert cost(two) == 2 * cost(one) > 25_000  # the default limit: one report a request
    single = """{ renderingProvider(clientId: "x", serviceLine: "ABA",
      dateOfService: "2026-01-01") { findings { code } } }"""
    assert cost(single) == 1 + 1 + LIST_FACTOR * 1 + RENDERING_QUESTION_COST


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts of the documents analyzed while the test runs."""
    seen: list[str] = []

    def counted(schema: GraphQLSchema, node: DocumentNode) -> AnalyzedDocument:
        assert node.loc is not None
        seen.append(node.loc.source.body)
        return analyze(schema, node)

    monkeypatch.setattr(document, "analyze", counted)
    return seen


async def test_a_document_is_analyzed_once_across_requests(api: Api, analyses: list[str]) -> None:
    # A new text each run, so the cache of an earlier test does not answer it.
    query = f"query Once{uuid.uuid4().hex} {{ clients(first: 5) {{ totalCount }} }}"
    for _ in range(3):
        assert (await api(query))["clients"]["totalCount"] == 0
    assert analyses == [query]


async def test_a_keyed_mutation_is_analyzed_once_for_its_key_and_its_execution(
    api: Api, analyses: list[str]
) -> None:
    mutation = f"""mutation Create{uuid.uuid4().hex}($input: CreateClientInput!) {{
      createClient(input: $input) {{ client {{ id }} userErrors {{ code }} }}
    }}"""
    for name in ("Ada", "Bea"):
        response = await api.post(
            mutation,
            {"input": {"firstName": name, "lastName": "Once"}},
            headers={"Authorization": f"Bearer {api.token}", "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["createClient"]["userErrors"] == []
    assert analyses == [mutation]


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts of the documents validated while the test runs."""
    seen: list[str] = []
    validate = strawberry_schema.validate_document

    def counted(schema: GraphQLSchema, node: DocumentNode, rules: Any) -> Any:
        assert node.loc is not None
        seen.append(node.loc.source.body)
        return validate(schema, node, rules)

    monkeypatch.setattr(document, "validate_document", counted)
    return seen


async def test_a_document_is_validated_once_across_requests(
    api: Api, validations: list[str]
) -> None:
    query = f"query Valid{uuid.uuid4().hex} {{ clients(first: 5) {{ totalCount }} }}"
    for _ in range(3):
        assert (await api(query))["clients"]["totalCount"] == 0
    assert validations == [query]


async def test_a_document_s_validation_errors_come_back_with_every_request(
    api: Api, validations: list[str]
) -> None:
    # the alias limit (the schema's own rule) and graphql-core's rules, from the one walk
    aliases = " ".join(f"a{i}: __typename" for i in range(31))
    many = f"query Aliases{uuid.uuid4().hex} {{ {aliases} }}"
    query = f"query Invalid{uuid.uuid4().hex} {{ clients {{ nope }} }}"
    for _ in range(2):
        for text, expected in ((query, "Cannot query field 'nope'"), (many, "aliases")):
            body = (await api.raw(text))["errors"]
            assert len(body) == 1 and expected in body[0]["message"], body
    assert validations == [query, many]
