"""A batch of rendering questions lets the event loop turn between coercing its variables and
resolving, and a plan completes a long list (its answers) a chunk at a time, letting the
loop turn between two chunks once its step is due (services.pacing): the answers are those
of one step. Due or not is decided by STEP_S here, not by a clock."""

from __future__ import annotations

import math
import sys
from collections.abc import Awaitable
from typing import Any

from counting import seed
from pytest import MonkeyPatch

from cmgraph.api import planned
from cmgraph.db.engine import Database
from cmgraph.services import pacing
from tests.support import Api

RENDERING = """
query($requests: [RenderingProviderRequest!]!) {
  renderingProviders(requests: $requests) {
    clientId dateOfService provider { displayName npi } assignment { startDate }
    findings { code }
  }
}"""
DAYS = [f"2026-03-{d:02d}" for d in range(10, 14)]  # four days: 50 clients, 200 answers


Answers = dict[str, Any]


async def _asked(api: Api, requests: list[dict[str, str]], step_s: float) -> tuple[Answers, int]:
    """The batch's answers, and how many times the plan's list let the loop turn."""
    turns_of_lists: list[int] = []
    real_turn = pacing.Pacer.turn

    def turn(self: pacing.Pacer) -> Awaitable[None]:
        if sys._getframe(1).f_code.co_name == "_completed_from":  # api.planned's
            turns_of_lists.append(1)
        return real_turn(self)

    with MonkeyPatch.context() as patched:
        patched.setattr(pacing.Pacer, "turn", turn)
        patched.setattr(pacing, "STEP_S", step_s)
        data = await api(RENDERING, {"requests": requests})
    return data, len(turns_of_lists)


async def test_a_long_list_is_completed_in_steps_with_the_same_answer(
    api: Api, db: Database
) -> None:
    client_ids = await seed(db, api.slug)
    requests = [
        {"clientId": c, "serviceLine": "ABA", "dateOfService": day}
        for c in client_ids
        for day in DAYS
    ]
    assert len(requests) > pacing.CHUNK

    whole, never = await _asked(api, requests, step_s=3600.0)
    paced, turned = await _asked(api, requests, step_s=-1.0)  # always due

    assert never == 0
    assert turned == math.ceil(len(requests) / pacing.CHUNK) - 1
    assert paced == whole
    answers = paced["renderingProviders"]
    assert [a["clientId"] for a in answers] == [r["clientId"] for r in requests]
    assert [a["dateOfService"] for a in answers] == [r["dateOfService"] for r in requests]


async def test_a_batch_lets_the_loop_turn_before_it_resolves(
    api: Api, db: Database, monkeypatch: MonkeyPatch
) -> None:
    client_ids = await seed(db, api.slug)
    turns: list[int] = []
    real_turn = planned._turn

    def turn() -> Awaitable[None]:
        turns.append(1)
        return real_turn()

    monkeypatch.setattr(planned, "_turn", turn)
    answers = {}
    for size in (pacing.CHUNK, pacing.CHUNK + 1):
        requests = [
            {"clientId": c, "serviceLine": "ABA", "dateOfService": day}
            for c in client_ids
            for day in DAYS
        ][:size]
        turns.clear()
        answers[size] = (await api(RENDERING, {"requests": requests}))["renderingProviders"]
        assert len(answers[size]) == size
        assert len(turns) == (1 if size > pacing.CHUNK else 0), size
    assert answers[pacing.CHUNK + 1][: pacing.CHUNK] == answers[pacing.CHUNK]
