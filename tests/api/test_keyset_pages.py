"""Keyset cursors of clients, providers, claim lines and compliance findings: a row inserted
or deleted between two pages is neither skipped nor repeated, a deep page costs what the
first costs (no OFFSET), and a cursor of an earlier version (an offset) or of another
connection is refused, never answered with a wrong page."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import builders as b
import pytest

from cmgraph.services import compliance, findings
from tests.support import Api, StatementCounter

PEOPLE = {
    "clients": """query($search: String, $first: Int, $after: String) {
      clients(search: $search, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { id displayName } } } }""",
    "providers": """query($search: String, $first: Int, $after: String) {
      providers(search: $search, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { id displayName } } } }""",
}
SESSIONS = {
    "claimLines": """query($from: Date!, $to: Date!, $first: Int, $after: String) {
      claimLines(from: $from, to: $to, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { appointment { id startsAt } } } } }""",
    "complianceFindings": """query($from: Date!, $to: Date!, $first: Int, $after: String) {
      complianceFindings(from: $from, to: $to, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { code client { id } appointment { id startsAt } } } } }""",
}
FEBRUARY = {"from": "2026-02-01", "to": "2026-02-28"}


async def page(api: Api, connection: str, **variables: Any) -> dict[str, Any]:
    query = PEOPLE.get(connection) or SESSIONS[connection]
    return cast("dict[str, Any]", (await api(query, variables))[connection])


def names(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["displayName"] for e in connection["edges"]]


def starts(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["appointment"]["startsAt"] for e in connection["edges"]]


# --- clients and providers: by last name, first name, id --------------------------------------

Create = Callable[[Api, str, str], Awaitable[str]]


async def _client(api: Api, first: str, last: str) -> str:
    return await b.client(api, first, last)


async def _provider(api: Api, first: str, last: str) -> str:
    return await b.provider(api, first, last)


async def _rename(api: Api, connection: str, id: str, first: str) -> None:
    if connection == "clients":
        await b.ok(api, b.UPDATE_CLIENT, {"input": {"id": id, "firstName": first}}, "updateClient")
    else:
        mutation, payload = b.UPDATE_PROVIDER, "updateProvider"
        await b.ok(api, mutation, {"input": {"id": id, "firstName": first}}, payload)


CREATE: dict[str, Create] = {"clients": _client, "providers": _provider}


@pytest.mark.parametrize("connection", ["clients", "providers"])
async def test_people_inserted_between_pages_are_neither_skipped_nor_repeated(
    api: Api, connection: str
) -> None:
    for last in ("Brown", "Chen", "Diaz", "Evans"):
        await CREATE[connection](api, "Kim", last)
    first = await page(api, connection, search="kim", first=2)
    assert names(first) == ["Kim Brown", "Kim Chen"]

    # One before the cursor (an offset would show Kim Chen again), one after it.
    await CREATE[connection](api, "Kim", "Avery")
    await CREATE[connection](api, "Kim", "Cole")
    second = await page(
        api, connection, search="kim", first=2, after=first["pageInfo"]["endCursor"]
    )
    third = await page(
        api, connection, search="kim", first=2, after=second["pageInfo"]["endCursor"]
    )

    assert names(second) == ["Kim Cole", "Kim Diaz"]
    assert names(third) == ["Kim Evans"]
    assert second["totalCount"] == 6
    assert second["pageInfo"]["hasPreviousPage"] and not third["pageInfo"]["hasNextPage"]


@pytest.mark.parametrize("connection", ["clients", "providers"])
async def test_people_leaving_the_list_between_pages_skip_no_one(api: Api, connection: str) -> None:
    ids = {
        last: await CREATE[connection](api, "Kim", last)
        for last in ("Avery", "Brown", "Chen", "Diaz", "Evans")
    }
    first = await page(api, connection, search="kim", first=2)
    assert names(first) == ["Kim Avery", "Kim Brown"]

    # Renamed out of the search: one before the cursor (an offset would skip Kim Chen), one
    # after it.
    await _rename(api, connection, ids["Avery"], "Zed")
    await _rename(api, connection, ids["Diaz"], "Zed")
    second = await page(
        api, connection, search="kim", first=2, after=first["pageInfo"]["endCursor"]
    )

    assert names(second) == ["Kim Chen", "Kim Evans"]
    assert not second["pageInfo"]["hasNextPage"]
    assert second["totalCount"] == 3


async def test_namesakes_page_by_id_none_lost(api: Api) -> None:
    """Equal names are told apart by the id, the tie-breaker of the keyset."""
    ids = sorted([await b.client(api, "Sam", "Same") for _ in range(5)])
    seen: list[str] = []
    after = None
    for _ in range(5):
        found = await page(api, "clients", first=1, after=after)
        seen += [e["node"]["id"] for e in found["edges"]]
        after = found["pageInfo"]["endCursor"]
    assert sorted(seen) == ids and len(set(seen)) == 5


# --- claim lines and compliance findings: by date of service, start, session ------------------


async def _session(api: Api, client: str, provider: str, day: int, hour: int = 9) -> str:
    at = f"2026-02-{day:02d}T{hour:02d}:00:00-05:00"
    until = f"2026-02-{day:02d}T{hour:02d}:59:00-05:00"
    data = await b.appointment(api, client, provider, at, until)
    return cast("str", data["appointment"]["id"])


def at(day: int, hour: int = 9) -> str:
    return f"2026-02-{day:02d}T{hour:02d}:00:00-05:00"


def judge_live(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compliance findings judged live (as while rules change), not read from stored ones."""

    async def cannot_answer(*_: Any) -> None:
        return None

    monkeypatch.setattr(findings, "stored", cannot_answer)


