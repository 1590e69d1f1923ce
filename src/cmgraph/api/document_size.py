"""Refuse a document whose selections, with every fragment spread expanded, are too many.

A chain of fragments that each spread the next one twice is short to write and exponential to
walk: the other checks (depth, aliases, roles, cost) would walk it for hours. This one counts
each fragment once (memoized), right after parsing, so they never see such a document.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

TOO_COMPLEX = "QUERY_TOO_COMPLEX"


class _Cycle(Exception):
    pass


def expanded_size(document: DocumentNode) -> int:
    """The number of field selections once every fragment spread is expanded."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    sizes: dict[str, int] = {}
    visiting: set[str] = set()

    def of_fragment(name: str) -> int:
        if name in sizes:
            return sizes[name]
        if name in visiting:
            raise _Cycle(name)
        fragment = fragments.get(name)
        if fragment is None:
            return 0  # validation reports the unknown fragment
        visiting.add(name)
        sizes[name] = of_selections(fragment.selection_set)
        visiting.discard(name)
        return sizes[name]

    def of_selections(selection_set: SelectionSetNode | None) -> int:
        total = 0
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                total += 1 + of_selections(node.selection_set)
            elif isinstance(node, InlineFragmentNode):
                total += of_selections(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                total += of_fragment(node.name.value)
        return total

    try:
        return sum(
            of_selections(d.selection_set)
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        )
    except _Cycle as cycle:
        raise GraphQLError(
            f"Fragment {cycle.args[0]!r} spreads itself.", extensions={"code": TOO_COMPLEX}
        ) from None


class DocumentSizeLimiter(SchemaExtension):
    def __init__(self, max_selections: int) -> None:
        self.max_selections = max_selections

    def on_parse(self) -> Iterator[None]:
        yield
        document = self.execution_context.graphql_document
        if document is None:
            return
        size = expanded_size(document)
        if size > self.max_selections:
            raise GraphQLError(
                f"The query selects {size} fields once its fragments are expanded; at most "
                f"{self.max_selections}.",
                extensions={"code": TOO_COMPLEX},
            )
