"""A small practice through the API, for plugin tests: a client covered by a payor naming
the plugins, a case-manager candidate enrolled with it and a technician (RBT), then
assignments and sessions, each in one call. Every step is the public GraphQL API, so a
plugin's test reads like what a front end does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cmgraph.testing import records
from cmgraph.testing.records import Call


@dataclass(frozen=True)
class Practice:
    """The ids of one small practice (GraphQL ids)."""

    client: str
    payor: str
    cm: str
    rbt: str


async def practice(
    call: Call,
    plugins: list[str],
    *,
    kind: str = "COMMERCIAL",
    cm_credential: str = "BCBA",
    enrollment: str = "ENROLLED",
    covered_from: str = "2025-01-01",
    settings: dict[str, Any] | None = None,
) -> Practice:
    client = await records.client(call)
    name = "Payor " + "+".join(plugins or ["plain"])
    payor = await records.payor(call, name, kind, *plugins, settings=settings)
    await records.coverage(call, client, payor, since=covered_from)
    cm = await records.provider(call, "cm", "X", cm_credential)
    rbt = await records.provider(call, "rbt", "X", "RBT")
    await records.enroll(call, cm, payor, since=None, status=enrollment)
    return Practice(client, payor, cm, rbt)


async def add_case_manager(
    call: Call, who: Practice, start: str, line: str = "ABA"
) -> dict[str, Any]:
    """addCaseManager's whole payload (caseManager, userErrors, warnings)."""
    return await records.add_case_manager(call, who.client, who.cm, start, line)


async def session(
    call: Call,
    who: Practice,
    starts_at: str,
    ends_at: str,
    *,
    by: str | None = None,
    code: str | None = "97153",
    telehealth: bool = False,
    status: str = "COMPLETED",
    line: str = "ABA",
) -> str:
    """A session (ISO date-times with offsets) delivered by `by` (default the RBT)."""
    return await records.session(
        call,
        who.client,
        by or who.rbt,
        starts_at,
        ends_at,
        code=code,
        telehealth=telehealth,
        status=status,
        line=line,
    )
