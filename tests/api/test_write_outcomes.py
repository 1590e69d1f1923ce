"""A 503 never hides a committed write. A connection lost at the COMMIT leaves the outcome
unknown: the answer is 503 OUTCOME_UNKNOWN (not UNAVAILABLE, which says nothing was
written), and the retry under the same Idempotency-Key answers what happened: it runs when
nothing was committed, and answers from the write's record when it was (never
IDEMPOTENCY_RESPONSE_LOST). A write that committed before the request failed is answered
OUTCOME_UNKNOWN too, keyed or not."""

from __future__ import annotations

from typing import Any

import helpers as h
import httpx
import pytest
from faults_support import client_of
from idempotency_support import count, new_client, send
from proxy import proxy_to
from sqlalchemy import exc as sa_exc

from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from tests.support import Api

WITH_FINDINGS = """mutation($input: CreateClientInput!) {
  createClient(input: $input) { client { id lastName findings { code } } userErrors { code } }
}"""


def assert_outcome_unknown(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["OUTCOME_UNKNOWN"]
    assert "Idempotency-Key" in body["errors"][0]["message"]


@pytest.fixture
def postgres_url(database_url: str, is_postgres: bool) -> str:
    if not is_postgres:
        pytest.skip("a connection cut at the COMMIT needs PostgreSQL's network protocol")
    return database_url


@pytest.mark.parametrize("delivered", [False, True], ids=["commit-lost", "answer-lost"])
async def test_a_commit_cut_on_postgresql_is_outcome_unknown_and_the_keyed_retry_settles_it(
    api: Api, settings: Settings, book: RuleBook, postgres_url: str, delivered: bool
) -> None:
    """The proxy cuts the write's connection exactly at its COMMIT: before PostgreSQL got it
    (nothing committed), or after PostgreSQL answered it (committed, the answer lost)."""
    name = "Delivered" if delivered else "Undelivered"
    async with proxy_to(postgres_url) as proxy:
        through = Database.from_url(proxy.url(postgres_url))
        try:
            async with client_of(create_app(settings, db=through, book=book)) as client:
                proxy.cut_at_commit(b"INSERT INTO clients", delivered=delivered)
                cut = await send(client, api.token, f"cut-{name}", variables=new_client(name))
                assert proxy.commits_cut == 1
                assert_outcome_unknown(cut)
                assert await count(api, name) == (1 if delivered else 0)

                retry = await send(client, api.token, f"cut-{name}", variables=new_client(name))
                assert retry.status_code == 200, retry.text
                assert "idempotent-replayed" not in retry.headers
                answered = retry.json()["data"]["createClient"]
                assert answered["client"]["lastName"] == name and answered["userErrors"] == []
                assert await count(api, name) == 1  # run once: now, or by the cut request
        finally:
            await through.dispose()


async def test_an_unkeyed_write_committed_before_its_answer_was_lost_is_not_called_unavailable(
    api: Api, settings: Settings, book: RuleBook, postgres_url: str
) -> None:
    async with proxy_to(postgres_url) as proxy:
        through = Database.from_url(proxy.url(postgres_url))
        try:
            async with client_of(create_app(settings, db=through, book=book)) as client:
                proxy.cut_at_commit(b"INSERT INTO clients", delivered=True)
                cut = await send(client, api.token, None, variables=new_client("Unkeyed"))
                assert_outcome_unknown(cut)
        finally:
            await through.dispose()
    assert await count(api, "Unkeyed") == 1


class ReadsFailAfterAClientIsWritten(Database):
    """The write commits; then the database fails (every read is refused as an I/O error)
    while the answer is read back: a committed write whose answer cannot be made. SQLite's
    equivalent of an answer lost after the COMMIT; on both databases."""

    down = False
    written: type[models.Base] = models.Client

    def write(self) -> Any:
        session = super().write()
        commit = session.commit

        async def committing() -> None:
            await session.flush()
            wrote = any(isinstance(row, self.written) for row in session.identity_map.values())
            await commit()
            self.down = self.down or wrote

        session.commit = committing  # type: ignore[method-assign]
        return session

    def read(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse_when_down()
        return super().read(*args, **kwargs)

    def read_connection(self) -> Any:
        # the answer's Core reads take no session: they fail at their connection
        self._refuse_when_down()
        return super().read_connection()

    def _refuse_when_down(self) -> None:
        if self.down:
            raise sa_exc.OperationalError("SELECT", {}, OSError("disk I/O error"))


@pytest.mark.parametrize("keyed", [True, False])
async def test_a_write_committed_before_the_database_failed_is_answered_outcome_unknown(
    api: Api, db: Database, settings: Settings, book: RuleBook, keyed: bool
) -> None:
    failing = ReadsFailAfterAClientIsWritten(db.engine)
    key = "after-commit" if keyed else None
    async with client_of(create_app(settings, db=failing, book=book)) as client:
        lost = await send(client, api.token, key, WITH_FINDINGS, new_client("Committed"))
    assert failing.down
    assert_outcome_unknown(lost)
    assert await count(api, "Committed") == 1
    if not keyed:
        return
    async with client_of(create_app(settings, db=db, book=book)) as client:
        retry = await send(client, api.token, key, WITH_FINDINGS, new_client("Committed"))
        assert retry.status_code == 200, retry.text
        answered = retry.json()["data"]["createClient"]
        assert answered["client"]["lastName"] == "Committed" and answered["userErrors"] == []
        assert answered["client"]["findings"] == []
        again = await send(client, api.token, key, WITH_FINDINGS, new_client("Committed"))
        assert again.headers["idempotent-replayed"] == "true" and again.json() == retry.json()
    assert await count(api, "Committed") == 1


class ReadsFailAfterAnAssignmentIsWritten(ReadsFailAfterAClientIsWritten):
    written = models.Assignment


async def test_a_change_whose_answer_was_lost_is_answered_from_its_record(
    api: Api, db: Database, settings: Settings, book: RuleBook
) -> None:
    """Its record holds both assignments (the one it ended, the one it made) and the
    warnings; the retry's answer is made from them, and nothing is changed twice."""
    case = await h.credentialed_case(api)
    await h.assign(api, h.cm_input(case, "2026-03-01"))
    successor = await h.credentialed_bcba(api, case.payor, "Next", "Manager")
    change = {"input": h.cm_input(case, "2026-04-01", successor, note="answer lost")}
    failing = ReadsFailAfterAnAssignmentIsWritten(db.engine)
    async with client_of(create_app(settings, db=failing, book=book)) as client:
        lost = await send(client, api.token, "change", h.CHANGE, change)
    assert_outcome_unknown(lost)
    async with client_of(create_app(settings, db=db, book=book)) as client:
        retry = await send(client, api.token, "change", h.CHANGE, change)
    assert retry.status_code == 200, retry.text
    answered = retry.json()["data"]["changeCaseManager"]
    assert answered["userErrors"] == []
    assert answered["ended"]["endDate"] == "2026-03-31"
    assert answered["caseManager"]["note"] == "answer lost"
    assert answered["caseManager"]["startDate"] == "2026-04-01"
    history = await h.case_managers(api, case.client)
    assert sorted((a["startDate"], a["endDate"]) for a in history) == [
        ("2026-03-01", "2026-03-31"),
        ("2026-04-01", None),
    ]


TWO_CLIENTS = """mutation($a: CreateClientInput!, $b: CreateClientInput!) {
  first: createClient(input: $a) { client { id lastName } userErrors { code } }
  second: createClient(input: $b) { client { id lastName } userErrors { code } }
}"""


class SecondClientCommitFails(Database):
    """The connection drops as the client named Second is about to be committed."""

    def write(self) -> Any:
        session = super().write()
        commit = session.commit

        async def committing() -> None:
            await session.flush()
            for row in session.identity_map.values():
                if isinstance(row, models.Client) and row.last_name == "Second":
                    raise ConnectionResetError("connection lost while committing")
            await commit()

        session.commit = committing  # type: ignore[method-assign]
        return session


async def test_of_two_writes_in_one_request_the_retry_answers_the_committed_one_and_runs_the_other(
    api: Api, db: Database, settings: Settings, book: RuleBook
) -> None:
    variables = {"a": new_client("First")["input"], "b": new_client("Second")["input"]}
    failing = SecondClientCommitFails(db.engine)
    async with client_of(create_app(settings, db=failing, book=book)) as client:
        cut = await send(client, api.token, "two", TWO_CLIENTS, variables)
    assert_outcome_unknown(cut)  # the first had committed
    assert (await count(api, "First"), await count(api, "Second")) == (1, 0)
    async with client_of(create_app(settings, db=db, book=book)) as client:
        retry = await send(client, api.token, "two", TWO_CLIENTS, variables)
    assert retry.status_code == 200, retry.text
    data = retry.json()["data"]
    assert data["first"]["client"]["lastName"] == "First"
    assert data["second"]["client"]["lastName"] == "Second"
    assert (await count(api, "First"), await count(api, "Second")) == (1, 1)
