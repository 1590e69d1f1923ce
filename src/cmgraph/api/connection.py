"""One Relay connection type for every list that pages: `Connection[Client]` is the schema's
ClientConnection, its edges ClientEdge (Strawberry names a generic by its argument)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import strawberry

from cmgraph.api.pagination import PageInfo

N = TypeVar("N")


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo
    counted: strawberry.Private[int | None]  # None: the query did not select totalCount

    @strawberry.field
    def total_count(self) -> int:
        assert self.counted is not None, "counted whenever totalCount is selected"
        return self.counted

    @classmethod
    def keyset(
        cls,
        nodes: Sequence[N],
        cursors: Sequence[str],
        *,
        has_next: bool,
        has_previous: bool,
        total: int | None,
    ) -> Connection[N]:
        """A keyset page: each node with its own cursor (pagination.keyset_cursor)."""
        return cls(
            edges=[Edge(cursor=c, node=node) for c, node in zip(cursors, nodes, strict=True)],
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=has_previous,
                start_cursor=cursors[0] if cursors else None,
                end_cursor=cursors[-1] if cursors else None,
            ),
            counted=total,
        )