# Each connection over sessions; compliance findings both stored and judged live.
OVER_SESSIONS = [
    ("claimLines", "live"),
    ("complianceFindings", "stored"),
    ("complianceFindings", "live"),
]
JUDGED = ["stored", "live"]


@pytest.fixture(params=OVER_SESSIONS, ids=lambda p: "-".join(p))
def connection(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    kind, judged = request.param
    if kind == "complianceFindings" and judged == "live":
        judge_live(monkeypatch)
    return cast("str", kind)


async def test_sessions_inserted_between_pages_are_neither_skipped_nor_repeated(
    api: Api, connection: str
) -> None:
    """Each session without a case manager is a claim line and a NO_CASE_MANAGER finding."""
    client, provider = await b.client(api), await b.provider(api)
    for day in range(10, 15):
        await _session(api, client, provider, day)
    first = await page(api, connection, **FEBRUARY, first=2)
    assert starts(first) == [at(10), at(11)]

    await _session(api, client, provider, 9)  # before the cursor: an offset repeats the 11th
    await _session(api, client, provider, 12, hour=14)  # after it
    second = await page(api, connection, **FEBRUARY, first=2, after=first["pageInfo"]["endCursor"])
    rest = await page(api, connection, **FEBRUARY, first=9, after=second["pageInfo"]["endCursor"])

    assert starts(second) == [at(12), at(12, hour=14)]
    assert starts(rest) == [at(13), at(14)]
    assert second["totalCount"] == 7
    assert not rest["pageInfo"]["hasNextPage"]


async def test_sessions_cancelled_between_pages_skip_nothing(api: Api, connection: str) -> None:
    client, provider = await b.client(api), await b.provider(api)
    ids = {day: await _session(api, client, provider, day) for day in range(10, 16)}
    first = await page(api, connection, **FEBRUARY, first=2)
    assert starts(first) == [at(10), at(11)]

    await b.set_status(api, ids[10], "CANCELLED")  # before the cursor: an offset skips the 12th
    await b.set_status(api, ids[13], "CANCELLED")  # after it
    second = await page(api, connection, **FEBRUARY, first=2, after=first["pageInfo"]["endCursor"])

    assert starts(second) == [at(12), at(14)]
    assert second["pageInfo"]["hasNextPage"]
    assert second["totalCount"] == 4


def today() -> date:
    return datetime.now(ZoneInfo("America/New_York")).date()


async def _expiring_case(api: Api, since: date, name: str) -> str:
    """A client whose current case manager's BCBA expires in 30 days (CREDENTIAL_EXPIRING),
    and who has one session without a case manager before that (NO_CASE_MANAGER)."""
    client = await b.client(api, "Eve", name)
    payor = await b.payor(api, f"Payor {name}")
    await b.coverage(api, client, payor, (since - timedelta(days=400)).isoformat())
    credential = {"type": "BCBA", "expiresOn": (today() + timedelta(days=30)).isoformat()}
    data = await b.ok(
        api,
        b.CREATE_PROVIDER,
        {
            "input": {
                "firstName": "Cm",
                "lastName": name,
                "npi": b.next_npi(),
                "credentials": [credential],
            }
        },
        "createProvider",
    )
    provider = data["provider"]["id"]
    await b.enrollment(
        api, provider, payor, effective_from=(since - timedelta(days=400)).isoformat()
    )
    uncovered = datetime.combine(since - timedelta(days=3), datetime.min.time()).replace(hour=9)
    await b.appointment(
        api,
        client,
        provider,
        uncovered.replace(tzinfo=ZoneInfo("America/New_York")).isoformat(),
        uncovered.replace(hour=10, tzinfo=ZoneInfo("America/New_York")).isoformat(),
    )
    await b.case_manager(api, client, provider, since.isoformat())
    return client


@pytest.mark.parametrize("judged", JUDGED)
async def test_findings_page_from_sessions_into_expiry_warnings_and_past_a_new_one(
    api: Api, monkeypatch: pytest.MonkeyPatch, judged: str
) -> None:
    """Expiry warnings are computed when read and follow every session's findings, by client
    and assignment: paging one at a time crosses into them, and a warning that appears
    between two pages repeats and skips nothing else."""
    if judged == "live":
        judge_live(monkeypatch)
    since = today() - timedelta(days=20)
    window = {"from": (since - timedelta(days=10)).isoformat(), "to": today().isoformat()}
    for name in ("One", "Two", "Three"):
        await _expiring_case(api, since, name)
    everything = await page(api, "complianceFindings", **window, first=50)
    codes = [e["node"]["code"] for e in everything["edges"]]
    assert codes == ["NO_CASE_MANAGER"] * 3 + ["CREDENTIAL_EXPIRING"] * 3
    keys = [(e["node"]["code"], e["node"]["client"]["id"]) for e in everything["edges"]]

    seen: list[tuple[str, str]] = []
    after = None
    while True:
        found = await page(api, "complianceFindings", **window, first=1, after=after)
        seen += [(e["node"]["code"], e["node"]["client"]["id"]) for e in found["edges"]]
        if len(seen) == 4:  # the cursor now stands in the expiry warnings
            added = await _expiring_case(api, since, "Four")
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]

    late = [("NO_CASE_MANAGER", added), ("CREDENTIAL_EXPIRING", added)]
    assert [k for k in seen if k not in late] == keys, "a finding skipped or repeated"
    assert ("NO_CASE_MANAGER", added) not in seen  # it sorts before the cursor
    assert len(seen) == len(set(seen))


