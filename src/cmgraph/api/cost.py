"""What a query would cost, before it runs: every field counts one, and what a field selects
counts as many times as it may return items.

A field with a `first` argument multiplies its selection by `first` (the variable's value, or
the argument's default, or the page-size cap when null); `renderingProviders` by the number of
requests; any other list of objects by `list_factor` (lists such as a client's appointments
are not paged). `edges` counts once, since `first` already multiplied its connection.
Introspection fields cost nothing (the depth and token limits bound them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    get_named_type,
    get_nullable_type,
    value_from_ast_untyped,
)


class Costing:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
        page_cap: int,
        list_factor: int,
    ) -> None:
        self.schema, self.fragments = schema, fragments
        self.variables = dict(variables or {})
        self.page_cap, self.list_factor = page_cap, list_factor

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        assert root is not None
        return self._selection(operation.selection_set, root, frozenset())

    def _selection(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, seen: frozenset[str]
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self._selection(selection.selection_set, inner or parent, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                inner = self.schema.get_type(fragment.type_condition.name.value)
                total += self._selection(fragment.selection_set, inner or parent, seen | {name})
        return total

    def _field(self, node: FieldNode, parent: GraphQLNamedType, seen: frozenset[str]) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        fields = getattr(parent, "fields", None) or {}
        definition: GraphQLField | None = fields.get(name)
        if definition is None or node.selection_set is None:
            return 1
        inner = get_named_type(definition.type)
        children = self._selection(node.selection_set, inner, seen)
        return 1 + self._multiplier(node, definition) * children

    def _multiplier(self, node: FieldNode, definition: GraphQLField) -> int:
        arguments = self._arguments(node, definition)
        if "first" in definition.args:
            first = arguments.get("first")
            # above the cap, the page-size check answers (INVALID_INPUT), not the cost
            return max(1, min(first, self.page_cap) if isinstance(first, int) else self.page_cap)
        if "requests" in arguments and isinstance(arguments["requests"], list):
            return max(1, len(arguments["requests"]))
        returns_list = isinstance(get_nullable_type(definition.type), GraphQLList)
        if returns_list and node.name.value != "edges":
            inner = get_named_type(definition.type)
            return self.list_factor if isinstance(inner, GraphQLObjectType) else 1
        return 1

    def _arguments(self, node: FieldNode, definition: GraphQLField) -> dict[str, Any]:
        values: dict[str, Any] = {
            name: arg.default_value
            for name, arg in definition.args.items()
            if arg.default_value is not None and arg.default_value is not Undefined
        }
        for argument in node.arguments or ():
            values[argument.name.value] = value_from_ast_untyped(argument.value, self.variables)
        return values
