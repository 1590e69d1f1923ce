"""Heavy reports take turns (web.reports): at most CMGRAPH_CONCURRENT_REPORTS of them run at
once in a process, the others wait in the order they came; small reports and other queries
never wait behind them; a client that leaves while waiting leaves the queue."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import orjson
from pytest import MonkeyPatch
from test_departure import Sent, post_then_leave

from cmgraph.api.cost import HEAVY_REPORT_WORK, REPORT_DAY_COST, Work
from cmgraph.api.document import analyzed
from cmgraph.api.schema import build_schema
from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from cmgraph.services import compliance
from tests.support import Api

YEAR = '{ complianceFindings(from: "2026-01-01", to: "2026-12-31", first: 0) { totalCount } }'
DAY = '{ complianceFindings(from: "2026-03-02", to: "2026-03-02", first: 0) { totalCount } }'
CLIENTS = "{ clients(first: 1) { totalCount } }"


class HeldReports:
    """compliance.findings_page replaced: each call is noted when it starts, and held until
    released, then answered by the real one."""

    def __init__(self, monkeypatch: MonkeyPatch, stubborn: bool = False) -> None:
        """`stubborn`: a held report holds its turn until released even when its budget
        stops it (as a long step that does not await would)."""
        self.started: list[str] = []
        self._release: dict[str, asyncio.Event] = {}
        self._reached: dict[int, asyncio.Event] = {}  # by how many have started
        real = compliance.findings_page

        async def held(scope: Any, since: Any, to: Any, *args: Any, **kwargs: Any) -> Any:
            name = f"{since}..{to}#{len([s for s in self.started if s.startswith(str(since))])}"
            self.started.append(name)
            for count, reached in self._reached.items():
                if len(self.started) >= count:
                    reached.set()
            release = self._release.setdefault(name, asyncio.Event())
            try:
                await release.wait()
            except asyncio.CancelledError:
                if not stubborn:
                    raise
                await release.wait()
                raise
            return await real(scope, since, to, *args, **kwargs)

        monkeypatch.setattr(compliance, "findings_page", held)

    def release(self, name: str) -> None:
        self._release.setdefault(name, asyncio.Event()).set()

    async def until_started(self, count: int) -> None:
        reached = self._reached.setdefault(count, asyncio.Event())
        if len(self.started) < count:
            await asyncio.wait_for(reached.wait(), 5)


def one_at_a_time(settings: Settings) -> Settings:
    """One heavy report at a time, and no per-caller budget: it would refuse the one test
    token's second report at once (429, one report at a time per caller), and the queue is
    for the reports of many callers."""
    limits = dataclasses.replace(settings.limits, concurrent_reports=1, requests_per_minute=0)
    return dataclasses.replace(settings, limits=limits)


def ask(app: Any, api: Api, query: str, leave: asyncio.Event | None = None) -> asyncio.Task[Sent]:
    return asyncio.create_task(
        post_then_leave(app, api.token, {"query": query}, leave or asyncio.Event())
    )


async def holding_the_turn(app: Any, api: Api, held: HeldReports) -> asyncio.Task[Sent]:
    """A year's report, started and held: it has the one turn."""
    first = ask(app, api, YEAR)
    await held.until_started(1)
    return first


def status_and_body(sent: Sent) -> tuple[int, dict[str, Any]]:
    return sent[0]["status"], orjson.loads(sent[1]["body"])


async def test_heavy_reports_take_turns_and_small_queries_do_not_wait(
    api: Api, db: Database, book: RuleBook, settings: Settings, monkeypatch: MonkeyPatch
) -> None:
    held = HeldReports(monkeypatch)
    app = create_app(one_at_a_time(settings), db=db, book=book)

    first = await holding_the_turn(app, api, held)
    second = ask(app, api, YEAR)
    small = ask(app, api, DAY)  # a day's report: not heavy, it does not queue
    await held.until_started(2)
    status, body = status_and_body(await asyncio.wait_for(ask(app, api, CLIENTS), 5))
    assert (status, body["data"]["clients"]["totalCount"] >= 0) == (200, True)
    await asyncio.sleep(0.1)
    assert held.started == ["2026-01-01..2026-12-31#0", "2026-03-02..2026-03-02#0"]

    held.release("2026-03-02..2026-03-02#0")
    assert status_and_body(await asyncio.wait_for(small, 5))[0] == 200
    held.release("2026-01-01..2026-12-31#0")
    assert status_and_body(await asyncio.wait_for(first, 5))[0] == 200
    await held.until_started(3)  # the second report's turn came once the first was answered
    assert held.started[2] == "2026-01-01..2026-12-31#1"
    held.release("2026-01-01..2026-12-31#1")
    assert status_and_body(await asyncio.wait_for(second, 5))[0] == 200


