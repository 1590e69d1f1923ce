"""The Relay Node interface: every object with an opaque global id (api.ids) implements it."""

from __future__ import annotations

import strawberry


@strawberry.interface(name="Node", description="An object with an opaque, global id.")
class Node:
    id: strawberry.ID
