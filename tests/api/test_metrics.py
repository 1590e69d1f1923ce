"""Prometheus metrics: off unless asked for, never open next to /graphql, labelled only with
what the schema accepted, and summed over every worker of `cmgraph serve --workers N`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import builders as b
import httpx
import pytest
from pytest import MonkeyPatch
from rulefacts import assignment, assignment_check, bcba, coverage, payor
from sqlalchemy import event

from cmgraph import hookimpl
from cmgraph.app import create_app
from cmgraph.config import MetricsSettings, Settings, SettingsError
from cmgraph.db.engine import Database
from cmgraph.facts import AssignmentCheck, Finding
from cmgraph.observability import metrics
from cmgraph.plugins import PluginFailed, RuleBook, build_plugin_manager
from tests.support import Api

TOKEN = "scrape-me-please-0123456789"
NAME, BIRTH = "Zebulon", "2011-07-23"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
async def metered(
    db: Database, book: RuleBook, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of an app with metrics on behind the bearer token."""
    configured = dataclasses.replace(settings, metrics=MetricsSettings(True, token=TOKEN))
    app = create_app(configured, db=db, book=book)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m") as c:
        yield c


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


async def test_metrics_are_off_by_default(api: Api) -> None:
    response = await api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404


async def test_metrics_ask_for_their_token(metered: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = await metered.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert "cmgraph_requests" not in response.text


async def test_requests_are_counted_by_operation_outcome_and_status(
    api: Api, metered: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"Bearer {api.token}"}
    before = await scrape(metered)
    for _ in range(3):
        answer = await metered.post(
            "/graphql",
            json={"query": "query CaseloadCount { clients { totalCount } }"},
            headers=headers,
        )
        assert answer.status_code == 200
    await metered.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    # a document that does not validate, named with what could be anyone's text
    await metered.post(
        "/graphql",
        json={"query": f"query {NAME}_{BIRTH.replace('-', '_')} {{ nope }}"},
        headers=headers,
    )
    await metered.post("/graphql", json={"query": "{ __typename }"})  # no token
    after = await scrape(metered)

    def grew(**labels: str) -> float:
        return sample(after, "cmgraph_requests_total", **labels) - sample(
            before, "cmgraph_requests_total", **labels
        )

    assert grew(path="/graphql", operation="CaseloadCount", outcome="ok", status="200") == 3
    assert grew(path="/graphql", operation="anonymous", outcome="ok", status="200") >= 1
    assert grew(path="/graphql", operation="none", outcome="errors", status="200") >= 1
    assert grew(path="/graphql", operation="none", outcome="unauthenticated", status="401") >= 1
    assert NAME not in after and "2011" not in after  # never the caller's text
    count = sample(
        after, "cmgraph_request_duration_seconds_count", path="/graphql", operation="CaseloadCount"
    )
    assert count >= 3
    assert "cmgraph_db_connections_open" in after and "cmgraph_db_connections_in_use" in after


async def test_refused_writes_are_counted_by_code(api: Api, metered: httpx.AsyncClient) -> None:
    client = await b.client(api, "Refused", "Write")
    provider = await b.provider(api, "No", "Credential", credentials=[])
    before = await scrape(metered)
    answer = await metered.post(
        "/graphql",
        json={
            "query": b.ADD_CASE_MANAGER,
            "variables": {
                "input": {
                    "clientId": client,
                    "serviceLine": "ABA",
                    "providerId": provider,
                    "startDate": "2026-12-01",
                }
            },
        },
        headers={"Authorization": f"Bearer {api.token}"},
    )
    codes = [e["code"] for e in answer.json()["data"]["addCaseManager"]["userErrors"]]
    assert codes
    after = await scrape(metered)
    for code in set(codes):
        grown = sample(after, "cmgraph_refusals_total", code=code) - sample(
            before, "cmgraph_refusals_total", code=code
        )
        assert grown == codes.count(code), code


@pytest.mark.usefixtures("db")  # the database made (and migrated) when run alone
async def test_the_pool_gauges_count_a_returned_connection_as_idle(database_url: str) -> None:
    """In use while checked out, idle once returned: an idle worker scrapes 0 in use."""
    metrics.enable()
    db = Database.from_url(database_url)
    metrics.watch_pool(db.engine)

    def gauges() -> tuple[float, float]:
        text = metrics.exposition().decode()
        values = dict(
            line.split(" ", 1) for line in text.splitlines() if line.startswith("cmgraph_db_conn")
        )
        return float(values["cmgraph_db_connections_in_use"]), float(
            values["cmgraph_db_connections_open"]
        )

    pool: Any = db.engine.sync_engine.pool
    records: list[Any] = []
    event.listen(pool, "checkout", lambda _dbapi, record, _proxy: records.append(record))
    try:
        async with db.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
            assert gauges() == (1, 1)
        assert gauges() == (0, 1)
        # the pool fires checkin for a connection it never lent, when a reconnect or a
        # pre-ping fails during checkout (SQLAlchemy's _checkin_failed): not counted
        pool.dispatch.checkin(records[0].dbapi_connection, records[0])
        assert gauges() == (0, 1)
    finally:
        await db.dispose()


class Broken:
    name = "broken_meter"

    @hookimpl
    def cmgraph_check_assignment(self, check: AssignmentCheck) -> list[Finding]:
        raise RuntimeError("broken")


def test_plugin_failures_are_counted_by_plugin_and_hook() -> None:
    metrics.enable()
    pm = build_plugin_manager()
    pm.register(Broken(), name=Broken.name)
    book = RuleBook(pm)
    cm, theirs = bcba(), payor("Broken Health", plugins=[Broken.name])
    check = assignment_check(
        book, assignment(cm, date(2026, 12, 1), saved=False), cm, coverages=[coverage(theirs)]
    )
    labels = {"plugin": Broken.name, "hook": "cmgraph_check_assignment"}
    before = sample(metrics.exposition().decode(), "cmgraph_plugin_failures_total", **labels)
    with pytest.raises(PluginFailed):
        book.check_assignment(check)
    after = sample(metrics.exposition().decode(), "cmgraph_plugin_failures_total", **labels)
    assert after - before == 1


def test_operation_names_are_capped_per_process(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_operation_names", set())
    monkeypatch.setattr(metrics, "MAX_OPERATION_NAMES", 2)
    assert metrics.operation_label("One", validated=True) == "One"
    assert metrics.operation_label("Two", validated=True) == "Two"
    assert metrics.operation_label("Three", validated=True) == "other"
    assert metrics.operation_label("One", validated=True) == "One"
    assert metrics.operation_label("Any", validated=False) == "none"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CMGRAPH_METRICS": "true"}, "exactly one of CMGRAPH_METRICS_TOKEN"),
        (
            {
                "CMGRAPH_METRICS": "true",
                "CMGRAPH_METRICS_TOKEN": TOKEN,
                "CMGRAPH_METRICS_PORT": "9",
            },
            "exactly one of",
        ),
        ({"CMGRAPH_METRICS": "true", "CMGRAPH_METRICS_TOKEN": "short"}, "at least 16"),
        ({"CMGRAPH_METRICS": "true", "CMGRAPH_METRICS_PORT": "70000"}, "a port"),
        ({"CMGRAPH_METRICS": "true", "CMGRAPH_METRICS_PORT": "x"}, "CMGRAPH_METRICS_PORT"),
    ],
)
def test_metrics_on_need_a_token_or_a_port_of_their_own(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_metrics_settings_are_read_from_the_environment() -> None:
    assert Settings.from_env({}).metrics == MetricsSettings()
    on = Settings.from_env({"CMGRAPH_METRICS": "1", "CMGRAPH_METRICS_PORT": "9464"}).metrics
    assert on == MetricsSettings(enabled=True, port=9464)


@pytest.mark.parametrize("given_folder", [True, False], ids=["operators-folder", "serves-own"])
def test_two_workers_are_counted_in_one_scrape(
    database_url: str, api: Api, tmp_path: Path, is_postgres: bool, given_folder: bool
) -> None:
    """`cmgraph serve --workers 2`: each worker counts the requests it serves, and one scrape
    of the metrics port sums both. With a multiprocess folder given (an operator may), the
    test sees both workers write to it; without, serve makes its own and removes it when
    stopped."""
    if not is_postgres:
        pytest.skip("several workers need PostgreSQL")
    from served import free_port, serving

    folder, temp = tmp_path / "multiproc", tmp_path / "tmp"
    folder.mkdir()
    temp.mkdir()
    port = free_port()
    env = {"CMGRAPH_METRICS": "true", "CMGRAPH_METRICS_PORT": str(port), "TMPDIR": str(temp)}
    if given_folder:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    sent = 40
    with serving(database_url, tmp_path, workers=2, env=env) as server:
        headers = {"Authorization": f"Bearer {api.token}"}
        for _ in range(sent):  # a new connection each: either worker may take it
            with httpx.Client(base_url=server.url, timeout=10) as fresh:
                answer = fresh.post(
                    "/graphql", json={"query": "query Spread { __typename }"}, headers=headers
                )
                assert answer.status_code == 200
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        not_here = httpx.get(f"{server.url}/metrics", timeout=10)
        assert not_here.status_code == 404  # never next to /graphql
        if not given_folder:
            assert next(p.name for p in temp.iterdir()).startswith("cmgraph-metrics-")
        assert server.stop(timeout=60) == 0
    counted = sample(scraped, "cmgraph_requests_total", operation="Spread", status="200")
    assert counted == sent
    if given_folder:
        writers = {p.stem.rsplit("_", 1)[1] for p in folder.glob("counter_*.db")}
        assert len(writers) == 2, sorted(p.name for p in folder.iterdir())
    else:
        assert list(temp.iterdir()) == []  # serve's own folder is gone with it
