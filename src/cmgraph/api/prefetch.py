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

from cmgraph.api.loaders import Loaders, fill


async def clients(loaders: Loaders, pks: Sequence[UUID], selected: frozenset[str], at: str) -> None:
    """Prefetch the relations selected below `at` (the path of the Client objects)."""
    if not pks:
        return
    below = f"{at}." if at else ""  # at "": the Client is the root field's own value
    if f"{below}coverages.payor" in selected:
        coverages = await fill(loaders.coverages_by_client, pks)
        await fill(loaders.payor_by_id, {c.payor_id for rows in coverages for c in rows})
    elif f"{below}coverages" in selected:
        await fill(loaders.coverages_by_client, pks)
    if f"{below}caseManagers" in selected:
        assignments = await fill(loaders.assignments_by_client, pks)
        if f"{below}caseManagers.provider" in selected:
            providers = list({a.provider_id for rows in assignments for a in rows})
            await fill(loaders.provider_by_id, providers)
            if f"{below}caseManagers.provider.credentials" in selected:
                await fill(loaders.credentials_by_provider, providers)