# --- a deep page costs what the first costs ---------------------------------------------------


async def _fill(api: Api, connection: str) -> dict[str, Any]:
    """Seven rows of the connection; the variables that list them."""
    if connection in PEOPLE:
        for last in ("Avery", "Brown", "Chen", "Diaz", "Evans", "Ford", "Gray"):
            await CREATE[connection](api, "Kim", last)
        return {}
    client, provider = await b.client(api), await b.provider(api)
    for day in range(10, 17):
        await _session(api, client, provider, day)
    return dict(FEBRUARY)


@pytest.mark.parametrize(
    ("kind", "judged"),
    [("clients", None), ("providers", None), *OVER_SESSIONS],
    ids=["clients", "providers", *("-".join(p) for p in OVER_SESSIONS)],
)
async def test_a_deep_page_sends_what_the_page_before_sent_and_no_offset(
    api: Api,
    statements: StatementCounter,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    judged: str | None,
) -> None:
    if kind == "complianceFindings" and judged == "live":
        judge_live(monkeypatch)
    variables = await _fill(api, kind)

    async def sent(after: str | None) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
        before = len(statements.sent)
        found = await page(api, kind, **variables, first=2, after=after)
        return found, statements.sent[before:]

    first, on_first = await sent(None)
    second, on_second = await sent(first["pageInfo"]["endCursor"])
    third, on_third = await sent(second["pageInfo"]["endCursor"])

    assert len(third["edges"]) == 2 and third["pageInfo"]["hasNextPage"]
    # A deeper page costs what the one before it cost; the first may cost less (clients and
    # providers count their total in the first page's own statement).
    assert len(on_third) == len(on_second) >= len(on_first), (on_first, on_second, on_third)
    assert StatementCounter.skipping(on_first + on_second + on_third) == []
    if kind == "complianceFindings":
        reads_stored = any(re.search(r"\bFROM findings\b", t) for t, _ in on_third)
        assert reads_stored == (judged == "stored")


