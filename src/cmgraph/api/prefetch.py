"""Loading what a page of clients will be asked for, before its fields resolve.

The caseload page asks, for each of fifty clients, for their coverages and each coverage's
payor, and for their case managers and each one's provider and credentials. Through the
DataLoaders alone that is a handful of queries, but every one of those objects is then
awaited on its own. Loading each relation for the whole page here, from what the query
selects (api.lookahead), leaves the loaders holding every answer, and the fields (plain
functions, loaders.resolved) answer at once. A relation and its parents (coverages with
their payors, case managers with their providers and those providers' credentials) come in
one joined statement that answers what the loaders would (services.batches): what a caller
may see does not change, and a page takes three statements fewer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from cmgraph.api.loaders import Loaders


async def clients(loaders: Loaders, pks: Sequence[UUID], selected: frozenset[str], at: str) -> None:
    """Prefetch the relations selected below `at` (the path of the Client objects)."""
    if not pks:
        return
    below = f"{at}." if at else ""  # at "": the Client is the root field's own value
    if f"{below}coverages.payor" in selected:
        await loaders.coverages_with_payors(pks)
    elif f"{below}coverages" in selected:
        await loaders.fill(loaders.coverages_by_client, pks)
    if f"{below}caseManagers.provider.credentials" in selected:
        await loaders.assignments_with_credentials(pks)
        # providers met before (their assignments were held already) read theirs here
        providers = await loaders.assignments_with_providers(pks)
        await loaders.fill(loaders.credentials_by_provider, providers)
    elif f"{below}caseManagers.provider" in selected:
        await loaders.assignments_with_providers(pks)
    elif f"{below}caseManagers" in selected:
        await loaders.fill(loaders.assignments_by_client, pks)


async def claim_lines(
    loaders: Loaders, lines: Sequence[ClaimLineKeys], selected: frozenset[str], at: str
) -> None:
    """Prefetch the clients, payors and providers selected below `at` (the path of the
    ClaimLine objects)."""
    if f"{at}.client" in selected:
        await loaders.fill(loaders.client_by_id, [line.client_pk for line in lines])
    if f"{at}.payor" in selected:
        await loaders.fill(loaders.payor_by_id, [p for line in lines if (p := line.payor_pk)])
    providers = {
        pk
        for field, keys in PROVIDER_FIELDS.items()
        if f"{at}.{field}" in selected
        for line in lines
        if (pk := getattr(line, keys))
    }
    if providers:
        await loaders.fill(loaders.provider_by_id, providers)


class ClaimLineKeys(Protocol):
    """The keys a claim line's related objects are loaded by."""

    client_pk: UUID
    payor_pk: UUID | None
    deliverer_pk: UUID
    rendering_pk: UUID | None
    supervising_pk: UUID | None


PROVIDER_FIELDS = {
    "deliveredBy": "deliverer_pk",
    "renderingProvider": "rendering_pk",
    "supervisingProvider": "supervising_pk",
}
