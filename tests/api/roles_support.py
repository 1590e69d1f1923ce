"""Helpers shared by tests (moved from test_roles.py, so that tests never import tests)."""

from __future__ import annotations

from typing import cast

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    is_required_input_field,
)

SCALARS = {
    "ID": '"Q2xpZW50OjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA"',
    "String": '"x"',
    "Int": "1",
    "Float": "1.0",
    "Boolean": "true",
    "Date": '"2026-01-05"',
    "DateTime": '"2026-01-05T09:00:00-05:00"',
    "JSON": "{}",
}


def roots(schema: GraphQLSchema) -> dict[str, GraphQLObjectType]:
    """The schema's root types by name (it has both, or the tests walking them walk nothing)."""
    query, mutation = schema.query_type, schema.mutation_type
    assert query is not None and mutation is not None
    return {"Query": query, "Mutation": mutation}


def literal(kind: GraphQLInputType) -> str:
    """A value of the type that passes validation (most will not name anything real)."""
    if isinstance(kind, GraphQLNonNull):
        return literal(kind.of_type)
    if isinstance(kind, GraphQLList):
        return f"[{literal(kind.of_type)}]"
    if isinstance(kind, GraphQLEnumType):
        return cast("str", next(iter(kind.values)))
    if isinstance(kind, GraphQLInputObjectType):
        fields = [
            f"{name}: {literal(f.type)}"
            for name, f in kind.fields.items()
            if is_required_input_field(f)
        ]
        return "{" + ", ".join(fields) + "}"
    assert isinstance(kind, GraphQLScalarType)
    return SCALARS[kind.name]
