"""Root query fields of providers."""

from __future__ import annotations

from typing import cast

import strawberry

from cmgraph.api.connection import Connection
from cmgraph.api.context import Info
from cmgraph.api.errors import from_refused
from cmgraph.api.pagination import keyset_after, keyset_cursor, page_size
from cmgraph.api.parsing import query_id
from cmgraph.api.providers.types import Provider
from cmgraph.api.search import search_words
from cmgraph.services import lookups, people, providers
from cmgraph.services.outcome import Refused

PROVIDERS_CURSOR = "providers"


@strawberry.type
class ProviderQueries:
    @strawberry.field
    async def provider(self, info: Info, id: strawberry.ID) -> Provider | None:
        pk = query_id(id, "Provider", "id")
        row = await info.context.loaders.provider_by_id.load(pk) if pk else None
        return Provider.of(row) if row else None

    @strawberry.field(
        description="Providers by name; with serviceLine, only those holding a credential "
        "that qualifies for it today (by default)."
    )
    async def providers(
        self,
        info: Info,
        search: str | None = None,
        service_line: str | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Provider]:
        scope, words = info.context.scope, search_words(search)
        qualifying = None
        if service_line is not None:
            try:
                line = lookups.service_line(scope.book, service_line)
            except Refused as refused:
                raise from_refused(refused) from None
            qualifying = scope.book.service_lines[line].qualifying_credentials
        limit = page_size(first, info.context.settings.max_page_size)
        key = cast(
            "people.NameKey | None", keyset_after(after, PROVIDERS_CURSOR, people.NAME_KEY_SHAPE)
        )
        total, rows, more = await info.context.reader.run(
            lambda session: providers.page(session, scope, words, qualifying, key, limit)
        )
        return Connection[Provider].keyset(
            [Provider.of(r) for r in rows],
            [keyset_cursor(PROVIDERS_CURSOR, people.name_key(r)) for r in rows],
            has_next=more,
            has_previous=key is not None,
            total=total,
        )
