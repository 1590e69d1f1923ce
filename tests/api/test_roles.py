"""Roles, generated over the whole schema: every root field and mutation, called by every
role (and by integrations with and without the operation's scope), is allowed or denied as
the one table in the code (cmgraph.api.permissions.ACCESS) says. Denied: HTTP 403, one
top-level error with extensions.code FORBIDDEN, no data, nothing written.

And the audit trail, through every path that reads events (auditEvents, an assignment's
changes), shows an event's contents (before, after) to exactly the callers who may read the
entity's type (permissions.ENTITY_ACCESS); to the others its ids and changed field names."""

from __future__ import annotations

import uuid
from typing import Any, cast

import builders as b
import principals as p
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLScalarType,
    get_named_type,
    is_required_argument,
)
from httpx import AsyncClient
from roles_support import literal, roots

from cmgraph.api import ids
from cmgraph.api.permissions import ACCESS, NODE_ACCESS, may_call, may_read_entity
from cmgraph.api.schema import schema
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import tenants
from cmgraph.services.access import ADMIN, BILLING, INTEGRATION, PERSON_ROLES, SCOPES, Principal
from tests.support import Api

GRAPHQL = schema._schema
ROOTS = roots(GRAPHQL)
OPERATIONS = sorted(f"{root}.{name}" for root, kind in ROOTS.items() for name in kind.fields)
CALLERS = [*PERSON_ROLES, "integration-granted", "integration-other"]


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
    node = GRAPHQL.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    assert set(NODE_ACCESS) == {t.name for t in GRAPHQL.get_implementations(node).objects}


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
    db: Database, http: AsyncClient, org: dict[str, Any], operation: str, caller: str
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


# --- the audit trail's contents ---------------------------------------------------------

TRAIL_SCOPES: dict[str, tuple[str, ...]] = {
    "integration-audit": ("audit:read",),
    "integration-audit-clients": ("audit:read", "clients:read"),
    "integration-history": ("audit:read", "clients:read", "case_managers:read"),
    "integration-audit-everything": tuple(s for s in SCOPES if s.endswith(":read")),
}
TRAIL_CALLERS = [*PERSON_ROLES, *TRAIL_SCOPES]
TRAIL = """{ auditEvents(first: 100) { edges { node {
  entityType entityId before after changedFields } } } }"""
HISTORY = """query($id: ID!) { client(id: $id) { caseManagers { changes {
  entityType entityId before after changedFields } } } }"""


@pytest.fixture
async def trail(api: Api) -> dict[str, Any]:
    """An organization with an event of each kind: a client, a provider (the clinician's),
    their assignment, a payor, a coverage, an enrollment, an appointment and an API token."""
    admin = api
    client = await b.client(admin, "Tess", "Trail", dateOfBirth="2015-04-01")
    provider = await b.provider(admin, "Cara", "Clinician")
    await b.case_manager(admin, client, provider, "2026-01-01")
    payor = await b.payor(admin, "Trail Health")
    await b.coverage(admin, client, payor, "2026-01-01")
    await b.enrollment(admin, provider, payor)
    await b.appointment(
        admin, client, provider, "2026-03-10T09:00:00-05:00", "2026-03-10T10:00:00-05:00"
    )
    await admin('mutation { createApiToken(input: {name: "t", role: "billing"}) { token } }')
    return {"slug": api.slug, "client": client, "provider": provider, "http": api.client}


async def trail_caller(db: Database, trail: dict[str, Any], caller: str) -> tuple[str, Principal]:
    slug, org = trail["slug"], await b.org_id(db, trail["slug"])
    if caller in TRAIL_SCOPES:
        scopes = TRAIL_SCOPES[caller]
        token_value = await p.token(db, slug, INTEGRATION, scopes=scopes)
        return token_value, Principal(org, "UTC", INTEGRATION, "t", scopes=frozenset(scopes))
    provider = trail["provider"] if caller == "clinician" else None
    token_value = await p.token(db, slug, caller, provider=provider)
    return token_value, Principal(org, "UTC", caller, "t")


def check_events(events: list[dict[str, Any]], principal: Principal, caller: str) -> None:
    assert events, caller
    for event in events:
        shown = may_read_entity(principal, event["entityType"])
        contents = [event["before"], event["after"]]
        assert any(c is not None for c in contents) == shown, (caller, event)
        assert event["changedFields"], event  # the names, to everyone who reads the event
        assert event["entityId"]


@pytest.mark.parametrize("caller", TRAIL_CALLERS)
async def test_every_path_to_the_audit_trail_shows_contents_as_the_table_says(
    db: Database, trail: dict[str, Any], caller: str
) -> None:
    token_value, principal = await trail_caller(db, trail, caller)
    headers = {"Authorization": f"Bearer {token_value}"}
    post = trail["http"].post
    paths = 0

    response = await post("/graphql", json={"query": TRAIL}, headers=headers)
    if may_call(principal, "Query", "auditEvents"):
        paths += 1
        body = response.json()
        assert "errors" not in body, body
        events = [e["node"] for e in body["data"]["auditEvents"]["edges"]]
        kinds = {e["entityType"] for e in events}
        assert {"Client", "CaseManagerAssignment", "Payor", "ApiToken"} <= kinds
        check_events(events, principal, caller)
    else:
        assert response.status_code == 403, response.text

    variables = {"id": trail["client"]}
    response = await post(
        "/graphql", json={"query": HISTORY, "variables": variables}, headers=headers
    )
    body = response.json()
    if response.status_code == 200:
        paths += 1
        assert "errors" not in body, body
        [assignment] = body["data"]["client"]["caseManagers"]
        check_events(assignment["changes"], principal, caller)
    else:
        assert response.status_code == 403, (caller, body)
        assert not (principal.role == INTEGRATION and "case_managers:read" in principal.scopes)
    assert paths, caller  # every caller here reads the trail one way or another
