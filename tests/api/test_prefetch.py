"""A page of clients (and one client) prefetches what its document selects, a relation and
its parents in one joined statement (api.prefetch, services.batches): the answers are those
of the loaders alone, in up to three statements fewer.

`node(id:)` resolves a client without any prefetch, field by field through the loaders: it
is the reference each client's answer is compared with, on the demo practice (coverages
that change payor, case-manager histories)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from cmgraph.api import loaders
from cmgraph.config import Settings
from tests.support import Api, StatementCounter

SELECTION = """
  id displayName
  coverages { id priority memberId effectiveFrom effectiveTo payor { id name payerId } }
  caseManagers {
    id startDate endDate serviceLine { code }
    provider { id displayName npi credentials { type } }
  }
"""
ONE = f"query($id: ID!) {{ client(id: $id) {{ {SELECTION} }} }}"
REFERENCE = f"query($id: ID!) {{ node(id: $id) {{ ... on Client {{ {SELECTION} }} }} }}"
PAGE = f"{{ clients(first: 50) {{ edges {{ node {{ {SELECTION} }} }} }} }}"
UPDATE_CREDENTIALS = """mutation($input: UpdateProviderInput!) {
  updateProvider(input: $input) { userErrors { code field message } }
}"""


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """Without a caller's budget: fifty clients, each asked twice."""
    limits = dataclasses.replace(settings.limits, requests_per_minute=0, cost_per_minute=0)
    return dataclasses.replace(settings, limits=limits)


async def test_prefetched_clients_answer_as_the_loaders_alone_in_fewer_statements(
    demo_api: Api, statements: StatementCounter
) -> None:
    page = [e["node"] for e in (await demo_api(PAGE))["clients"]["edges"]]
    # The joined read has a row per credential of each case manager's provider: one of the
    # busiest case managers holds three, another none.
    managers = Counter(m["provider"]["id"] for c in page for m in c["caseManagers"])
    (several, times), (none, _) = managers.most_common(2)
    assert times > 1  # their credentials come in a row per assignment, and count once
    for provider, credentials in ((several, ["SLP", "BCBA", "LPC"]), (none, [])):
        changed = await demo_api(
            UPDATE_CREDENTIALS,
            {"input": {"id": provider, "credentials": [{"type": t} for t in credentials]}},
        )
        assert changed["updateProvider"]["userErrors"] == []
    page = [e["node"] for e in (await demo_api(PAGE))["clients"]["edges"]]
    assert len(page) == 50
    assert any(len(c["coverages"]) > 1 for c in page)
    assert any(len({m["provider"]["id"] for m in c["caseManagers"]}) > 1 for c in page)
    held = {
        m["provider"]["id"]: m["provider"]["credentials"] for c in page for m in c["caseManagers"]
    }
    assert held[several] == [{"type": "BCBA"}, {"type": "LPC"}, {"type": "SLP"}]
    assert held[none] == []
    for client in page:
        statements.count = 0
        one = (await demo_api(ONE, {"id": client["id"]}))["client"]
        prefetched = statements.count
        statements.count, statements.sent = 0, []
        reference = (await demo_api(REFERENCE, {"id": client["id"]}))["node"]
        assert one == reference == client
        # the loaders read a payor only for a coverage; a provider and their credentials
        # only for a case manager
        saved = bool(client["coverages"]) + 2 * bool(client["caseManagers"])
        assert prefetched == statements.count - saved, (prefetched, statements.count)


async def test_aliased_clients_share_their_prefetch_statements(
    demo_api: Api, statements: StatementCounter
) -> None:
    """Each root field prefetches its own clients, and those asking in the same turn share
    one read, as the loaders alone would: six clients cost what one costs."""
    page = [e["node"] for e in (await demo_api(PAGE))["clients"]["edges"]]
    chosen = [c for c in page if c["coverages"] and c["caseManagers"]][:6]
    counts = []
    for clients in (chosen[:1], chosen):
        aliased = " ".join(
            f'c{n}: client(id: "{c["id"]}") {{ {SELECTION} }}' for n, c in enumerate(clients)
        )
        statements.count = 0
        answer = await demo_api(f"{{ {aliased} }}")
        counts.append(statements.count)
        assert [answer[f"c{n}"] for n in range(len(clients))] == clients
    assert len(chosen) == 6 and counts[0] == counts[1], counts


async def test_a_root_field_alone_reads_at_once_and_aliases_still_batch(
    demo_api: Api, statements: StatementCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A root field alone in its operation has nobody to share a batch with: its reads go
    out at once (Loaders.alone), not through the end-of-turn batch. Two such fields share
    theirs as before, and neither way takes a statement more."""
    batched: list[object] = []
    load = loaders.Groups.load

    def counted(self: loaders.Groups[object], keys: tuple[object, ...]) -> object:
        batched.append(keys)
        return load(self, keys)

    monkeypatch.setattr(loaders.Groups, "load", counted)
    page = [e["node"] for e in (await demo_api(PAGE))["clients"]["edges"]]
    chosen = [c for c in page if c["coverages"] and c["caseManagers"]][:2]
    batched.clear()
    statements.count = 0
    alone = await demo_api(ONE, {"id": chosen[0]["id"]})
    assert alone["client"] == chosen[0] and batched == []
    one_statements = statements.count
    aliased = " ".join(
        f'c{n}: client(id: "{c["id"]}") {{ {SELECTION} }}' for n, c in enumerate(chosen)
    )
    statements.count = 0
    answer = await demo_api(f"{{ {aliased} }}")
    assert [answer["c0"], answer["c1"]] == chosen and batched
    assert statements.count == one_statements
