"""Growth: each read the benchmark times (bench/queries.py, the very same documents) takes as
many SQL statements for a page or batch of 10 as for one of 100. Time against data size is
the benchmark's to measure (`./scripts/bench --growth`); what is deterministic is here."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import builders as b
import pytest
from counting import counted, seed

from bench.queries import (
    CASELOAD,
    CLAIM_LINES,
    CLINICAL,
    COMPLIANCE,
    COMPLIANCE_PAGE_ONLY,
    RENDERING,
)
from cmgraph.api.ids import decode_as
from cmgraph.db import models

SMALL, LARGE = 10, 100
WINDOW = {"from": "2026-02-01", "to": "2026-03-31"}


def rendering(client_ids: list[str], size: int) -> dict[str, Any]:
    return {
        "requests": [
            {"clientId": client_ids[i % len(client_ids)], "serviceLine": "ABA", "dateOfService": d}
            for i, d in zip(range(size), ["2026-03-10", "2026-02-10"] * size, strict=False)
        ]
    }


PAGED: dict[str, tuple[str, Any]] = {
    "caseload": (CASELOAD, lambda ids, n: {"first": n}),
    "claim lines": (CLAIM_LINES, lambda ids, n: {**WINDOW, "first": n}),
    "compliance": (COMPLIANCE, lambda ids, n: {**WINDOW, "first": n}),
    "compliance without totalCount": (COMPLIANCE_PAGE_ONLY, lambda ids, n: {**WINDOW, "first": n}),
    "rendering": (RENDERING, rendering),
}


@pytest.fixture
async def client_ids(api: Any, db: Any) -> list[str]:
    """A hundred clients with a coverage, a CM and two sessions each (test_statements.seed)."""
    return await seed(db, api.slug, clients=LARGE)


@pytest.mark.parametrize("name", PAGED)
async def test_statements_do_not_grow_from_10_to_100(
    api: Any, statements: Any, client_ids: list[str], name: str
) -> None:
    query, variables = PAGED[name]
    small, small_data = await counted(api, statements, query, variables(client_ids, SMALL))
    large, large_data = await counted(api, statements, query, variables(client_ids, LARGE))

    assert small == large, (name, small, large)
    assert len(str(large_data)) > len(str(small_data))  # the larger page did hold more


async def test_the_clinical_tab_does_not_grow_with_the_clients_sessions(
    api: Any, db: Any, statements: Any, client_ids: list[str]
) -> None:
    """The Clinical tab is one client's: its size is their sessions, here 2 against 100."""
    few, _ = await counted(api, statements, CLINICAL, {"id": client_ids[0]})
    await more_sessions(db, api.slug, client_ids[1], LARGE - 2)
    many, data = await counted(api, statements, CLINICAL, {"id": client_ids[1]})

    assert few == many, (few, many)
    assert data["client"]["serviceLines"][0]["serviceLine"] == {"code": "ABA"}


async def more_sessions(db: Any, slug: str, client_id: str, count: int) -> None:
    org = await b.org_id(db, slug)
    pk = decode_as(client_id, "Client")
    assert pk is not None
    async with db.write() as session:
        provider = models.Provider(
            organization_id=org, first_name="Extra", last_name="Sessions", npi=b.next_npi()
        )
        session.add(provider)
        await session.flush()
        for i in range(count):
            session.add(b.session_row(org, pk, provider.id, date(2026, 4, 1) + timedelta(days=i)))
        await session.commit()
