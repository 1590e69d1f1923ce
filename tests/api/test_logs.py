"""Logs without PHI: one JSON line per request with request id, organization, principal,
role, operation name, duration and outcome; never variables, names or birth dates. The test
greps everything logged during a full scenario for the client's name and birth date."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import builders as b
import httpx
import pytest
from pytest import MonkeyPatch

from cmgraph import logs
from cmgraph.db.engine import Database
from cmgraph.logs import JsonFormatter
from tests.support import Api

NAME, SURNAME, BIRTH = "Zebulon", "Quattlebaum", "2011-07-23"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


async def test_a_full_scenario_logs_no_name_nor_birth_date(
    api: Api, other_api: Api, log_output: io.StringIO, monkeypatch: MonkeyPatch
) -> None:
    client = await b.client(api, NAME, SURNAME, dateOfBirth=BIRTH)
    await b.ok(
        api, b.UPDATE_CLIENT, {"input": {"id": client, "dateOfBirth": BIRTH}}, "updateClient"
    )
    provider = await b.provider(api, "Pru", "Provider")
    await b.case_manager(api, client, provider, "2026-01-01")
    await api(
        "query($s: String) { clients(search: $s) { edges { node { firstName dateOfBirth } } } }",
        {"s": SURNAME},
    )
    # refusals and errors that quote the input
    await api.raw(f'{{ clients(search: "{SURNAME}") {{ totalCount nope }} }}')
    await api.raw(
        'query($d: Date!) { checkCaseManager(input: {clientId: "x", serviceLine: "ABA", '
        'providerId: "y", startDate: $d}) { code } }',
        {"d": f"{NAME}-{BIRTH}"},
    )
    await other_api.raw("query($id: ID!) { client(id: $id) { firstName } }", {"id": client})
    await api.post(
        b.CREATE_CLIENT,
        {"input": {"firstName": NAME, "lastName": SURNAME}},
        headers={"Authorization": "Bearer cmg_wrong"},
    )

    from cmgraph.services import compliance

    async def broken(*args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError(f"{NAME} {SURNAME} {BIRTH}")

    monkeypatch.setattr(compliance, "findings_page", broken)
    await api.raw('{ complianceFindings(from: "2026-01-01", to: "2026-01-31") { totalCount } }')

    text = log_output.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    requests = [line for line in lines if line["message"] == "request"]
    assert len(requests) >= 10
    assert any(line.get("error_id") for line in lines)  # the internal error was logged
    for secret in (NAME, SURNAME, BIRTH, BIRTH.replace("-", "")):
        assert secret.lower() not in text.lower(), secret


async def test_each_request_logs_one_structured_line(api: Api, log_output: io.StringIO) -> None:
    response = await api.post(
        "query Caseload { clients { totalCount } }",
        headers={"Authorization": f"Bearer {api.token}", "X-Request-ID": "trace-42"},
    )
    assert response.status_code == 200
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    (line,) = [
        x for x in lines if x["message"] == "request" and x["caller_request_id"] == "trace-42"
    ]
    assert line["request_id"] == response.headers["x-request-id"] != "trace-42"
    assert line["operation"] == "Caseload"
    assert line["outcome"] == "ok" and line["status"] == 200
    assert line["role"] == "admin" and line["principal"].startswith("token:")
    assert line["organization"] and isinstance(line["duration_ms"], float)
    assert line["level"] == "info" and line["logger"] == "cmgraph.request"


async def test_the_request_id_is_the_servers_and_the_callers_is_kept_plain(
    api: Api, log_output: io.StringIO
) -> None:
    odd = await api.post(
        "{ __typename }",
        headers={"Authorization": f"Bearer {api.token}", "X-Request-ID": 'a"b\\c' + "x" * 200},
    )
    assert len(odd.headers["x-request-id"]) == 32
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    (line,) = [x for x in lines if x.get("request_id") == odd.headers["x-request-id"]]
    assert line["caller_request_id"] == "a_b_c" + "x" * 59


@pytest.mark.parametrize("workers", [1, 2])
async def test_the_served_logs_hold_no_query_string(
    db: Database, database_url: str, api: Api, tmp_path: Path, workers: int
) -> None:
    """uvicorn's access log would print each request line, query string included: a GET's
    query text and variables, or a token put in the URL. `cmgraph serve` keeps it off, with
    one worker and with several; its own request line has what is needed."""
    from served import serving

    query = f'{{ clients(search: "{SURNAME}") {{ totalCount }} }}'
    variables = json.dumps({"birth": BIRTH})
    with serving(database_url, tmp_path, workers=workers) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            await http.get("/graphql", params={"query": query, "variables": variables})
            await http.post(
                "/graphql", params={"access_token": api.token}, json={"query": "{ __typename }"}
            )
            answered = await http.post(
                "/graphql",
                params={"query": query, "access_token": api.token},
                json={"query": "{ __typename }"},
                headers={"Authorization": f"Bearer {api.token}"},
            )
            assert answered.status_code == 200
        text = server.log_text()
    assert text.count('"message": "request"') >= 3, text  # the request lines are there
    secret = api.token.split("_", 2)[2]  # cmg_<organization>_<secret>; a secret may hold "_"
    for leak in (SURNAME, BIRTH, secret, "access_token", "variables="):
        assert leak not in text, leak


async def test_every_line_of_a_request_carries_its_request_id(
    api: Api, log_output: io.StringIO, monkeypatch: MonkeyPatch
) -> None:
    """The internal error's line names the request, and the request's line names the error:
    from either, an operator finds the other."""
    from cmgraph.services import compliance

    async def broken(*args: Any, **kwargs: Any) -> NoReturn:
        logging.getLogger("cmgraph.somewhere.deep").warning("about to fail")
        raise RuntimeError("boom")

    monkeypatch.setattr(compliance, "findings_page", broken)
    response = await api.post(
        '{ complianceFindings(from: "2026-01-01", to: "2026-01-31") { totalCount } }',
        headers={"Authorization": f"Bearer {api.token}", "X-Request-ID": "trace-7"},
    )
    (error,) = response.json()["errors"]
    error_id = error["extensions"]["errorId"]
    request_id = response.headers["x-request-id"]

    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == request_id]
    messages = {line["message"] for line in mine}
    assert {"about to fail", "internal error", "request"} <= messages, messages
    assert all(line["caller_request_id"] == "trace-7" for line in mine)
    (failure,) = [line for line in mine if line["message"] == "internal error"]
    assert failure["error_id"] == error_id
    (request,) = [line for line in mine if line["message"] == "request"]
    assert request["error_ids"] == [error_id]


async def test_lines_outside_a_request_carry_no_request_id(
    api: Api, log_output: io.StringIO
) -> None:
    await api("{ __typename }")
    logging.getLogger("cmgraph.elsewhere").info("between requests")
    (line,) = [json.loads(x) for x in log_output.getvalue().splitlines() if "between requests" in x]
    assert "request_id" not in line


@pytest.mark.parametrize("answer_in", ["application/json", "application/graphql-response+json"])
async def test_an_operation_name_that_names_no_operation_is_refused_and_not_logged(
    api: Api, log_output: io.StringIO, answer_in: str
) -> None:
    smuggled = "Zebulon Quattlebaum " * 5000
    for document in ("query Caseload { clients { totalCount } }", "{ clients { totalCount } }"):
        response = await api.client.post(
            "/graphql",
            json={"query": document, "operationName": smuggled},
            headers={"Authorization": f"Bearer {api.token}", "Accept": answer_in},
        )
        assert response.status_code == (200 if answer_in == "application/json" else 400)
        body = response.json()
        assert "operationName" in body["errors"][0]["message"]
        assert not body.get("data")
        assert "Zebulon" not in response.text
    assert "Zebulon" not in log_output.getvalue()
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    requests = [x for x in lines if x["message"] == "request"]
    assert len(requests) == 2 and all(x["operation"] is None for x in requests)
    assert all(x["outcome"] == "bad_request" for x in requests)


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_configured_logs_skip_what_no_line_carries(monkeypatch: MonkeyPatch) -> None:
    # The lines carry no source file, thread nor process (JsonFormatter): configure() stops
    # logging from working them out for every record, the request line's included.
    for name in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, name, getattr(logging, name))
    for logger in map(logging.getLogger, ("", "uvicorn", "uvicorn.error", "uvicorn.access")):
        for attribute in ("handlers", "level", "propagate", "disabled"):
            value = getattr(logger, attribute)
            monkeypatch.setattr(
                logger, attribute, list(value) if attribute == "handlers" else value
            )
    root = logging.getLogger()
    logs.configure()
    kept = Kept()
    root.addHandler(kept)

    logging.getLogger("cmgraph.request").info("request", extra={"status": 200})

    (record,) = kept.records
    assert (record.funcName, record.threadName, record.processName) == (
        "(unknown function)",
        None,
        None,
    )
    line = json.loads(JsonFormatter().format(record))
    assert (line["logger"], line["message"], line["status"]) == ("cmgraph.request", "request", 200)
