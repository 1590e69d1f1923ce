"""CMGRAPH_TRACE_PLUGINS=1 logs every hook call: plugin, hook, payor, duration and the answer
as ids and codes, never a name or a date of birth."""

from __future__ import annotations

import json
import logging

import pytest
from kit_support import CLIENTS_DOB, add_cm, practice, session
from pytest import LogCaptureFixture, MonkeyPatch

from cmgraph import hookimpl
from cmgraph.facts import Finding, SessionCheck, Severity
from cmgraph.logs import JsonFormatter
from cmgraph.plugins import RuleBook
from cmgraph.testing import GraphQLClient, Registrar

CLAIMS = """query($client: ID) {
  claimLines(from: "2026-03-01", to: "2026-03-31", clientId: $client) { edges { node {
    modifiers findings { code }
  } } }
}"""


class NamesPeople:
    """A plugin whose finding's message quotes the client's CM by name."""

    name = "names_people"

    @hookimpl
    def cmgraph_check_session(self, check: SessionCheck) -> list[Finding]:
        who = check.case_manager_provider.display_name if check.case_manager_provider else "?"
        return [check.finding("NAMED", Severity.WARNING, f"Ask {who}.", rule="named")]

    @hookimpl
    def cmgraph_modifiers(self) -> list[str] | None:
        return ["HN"]


@pytest.fixture
def cmgraph_book(cmgraph_plugins: Registrar, monkeypatch: MonkeyPatch) -> RuleBook:
    monkeypatch.setenv("CMGRAPH_TRACE_PLUGINS", "1")
    return RuleBook(cmgraph_plugins.manager())


@pytest.mark.cmgraph_plugins(NamesPeople())
async def test_every_hook_call_is_logged_with_ids_and_codes_only(
    cmgraph_graphql: GraphQLClient, caplog: LogCaptureFixture
) -> None:
    who = await practice(cmgraph_graphql, ["names_people"])
    await cmgraph_graphql(
        "mutation($input: UpdateClientInput!) { updateClient(input: $input) { client { id } } }",
        {"input": {"id": who["client"], "dateOfBirth": CLIENTS_DOB}},
    )

    with caplog.at_level(logging.INFO, logger="cmgraph.plugins.trace"):
        assert (await add_cm(cmgraph_graphql, who))["userErrors"] == []
        await session(cmgraph_graphql, who, "2026-03-10T09:00-04:00", "2026-03-10T10:00-04:00")
        data = await cmgraph_graphql(CLAIMS, {"client": who["client"]})

    [line] = [e["node"] for e in data["claimLines"]["edges"]]
    assert line["modifiers"] == ["HN"] and {"code": "NAMED"} in line["findings"]
    traced = [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if r.name == "cmgraph.plugins.trace"
    ]
    mine = [t for t in traced if t["plugin"] == "names_people"]
    assert {t["hook"] for t in mine} == {"cmgraph_check_session", "cmgraph_modifiers"}
    modifiers = next(t for t in mine if t["hook"] == "cmgraph_modifiers")
    assert modifiers["answer"] == ["HN"] and modifiers["payor_id"]
    assert all(t["duration_ms"] >= 0 for t in traced)
    [named] = next(t for t in mine if t["hook"] == "cmgraph_check_session")["answer"]
    assert named["code"] == "NAMED" and named["client_id"]
    assert {t["plugin"] for t in traced} >= {"cmgraph", "names_people"}
    text = "\n".join(json.dumps(t) for t in traced)
    for secret in ("Ada", "Lovelace", "cm X", "Ask", CLIENTS_DOB):
        assert secret not in text, secret


def test_without_the_variable_nothing_is_traced(
    cmgraph_plugins: Registrar, caplog: LogCaptureFixture, monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.delenv("CMGRAPH_TRACE_PLUGINS", raising=False)
    book = RuleBook(cmgraph_plugins.manager())
    with caplog.at_level(logging.INFO, logger="cmgraph.plugins.trace"):
        book.rules()
    assert not [r for r in caplog.records if r.name == "cmgraph.plugins.trace"]