async def test_a_client_that_leaves_while_waiting_leaves_the_queue(
    api: Api, db: Database, book: RuleBook, settings: Settings, monkeypatch: MonkeyPatch
) -> None:
    held = HeldReports(monkeypatch)
    app = create_app(one_at_a_time(settings), db=db, book=book)
    first = await holding_the_turn(app, api, held)
    leave = asyncio.Event()
    waiting = ask(app, api, YEAR, leave)
    await asyncio.sleep(0.05)

    leave.set()
    status, body = status_and_body(await asyncio.wait_for(waiting, 5))
    assert (status, body["errors"][0]["extensions"]["code"]) == (499, "CLIENT_GONE")
    assert len(held.started) == 1  # it never ran

    held.release("2026-01-01..2026-12-31#0")
    assert status_and_body(await asyncio.wait_for(first, 5))[0] == 200
    after = ask(app, api, YEAR)  # the turn it left is not lost
    await held.until_started(2)
    held.release("2026-01-01..2026-12-31#1")
    assert status_and_body(await asyncio.wait_for(after, 5))[0] == 200


async def test_without_a_limit_heavy_reports_run_together(
    api: Api, db: Database, book: RuleBook, settings: Settings, monkeypatch: MonkeyPatch
) -> None:
    """CMGRAPH_CONCURRENT_REPORTS=0: no turns, the second report starts beside the first."""
    assert Settings.from_env({"CMGRAPH_CONCURRENT_REPORTS": "0"}).limits.concurrent_reports == 0
    held = HeldReports(monkeypatch)
    unlimited = one_at_a_time(settings)
    unlimited = dataclasses.replace(
        unlimited, limits=dataclasses.replace(unlimited.limits, concurrent_reports=0)
    )
    app = create_app(unlimited, db=db, book=book)
    first = await holding_the_turn(app, api, held)
    second = ask(app, api, YEAR)

    await held.until_started(2)
    held.release("2026-01-01..2026-12-31#1")
    assert status_and_body(await asyncio.wait_for(second, 5))[0] == 200
    held.release("2026-01-01..2026-12-31#0")
    assert status_and_body(await asyncio.wait_for(first, 5))[0] == 200


def test_a_report_is_heavy_from_ten_days_or_sixty_rendering_questions() -> None:
    schema = build_schema()._schema

    def work(query: str, variables: dict[str, Any] | None = None) -> int:
        operation = analyzed(schema, query, None).operation(None)
        assert operation is not None
        return operation.cost.report_work(variables, 366)

    window = '{ claimLines(from: "2026-03-01", to: "2026-03-DD", first: 5) { totalCount } }'
    assert work(window.replace("DD", "10")) == HEAVY_REPORT_WORK == 10 * REPORT_DAY_COST
    assert work(window.replace("DD", "09")) < HEAVY_REPORT_WORK
    rendering = (
        "query R($r: [RenderingProviderRequest!]!) { renderingProviders(requests: $r) "
        "{ provider { id } } }"
    )
    question = {"clientId": "x", "serviceLine": "ABA", "dateOfService": "2026-03-01"}
    assert work(rendering, {"r": [question] * 60}) == HEAVY_REPORT_WORK
    assert work(rendering, {"r": [question] * 59}) < HEAVY_REPORT_WORK
    # a report spread from a fragment counts; what it selects does not
    spread = "{ ...F } fragment F on Query { " + YEAR[2:-2] + " }"
    assert work(spread) == work(YEAR) == 365 * REPORT_DAY_COST
    assert work(CLIENTS) == 0


def test_a_report_spread_twice_per_level_is_weighed_once(monkeypatch: MonkeyPatch) -> None:
    """Each shared fragment's work is worked out once, as its cost is (api.cost): a document
    doubling its spreads at every level would otherwise be walked 2^n times."""
    levels = 12
    fragments = [
        f"fragment F{n} on Query {{ ...F{n + 1} a{n}: __typename ...F{n + 1} }}"
        for n in range(levels)
    ]
    fragments.append(f"fragment F{levels} on Query {{ {YEAR[2:-2]} }}")
    document = "{ ...F0 } " + " ".join(fragments)
    weighed: list[object] = []
    real = Work.cost

    def counted(self: Work, variables: dict[str, Any], max_days: int) -> int:
        weighed.append(self)
        return real(self, variables, max_days)

    monkeypatch.setattr(Work, "cost", counted)
    operation = analyzed(build_schema()._schema, document, None).operation(None)
    assert operation is not None

    assert operation.cost.report_work(None, 366) == 2**levels * 365 * REPORT_DAY_COST
    assert len(weighed) == 1


async def test_a_report_that_waits_its_whole_budget_is_told_to_come_back(
    api: Api, db: Database, book: RuleBook, settings: Settings, monkeypatch: MonkeyPatch
) -> None:
    held = HeldReports(monkeypatch, stubborn=True)
    quick = one_at_a_time(settings)
    quick = dataclasses.replace(
        quick, limits=dataclasses.replace(quick.limits, request_seconds=0.3)
    )
    app = create_app(quick, db=db, book=book)
    first = await holding_the_turn(app, api, held)

    sent = await asyncio.wait_for(ask(app, api, YEAR), 5)
    status, body = status_and_body(sent)
    assert (status, body["errors"][0]["extensions"]["code"]) == (503, "TIMEOUT")
    assert "did not start: send it again later" in body["errors"][0]["message"]
    assert (b"retry-after", b"5") in sent[0]["headers"]
    assert len(held.started) == 1

    held.release("2026-01-01..2026-12-31#0")
    status, body = status_and_body(await asyncio.wait_for(first, 5))
    # the first one ran past its own budget meanwhile: stopped, and told to ask for less
    assert (status, "ask for less" in body["errors"][0]["message"]) == (503, True)
