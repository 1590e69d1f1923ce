"""Each document parsed and analyzed once, and the analysis kept with the parsed document.

Clients send the same few documents again and again. `analyzed` parses a document and walks
it once, in an LRU keyed by its text (in place of strawberry's ParserCache): how many fields
it selects with every fragment spread expanded (api.document_size), and for each operation
the root fields it selects (api.guard, web.idempotency), the types it reads anywhere (the
guard's scope check) and the plan of what it would cost (api.cost).

The walk summarizes each fragment once per type it is spread on, so a chain of fragments
that each spread the next one twice is linear to analyze, not exponential. `selections` is
the one fragment-aware walker of a selection set; the lookahead of a running resolver
(api.lookahead) uses it too."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    Visitor,
    get_named_type,
    parse,
    visit,
)
from strawberry.schema.schema import validate_document

from cmgraph.api.cost import ONCE, CostPlan, Multiplier, Work, multiplier, work
from cmgraph.services import text

CACHED_DOCUMENTS = 128
"""Documents kept parsed and analyzed: at most this many, of at most max_tokens tokens each."""


def selections(
    selection_set: SelectionSetNode,
    parent: GraphQLNamedType | None,
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Iterator[tuple[FieldNode | FragmentDefinitionNode, GraphQLNamedType | None]]:
    """The fields a selection set selects and the fragments it spreads, in order, each with
    the type it is selected on (narrowed by type conditions; None where unknown). Inline
    fragments are opened here; a spread fragment is left to the caller, which can summarize
    it once however often it is spread. Unknown fragments are skipped (validation says so)."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection, parent
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            narrowed = schema.get_type(condition.name.value) if condition else parent
            yield from selections(selection.selection_set, narrowed or parent, schema, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                narrowed = schema.get_type(fragment.type_condition.name.value)
                yield fragment, narrowed or parent


@dataclass(frozen=True, eq=False)
class Selected:
    """What a selection set selects, fragments expanded."""

    size: int  # field selections, introspection included
    fields: tuple[str, ...]  # the names at this level, in order, each once
    keys: Mapping[str, int]  # how often each response key is selected at this level
    types_read: frozenset[str]  # object and interface types a field is read of (not
    # __typename), whether named by a fragment's type condition or by the field's type
    cost: CostPlan


NOTHING = Selected(0, (), {}, frozenset(), CostPlan(0))


@dataclass(frozen=True, eq=False)
class Operation:
    node: OperationDefinitionNode
    root: str  # "Query" or "Mutation", as permissions.ACCESS names them
    root_fields: tuple[str, ...]
    types_read: frozenset[str]
    cost: CostPlan

    @property
    def name(self) -> str | None:
        return self.node.name.value if self.node.name else None

    @property
    def is_mutation(self) -> bool:
        return self.node.operation == OperationType.MUTATION


@dataclass(frozen=True, eq=False)
class AnalyzedDocument:
    document: DocumentNode
    size: int  # field selections of all its operations, every fragment spread expanded
    cycle: str | None  # the first fragment found to spread itself, if any
    operations: tuple[Operation, ...]
    text_problem: str | None = None  # why a string written in the document is not text
    most_directives: int = 0  # on any one field
    most_repeats: int = 0  # times one response key is selected in one selection set
    # validation's errors by the rules validated against (api.guard): once per document
    _validated: dict[tuple[type[ASTValidationRule], ...], list[GraphQLError]] = field(
        default_factory=dict, repr=False
    )

    def validation_errors(
        self, schema: GraphQLSchema, rules: tuple[type[ASTValidationRule], ...]
    ) -> list[GraphQLError]:
        """What Strawberry's validation (graphql-core's, with Strawberry's own rules) finds
        in the document under these rules; walked once per document and rules, as the
        analysis is."""
        errors = self._validated.get(rules)
        if errors is None:
            errors = self._validated[rules] = validate_document(schema, self.document, rules)
        return errors

    def operation(self, name: str | None) -> Operation | None:
        """The operation to run, chosen as graphql-core's get_operation_ast chooses it."""
        if name is None:
            return self.operations[0] if len(self.operations) == 1 else None
        return next((o for o in self.operations if o.name == name), None)


@functools.lru_cache(maxsize=CACHED_DOCUMENTS)
def analyzed(schema: GraphQLSchema, query: str, max_tokens: int | None) -> AnalyzedDocument:
    """The document of `query`, parsed and analyzed, from the cache when it is there. Raises
    graphql-core's GraphQLError when it does not parse (not cached). Call it with positional
    arguments, as the guard and web.idempotency do: the cache keys keywords apart."""
    return analyze(schema, parse(query, max_tokens=max_tokens))


def analyze(schema: GraphQLSchema, document: DocumentNode) -> AnalyzedDocument:
    """One walk of a parsed document (uncached: `analyzed` is the cache)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walk = _Walk(schema, fragments)
    size = 0
    operations = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        mutation = definition.operation == OperationType.MUTATION
        root_type = schema.mutation_type if mutation else schema.query_type
        selected = walk.selection_set(definition.selection_set, root_type)
        operations.append(
            Operation(
                definition,
                "Mutation" if mutation else "Query",
                selected.fields,
                selected.types_read,
                selected.cost,
            )
        )
        size += selected.size
    return AnalyzedDocument(
        document,
        size,
        walk.cycle,
        tuple(operations),
        _text_problem(document),
        walk.most_directives,
        walk.most_repeats,
    )


def _text_problem(document: DocumentNode) -> str | None:
    """services.text's rule, for the strings written in the document (variables' are
    checked per request, by api.guard)."""
    found: list[str] = []

    class Strings(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: object) -> None:
            reason = text.problem(node.value)
            if reason is not None and not found:
                found.append(reason)

    visit(document, Strings())
    return found[0] if found else None


class _Walk:
    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode]
    ) -> None:
        self.schema, self.fragments = schema, fragments
        self.cycle: str | None = None
        self.most_directives = self.most_repeats = 0
        self._fragments: dict[tuple[str, str | None], Selected] = {}
        self._visiting: set[str] = set()

    def selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None
    ) -> Selected:
        size = 0
        names: dict[str, None] = {}
        keys: Counter[str] = Counter()
        types: set[str] = set()
        once = 0
        nested: list[tuple[Multiplier, CostPlan]] = []
        reports: list[Work] = []
        for node, on in selections(selection_set, parent, self.schema, self.fragments):
            if isinstance(node, FragmentDefinitionNode):
                inner = self._fragment(node, on)
                size += inner.size
                names.update(dict.fromkeys(inner.fields))
                keys.update(inner.keys)
                types |= inner.types_read
                nested.append((ONCE, inner.cost))
                continue
            name = node.name.value
            names[name] = None
            keys[node.alias.value if node.alias else name] += 1
            self.most_directives = max(self.most_directives, len(node.directives or ()))
            definition: GraphQLField | None = (getattr(on, "fields", None) or {}).get(name)
            child = None
            if node.selection_set is not None:
                child_type = get_named_type(definition.type) if definition else None
                child = self.selection_set(node.selection_set, child_type)
            size += 1 + (child.size if child else 0)
            if name.startswith("__"):
                continue  # introspection reads no data and costs nothing
            if on is not None:
                types.add(on.name)
            once += 1
            report = work(node, on.name if on is not None else None)
            if report is not None:
                reports.append(report)
            if definition is not None and child is not None:
                types |= child.types_read
                if child.types_read:
                    # the field's own type too: `client { ... on Node { id } }` reads a Client
                    types.add(get_named_type(definition.type).name)
                nested.append((multiplier(node, definition), child.cost))
        if keys:
            self.most_repeats = max(self.most_repeats, max(keys.values()))
        plan = CostPlan(once, tuple(nested), tuple(reports))
        return Selected(size, tuple(names), keys, frozenset(types), plan)

    def _fragment(self, fragment: FragmentDefinitionNode, on: GraphQLNamedType | None) -> Selected:
        name = fragment.name.value
        key = (name, on.name if on else None)
        if key in self._fragments:
            return self._fragments[key]
        if name in self._visiting:
            # refused by the size limit before anything else looks at the document
            self.cycle = self.cycle or name
            return NOTHING
        self._visiting.add(name)
        selected = self.selection_set(fragment.selection_set, on)
        self._visiting.discard(name)
        self._fragments[key] = selected
        return selected
