"""The one place where roles and the cost limit are enforced, before anything executes.

A schema extension: after parsing and validation, and before the first resolver, it looks
at the root fields the operation selects (through fragments too), and for integration tokens
at the types it reads anywhere in the selection. If the caller's role or scopes do not allow
one of them (permissions.ACCESS, permissions.NESTED_SCOPES), or the query would cost more
than the limit, the request ends with one top-level error and nothing runs or is written."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from cmgraph.api.context import Context
from cmgraph.api.cost import Costing
from cmgraph.api.permissions import NESTED_SCOPES, may_call, may_read_nested

FORBIDDEN = "FORBIDDEN"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def root_fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> list[str]:
    """The names of the root fields an operation selects, in order, each once."""
    names: list[str] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            names.append(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            names.extend(root_fields(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                names.extend(root_fields(fragments[name].selection_set, fragments, seen | {name}))
    return list(dict.fromkeys(names))


def types_read(
    selection_set: SelectionSetNode,
    parent: GraphQLNamedType,
    fragments: dict[str, FragmentDefinitionNode],
    schema: GraphQLSchema,
) -> set[str]:
    """The object and interface types of which the selection reads a field (not just
    __typename). DocumentSizeLimiter has bounded the expanded selection already."""
    found: set[str] = set()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__"):
                continue
            found.add(parent.name)
            fields = getattr(parent, "fields", {})
            if selection.selection_set is not None and name in fields:
                child = get_named_type(fields[name].type)
                found |= types_read(selection.selection_set, child, fragments, schema)
        else:
            condition: NamedTypeNode | None = None
            if isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is None:
                    continue
                condition, inner = fragment.type_condition, fragment.selection_set
            elif isinstance(selection, InlineFragmentNode):
                condition, inner = selection.type_condition, selection.selection_set
            else:
                continue
            narrowed = schema.get_type(condition.name.value) if condition else parent
            found |= types_read(inner, narrowed or parent, fragments, schema)
    return found


class Guard(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        context = ec.context
        assert isinstance(context, Context)
        document = ec.graphql_document
        operation = get_operation_ast(document, ec.operation_name) if document else None
        if document is None or operation is None:
            yield
            return
        context.operation_name = operation.name.value if operation.name else None
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        refusal = self._refusal(context, operation, fragments)
        if refusal is not None:
            # A result set here means: graphql-core's execute is never called.
            ec.result = ExecutionResult(data=None, errors=[refusal])
        yield

    def _refusal(
        self,
        context: Context,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
    ) -> GraphQLError | None:
        root = "Mutation" if operation.operation.value == "mutation" else "Query"
        principal = context.principal
        for name in root_fields(operation.selection_set, fragments):
            if not may_call(principal, root, name):
                return GraphQLError(
                    f"The role {principal.role!r} may not use {root.lower()} field {name!r}.",
                    extensions={"code": FORBIDDEN},
                )
        schema = self.execution_context.schema._schema
        root_type = schema.mutation_type if root == "Mutation" else schema.query_type
        assert root_type is not None
        read = types_read(operation.selection_set, root_type, fragments, schema)
        for type_name in sorted(read):
            if not may_read_nested(principal, type_name):
                return GraphQLError(
                    f"This token may not read {type_name} (scopes: "
                    f"{', '.join(NESTED_SCOPES[type_name])}).",
                    extensions={"code": FORBIDDEN},
                )
        settings = context.settings
        costing = Costing(
            self.execution_context.schema._schema,
            fragments,
            self.execution_context.variables,
            settings.max_page_size,
            settings.limits.list_cost_factor,
        )
        cost = costing.operation(operation)
        if cost > settings.limits.max_cost:
            return GraphQLError(
                f"The query would cost {cost}, above the limit of {settings.limits.max_cost}: "
                "ask for smaller pages or fewer nested lists.",
                extensions={"code": QUERY_TOO_COMPLEX, "cost": cost},
            )
        return None
