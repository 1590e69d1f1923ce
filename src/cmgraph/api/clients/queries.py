"""Root query fields of clients."""

from __future__ import annotations

from typing import cast

import strawberry

from cmgraph.api import prefetch
from cmgraph.api.clients.types import Client
from cmgraph.api.connection import Connection
from cmgraph.api.context import Info
from cmgraph.api.lookahead import alone, selected_paths
from cmgraph.api.pagination import keyset_after, keyset_cursor, page_size
from cmgraph.api.parsing import query_id
from cmgraph.api.search import search_words
from cmgraph.services import clients, people

CLIENTS_CURSOR = "clients"


@strawberry.type
class ClientQueries:
    @strawberry.field
    async def client(self, info: Info, id: strawberry.ID) -> Client | None:
        pk = query_id(id, "Client", "id")
        if pk is None:
            return None
        loaders, by_itself = info.context.loaders, alone(info)
        with loaders.alone(by_itself):
            # alone: read at once; else batched with the other fields' clients of this turn
            (row,) = (
                await loaders.fill(loaders.client_by_id, [pk])
                if by_itself
                else [await loaders.client_by_id.load(pk)]
            )
            if row is None:
                return None
            await prefetch.clients(loaders, [row.id], selected_paths(info), "")
        return Client.of(row)

    @strawberry.field(description="Clients by name: every word of `search` in a name, any case.")
    async def clients(
        self,
        info: Info,
        search: str | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Client]:
        scope, words = info.context.scope, search_words(search)
        limit = page_size(first, info.context.settings.max_page_size)
        key = cast(
            "people.NameKey | None", keyset_after(after, CLIENTS_CURSOR, people.NAME_KEY_SHAPE)
        )
        total, rows, more = await info.context.reader.run(
            lambda session: clients.page(session, scope, words, key, limit)
        )
        loaders = info.context.loaders
        with loaders.alone(alone(info)):
            await prefetch.clients(
                loaders, [r.id for r in rows], selected_paths(info), "edges.node"
            )
        return Connection[Client].keyset(
            [Client.of(r) for r in rows],
            [keyset_cursor(CLIENTS_CURSOR, people.name_key(r)) for r in rows],
            has_next=more,
            has_previous=key is not None,
            total=total,
        )
