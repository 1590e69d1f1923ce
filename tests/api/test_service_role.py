"""On PostgreSQL the service can run as a role that owns nothing: the owner migrates and runs
`cmgraph db grant ROLE`; the service, as ROLE, reads and writes as usual, may only read and
append audit events, and cannot disable the triggers that keep them append-only."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import builders as b
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from cmgraph.services import tenants


class Api:
    """The builders' view of an organization: its token and a GraphQL call."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client, self.token = client, token

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, response.text
        return body["data"]


def grant(url: str, role: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CMGRAPH_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "cmgraph.cli", "db", "grant", role],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
async def service_db(db: Database, database_url: str, is_postgres: bool) -> AsyncIterator[Database]:
    """The suite's database as a fresh login role that owns nothing, granted by the command."""
    if not is_postgres:
        pytest.skip("roles and grants are PostgreSQL's")
    role = f"cmgraph_service_{uuid.uuid4().hex[:8]}"
    async with db.engine.connect() as owner:
        await owner.execute(text(f"CREATE ROLE {role} LOGIN"))
        await owner.commit()
    try:
        done = grant(database_url, role)
        assert done.returncode == 0, done.stderr
        assert "change_records: SELECT and INSERT only" in done.stdout
        url = make_url(database_url).set(username=role, password=None)
        service = Database.from_url(url.render_as_string(hide_password=False))
        yield service
        await service.dispose()
    finally:
        async with db.engine.connect() as owner:
            await owner.execute(text(f"DROP OWNED BY {role}"))  # its privileges
            await owner.execute(text(f"DROP ROLE {role}"))
            await owner.commit()


async def test_the_service_works_as_a_role_that_owns_nothing(
    service_db: Database, book: RuleBook, settings: Settings
) -> None:
    slug = f"t-{uuid.uuid4().hex[:12]}"
    # the command line as the service role, too
    await tenants.create_organization(service_db, "Practice", slug, "America/Chicago")
    token = await tenants.create_token(service_db, slug, "admin")
    app = create_app(dataclasses.replace(settings), db=service_db, book=book)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        api = Api(http, token)
        client = await b.client(api, "Rolf", "Role")
        await b.ok(api, b.UPDATE_CLIENT, {"input": {"id": client, "lastName": "R"}}, "updateClient")
        provider = await b.provider(api)
        await b.case_manager(api, client, provider, "2026-01-01")
        keyed = await api.client.post(
            "/graphql",
            json={
                "query": b.CREATE_CLIENT,
                "variables": {"input": {"firstName": "K", "lastName": "Key"}},
            },
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "role-1"},
        )
        assert keyed.status_code == 200 and "errors" not in keyed.json(), keyed.text
        data = await api("{ clients { totalCount } auditEvents(first: 50) { totalCount } }")
    assert data["clients"]["totalCount"] == 2
    assert data["auditEvents"]["totalCount"] >= 5


REFUSED = [
    "ALTER TABLE change_records DISABLE TRIGGER change_records_append_only",
    "ALTER TABLE change_records DISABLE TRIGGER ALL",
    "DROP TRIGGER change_records_append_only ON change_records",
    "UPDATE change_records SET actor = 'someone else'",
    "DELETE FROM change_records",
    "TRUNCATE change_records",
    "DROP TABLE change_records",
    "CREATE TABLE change_records_copy (id int)",
    "UPDATE alembic_version SET version_num = 'x'",
]


async def test_the_service_role_cannot_rewrite_nor_unguard_the_audit_trail(
    service_db: Database,
) -> None:
    async with service_db.engine.connect() as connection:
        for statement in REFUSED:
            with pytest.raises(DBAPIError, match=r"must be owner|permission denied"):
                await connection.execute(text(statement))
            await connection.rollback()


def test_grant_names_a_role_that_exists(database_url: str, is_postgres: bool) -> None:
    if not is_postgres:
        done = grant(database_url, "anyone")
        assert done.returncode == 1 and "PostgreSQL" in done.stderr
        return
    done = grant(database_url, f"no_such_role_{uuid.uuid4().hex[:8]}")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "create it first" in done.stderr
