"""Roles, generated over the whole schema: every root field and mutation, called by every
role (and by integrations with and without the operation's scope), is allowed or denied as
the one table in the code (cmgraph.api.permissions.ACCESS) says. Denied: HTTP 403, one
top-level error with extensions.code FORBIDDEN, no data, nothing written."""

from __future__ import annotations

import uuid
from typing import Any, cast

import builders as b
import principals as p
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_required_argument,
    is_required_input_field,
)
from httpx import AsyncClient

from cmgraph.api import ids
from cmgraph.api.permissions import ACCESS, NODE_ACCESS
from cmgraph.api.schema import schema
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import tenants
from cmgraph.services.access import ADMIN, BILLING, PERSON_ROLES, SCOPES

GRAPHQL = schema._schema
ROOTS = {"Query": GRAPHQL.query_type, "Mutation": GRAPHQL.mutation_type}
OPERATIONS = sorted(
    f"{root}.{name}" for root, kind in ROOTS.items() if kind for name in kind.fields
)
CALLERS = [*PERSON_ROLES, "integration-granted", "integration-other"]

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


def document(operation: str) -> str:
    root, name = operation.split(".")
    field = ROOTS[root].fields[name]
    args = [
        f"{a}: {literal(arg.type)}" for a, arg in field.args.items() if is_required_argument(arg)
    ]
    call = f"{name}({', '.join(args)})" if args else name
    named = get_named_type(field.type)
    selection = (
        " { __typename }" if not isinstance(named, (GraphQLScalarType, GraphQLEnumType)) else ""
    )
    return f"{root.lower()} {{ {call}{selection} }}"


def expected(operation: str, caller: str) -> bool:
    access = ACCESS[operation]
    if caller == "integration-granted":
        return bool(access.scopes)
    if caller == "integration-other":
        return False
    return caller in access.roles


def test_the_table_covers_every_root_field_and_mutation_and_nothing_else() -> None:
    assert set(ACCESS) == set(OPERATIONS)
    assert set(NODE_ACCESS) == {
        t.name for t in GRAPHQL.get_implementations(GRAPHQL.get_type("Node")).objects
    }


def test_the_table_keeps_the_roles_promises() -> None:
    for operation, access in ACCESS.items():
        assert ADMIN in access.roles, operation  # admin does everything
        assert access.scopes <= set(SCOPES), operation
        if operation.startswith("Mutation."):
            assert BILLING not in access.roles, operation  # billing writes nothing
    assert ACCESS["Query.auditEvents"].roles == {ADMIN, BILLING}
    assert ACCESS["Mutation.createApiToken"].roles == {ADMIN}
    assert ACCESS["Mutation.createApiToken"].scopes == set()  # no integration makes tokens


@pytest.fixture(scope="module")
async def org(db: Database) -> dict[str, Any]:
    """One organization with an admin token and a provider (for the clinician's token)."""
    slug = f"roles-{uuid.uuid4().hex[:12]}"
    await tenants.create_organization(db, "Roles Practice", slug, "America/New_York")
    org_id = await b.org_id(db, slug)
    async with db.write() as session:
        provider = models.Provider(
            organization_id=org_id, first_name="Cli", last_name="Nician", npi=b.next_npi()
        )
        session.add(provider)
        await session.commit()
    return {
        "slug": slug,
        "admin": await p.token(db, slug, ADMIN),
        "clinician": await p.token(
            db, slug, "clinician", provider=ids.encode("Provider", provider.id)
        ),
    }


async def caller_token(db: Database, org: dict[str, Any], operation: str, caller: str) -> str:
    if caller in (ADMIN, "clinician"):
        return cast("str", org[caller])
    if caller.startswith("integration"):
        granted = tuple(sorted(ACCESS[operation].scopes))
        if caller == "integration-granted":
            scopes = granted or ("clients:read",)
        else:
            scopes = tuple(s for s in SCOPES if s not in granted)
        return await p.token(db, org["slug"], "integration", scopes=scopes)
    return await p.token(db, org["slug"], caller)


async def written(db: Database, slug: str) -> dict[str, int]:
    kinds = (models.Client, models.Provider, models.Payor, models.ChangeRecord, models.ApiToken)
    return {k.__name__: await b.count(db, k, slug) for k in kinds}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("operation", OPERATIONS)
async def test_every_operation_for_every_caller(
    db: Database, http: AsyncClient, org: dict[str, Any], operation, caller
) -> None:
    token_value = await caller_token(db, org, operation, caller)
    before = await written(db, org["slug"])

    response = await http.post(
        "/graphql",
        json={"query": document(operation)},
        headers={"Authorization": f"Bearer {token_value}"},
    )

    body = response.json()
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
    if expected(operation, caller):
        assert response.status_code == 200, (operation, caller, body)
        assert "FORBIDDEN" not in codes, (operation, caller, body)
    else:
        assert response.status_code == 403, (operation, caller, body)
        assert codes == ["FORBIDDEN"], body
        assert "data" not in body
        after = await written(db, org["slug"])
        after["ApiToken"] = before["ApiToken"]  # the caller's own token was made above
        assert after == before, (operation, caller)
