"""What a query selects below the field being resolved, read before resolving it.

A resolver that knows its children will ask for every row's coverages, say, loads them for
the whole page at once (api.prefetch), and the children then answer from the loaders
without waiting (types.resolved)."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from cmgraph.api.context import Info


def _paths(selections: Iterable[Selection], prefix: str) -> Iterable[str]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            path = f"{prefix}{selection.name}"
            yield path
            yield from _paths(selection.selections, f"{path}.")
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _paths(selection.selections, prefix)


def selected_paths(info: Info) -> frozenset[str]:
    """Dotted paths of the fields selected below this one, fragments flattened:
    {"totalCount", "edges", "edges.node", "edges.node.coverages", ...}."""
    return frozenset(
        path for field in info.selected_fields for path in _paths(field.selections, "")
    )