# --- cursors that are not this connection's ---------------------------------------------------

QUERIES = {**PEOPLE, **SESSIONS}


def _keyset(*values: Any) -> str:
    return base64.urlsafe_b64encode(("k1:" + json.dumps(values)).encode()).decode()


async def _refused(api: Api, connection: str, after: str) -> dict[str, Any]:
    body = await api.raw(QUERIES[connection], {**FEBRUARY, "after": after})
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["field"] == ["after"]
    return cast("dict[str, Any]", error)


@pytest.mark.parametrize("connection", list(QUERIES))
async def test_an_offset_cursor_of_an_earlier_version_is_refused_not_a_wrong_page(
    api: Api, connection: str
) -> None:
    await _fill(api, connection)
    held = base64.urlsafe_b64encode(b"cursor:1").decode()  # what version <= 0.x handed out

    error = await _refused(api, connection, held)

    assert "offset cursor of an earlier version" in error["message"]


@pytest.mark.parametrize(
    ("connection", "after"),
    [
        ("clients", _keyset("providers", "Kim", "Avery", "00000000-0000-0000-0000-000000000001")),
        ("providers", _keyset("providers", "Kim", "Avery", "not a uuid")),
        ("providers", _keyset("providers", "Kim", 7, "00000000-0000-0000-0000-000000000001")),
        (
            "claimLines",
            _keyset(
                "claimLines",
                "2026-02-30",
                "2026-02-10T14:00:00+00:00",
                "00000000-0000-0000-0000-000000000001",
            ),
        ),
        (
            "claimLines",
            _keyset(
                "claimLines",
                "2026-02-10",
                "2026-02-10T14:00:00",
                "00000000-0000-0000-0000-000000000001",
            ),
        ),
        ("claimLines", _keyset("claimLines", "2026-02-10", "2026-02-10T14:00:00+00:00")),
        (
            "complianceFindings",
            _keyset(
                "claimLines",
                "2026-02-10",
                "2026-02-10T14:00:00+00:00",
                "00000000-0000-0000-0000-000000000001",
            ),
        ),
        (
            "complianceFindings",
            _keyset("complianceFindings.expiring", "00000000-0000-0000-0000-000000000001", "x", 0),
        ),
        (
            "complianceFindings",
            _keyset(
                "complianceFindings",
                "2026-02-10",
                "2026-02-10T14:00:00+00:00",
                "00000000-0000-0000-0000-000000000001",
                -1,
            ),
        ),
        ("complianceFindings", "not base64 at all"),
    ],
    ids=[
        "another-connection",
        "bad-id",
        "bad-type",
        "bad-date",
        "naive-time",
        "short",
        "claim-line-cursor",
        "bad-expiring",
        "negative",
        "garbage",
    ],
)
async def test_a_cursor_not_made_for_the_connection_is_refused(
    api: Api, connection: str, after: str
) -> None:
    error = await _refused(api, connection, after)

    assert "Malformed cursor" in error["message"]


async def test_a_deep_page_judged_live_starts_on_its_cursors_day(
    api: Api, statements: StatementCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judged live (no stored findings), a page judges from the day its cursor stands on,
    not from the window's start: one day per batch here, so judging from the start would
    send more statements on every later page."""
    judge_live(monkeypatch)
    monkeypatch.setattr(compliance, "SESSIONS_PER_BATCH", 1)
    client, provider = await b.client(api), await b.provider(api)
    for day in range(10, 22):
        await _session(api, client, provider, day)
    query = """query($from: Date!, $to: Date!, $after: String) {
      complianceFindings(from: $from, to: $to, first: 2, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { date } } } }"""

    sent, dates, after = [], [], None
    for _ in range(5):
        before = statements.count
        found = (await api(query, {**FEBRUARY, "after": after}))["complianceFindings"]
        sent.append(statements.count - before)
        dates += [e["node"]["date"] for e in found["edges"]]
        after = found["pageInfo"]["endCursor"]

    assert dates == [f"2026-02-{day}" for day in range(10, 20)]
    assert len(set(sent[1:])) == 1, f"statements per page grow with depth: {sent}"
