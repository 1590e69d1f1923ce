"""API tokens managed by admins over GraphQL: shown once, stored hashed, listed without
secrets, revoked, expiring, with their last use."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import builders as b
import principals as p
from pytest import MonkeyPatch
from sqlalchemy import select, update

from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import tokens
from cmgraph.services.access import Principal
from cmgraph.services.tokens import hash_token, organization_of
from tests.support import Api, StatementCounter

CREATE = """mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
  token apiToken { id name role scopes expiresAt lastUsedAt revokedAt provider { id } }
  userErrors { field code message } } }"""
REVOKE = """mutation($id: ID!) { revokeApiToken(input: {id: $id}) {
  apiToken { id revokedAt } userErrors { code } } }"""
LIST = "{ apiTokens { id name role scopes lastUsedAt revokedAt } }"


async def test_an_admin_creates_a_token_that_works_once_shown_and_is_stored_hashed(
    api: Api, db: Database
) -> None:
    made = (
        await api(
            CREATE, {"input": {"name": "ehr", "role": "integration", "scopes": ["clients:read"]}}
        )
    )["createApiToken"]
    assert made["userErrors"] == []
    secret, token = made["token"], made["apiToken"]
    assert token["scopes"] == ["clients:read"] and token["lastUsedAt"] is None

    async with db.read() as session:
        row = (
            await session.scalars(
                select(models.ApiToken).where(models.ApiToken.token_hash == hash_token(secret))
            )
        ).one()
    assert row.token_hash != secret
    listed = await api(LIST)
    assert secret not in str(listed) and row.token_hash not in str(listed)
    assert secret not in str([(r.before, r.after) for r in await b.changes(db, api.slug)])

    integration = p.as_(api, secret)
    assert (await integration("{ clients { totalCount } }"))["clients"]["totalCount"] == 0
    used = {t["id"]: t for t in (await api(LIST))["apiTokens"]}[token["id"]]
    assert used["lastUsedAt"] is not None


async def test_a_revoked_token_authenticates_nothing(api: Api) -> None:
    made = (await api(CREATE, {"input": {"name": "x", "role": "billing"}}))["createApiToken"]
    billing = p.as_(api, made["token"])
    assert (await billing.post("{ payors { id } }")).status_code == 200

    revoked = (await api(REVOKE, {"id": made["apiToken"]["id"]}))["revokeApiToken"]
    assert revoked["userErrors"] == [] and revoked["apiToken"]["revokedAt"]
    assert (await billing.post("{ payors { id } }")).status_code == 401


async def test_an_expired_token_authenticates_nothing(
    api: Api, db: Database, monkeypatch: MonkeyPatch
) -> None:
    """Expired in the database by hand (as another process would change it): refused once the
    process's verified tokens are looked up again. An expiry reached is refused at once
    (test_verified_tokens_keep_their_expiry_their_bound_and_their_number)."""
    made = (
        await api(
            CREATE, {"input": {"name": "x", "role": "billing", "expiresAt": "2099-01-01T00:00:00Z"}}
        )
    )["createApiToken"]
    billing = p.as_(api, made["token"])
    assert (await billing.post("{ payors { id } }")).status_code == 200
    async with db.write() as session:
        await session.execute(
            update(models.ApiToken)
            .where(models.ApiToken.token_hash == hash_token(made["token"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    past_the_verified_bound(monkeypatch)
    assert (await billing.post("{ payors { id } }")).status_code == 401


def past_the_verified_bound(monkeypatch: MonkeyPatch) -> None:
    """As if VERIFIED_FOR had passed since this process verified its tokens."""
    later = time.monotonic() + tokens.VERIFIED_FOR
    monkeypatch.setattr(tokens.verified, "clock", lambda: later)


async def test_a_verified_token_is_not_looked_up_again_within_the_bound(
    api: Api, statements: StatementCounter, monkeypatch: MonkeyPatch
) -> None:
    assert (await api.post("{ payors { id } }")).status_code == 200
    statements.sent.clear()
    assert (await api.post("{ payors { id } }")).status_code == 200
    assert not [text for text, _ in statements.sent if "api_tokens" in text]
    past_the_verified_bound(monkeypatch)
    assert (await api.post("{ payors { id } }")).status_code == 200
    assert [text for text, _ in statements.sent if "api_tokens" in text]


def test_verified_tokens_keep_their_expiry_their_bound_and_their_number(
    monkeypatch: MonkeyPatch,
) -> None:
    clock = [0.0]
    kept = tokens.VerifiedTokens(clock=lambda: clock[0])
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    who = Principal(organization_id=uuid4(), timezone="UTC", role="billing", actor="token:1")
    kept.keep("expiring", who, expires_at=now + timedelta(seconds=1))
    kept.keep("open", who, expires_at=None)
    assert kept.get("expiring", now) is who and kept.get("open", now) is who
    assert kept.get("expiring", now + timedelta(seconds=1)) is None  # expired: at once
    clock[0] = tokens.VERIFIED_FOR
    assert kept.get("open", now) is None  # past the bound: looked up again

    monkeypatch.setattr(tokens, "VERIFIED_MOST", 2)
    for name in ("a", "b", "c"):
        kept.keep(name, who, None)
    assert [kept.get(n, now) for n in ("a", "b", "c")] == [None, who, who]


async def test_bad_token_requests_are_user_errors(api: Api, other_api: Api) -> None:
    provider = await b.provider(api)
    theirs = await b.provider(other_api)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"role": "root"}, ["input", "role"]),
        ({"role": "integration"}, ["input", "scopes"]),
        ({"role": "integration", "scopes": ["all:write"]}, ["input", "scopes"]),
        ({"role": "admin", "scopes": ["clients:read"]}, ["input", "scopes"]),
        ({"role": "clinician"}, ["input", "providerId"]),
        ({"role": "billing", "providerId": provider}, ["input", "providerId"]),
        ({"role": "clinician", "providerId": theirs}, ["input", "providerId"]),
        ({"role": "admin", "expiresAt": "2001-01-01T00:00:00Z"}, ["input", "expiresAt"]),
        ({"role": "admin", "expiresAt": "2099-01-01T00:00:00"}, ["input", "expiresAt"]),
    ]
    for extra, field in cases:
        made = (await api(CREATE, {"input": {"name": "bad", **extra}}))["createApiToken"]
        assert made["token"] is None, extra
        assert [e["field"] for e in made["userErrors"]] == [field], (extra, made)


async def test_a_clinician_token_names_its_provider(api: Api) -> None:
    provider = await b.provider(api)
    made = (
        await api(CREATE, {"input": {"name": "c", "role": "clinician", "providerId": provider}})
    )["createApiToken"]
    assert made["apiToken"]["provider"] == {"id": provider}


async def test_another_organizations_token_cannot_be_revoked(api: Api, other_api: Api) -> None:
    made = (await api(CREATE, {"input": {"name": "x", "role": "billing"}}))["createApiToken"]
    refused = (await other_api(REVOKE, {"id": made["apiToken"]["id"]}))["revokeApiToken"]
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_FOUND"]
    assert (await p.as_(api, made["token"]).post("{ payors { id } }")).status_code == 200
    assert made["apiToken"]["id"] not in str(await other_api(LIST))


async def test_a_token_names_its_organization_and_is_found_only_within_it(
    api: Api, other_api: Api, db: Database
) -> None:
    """The lookup includes organization_id (one shard in a tenant-sharded database): the
    same secret under another organization's id, or without one, authenticates nothing."""
    own = organization_of(api.token)
    async with db.read() as session:
        org = await session.scalar(
            select(models.Organization).where(models.Organization.slug == api.slug)
        )
    assert org is not None and own == org.id
    secret = api.token.split("_", 2)[2]
    other = organization_of(other_api.token)
    assert other is not None
    for forged in (f"cmg_{other.hex}_{secret}", f"cmg_{secret}", f"cmg_{own.hex}_"):
        response = await api.post(LIST, headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401, forged
    assert (await api.post(LIST)).status_code == 200
