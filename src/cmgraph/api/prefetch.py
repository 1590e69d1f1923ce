"""Loading what a page of clients will be asked for, before its fields resolve.

The caseload page asks, for each of fifty clients, for their coverages and each coverage's
payor, and for their case managers and each one's provider and credentials. Through the
DataLoaders alone that is the same handful of queries, but every one of those objects is
then awaited on its own. Loading each relation for the whole page here, from what the query
selects (api.lookahead), leaves the loaders holding every answer, and the fields (plain
functions, loaders.resolved) answer at once. The queries are the loaders' own: what a caller
may see, and how many statements a page takes, do not change."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from cmgraph.api.loaders import Loaders


async def clients(loaders: Loaders, pks: Sequence[UUID], selected: frozenset[str], at: str) -> None:
    """Prefetch the relations selected below `at` (the path of the Client objects)."""
    if not pks:
        return
    below = f"{at}." if at else ""  # at "": the Client is the root field's own value
    if f"{below}coverages.payor" in selected:
        coverages = await loaders.coverages_by_client.load_many(pks)
        await loaders.payor_by_id.load_many({c.payor_id for rows in coverages for c in rows})
    elif f"{below}coverages" in selected:
        await loaders.coverages_by_client.load_many(pks)
    if f"{below}caseManagers" in selected:
        assignments = await loaders.assignments_by_client.load_many(pks)
        if f"{below}caseManagers.provider" in selected:
            providers = list({a.provider_id for rows in assignments for a in rows})
            await loaders.provider_by_id.load_many(providers)
            if f"{below}caseManagers.provider.credentials" in selected:
                await loaders.credentials_by_provider.load_many(providers)
