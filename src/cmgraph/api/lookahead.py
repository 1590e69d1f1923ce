"""What a query selects below the field being resolved, read before resolving it.

A resolver that knows its children will ask for every row's coverages, say, loads them for
the whole page at once (api.prefetch), and the children then answer from the loaders
without waiting (loaders.resolved). The selection is read with api.document's walker, from
the field's own nodes in the (validated, size-limited) document."""

from __future__ import annotations

from graphql import FieldNode, SelectionSetNode

from cmgraph.api.context import Info
from cmgraph.api.document import selections


def selected_paths(info: Info) -> frozenset[str]:
    """Dotted paths of the fields selected below this one, fragments flattened:
    {"totalCount", "edges", "edges.node", "edges.node.coverages", ...}."""
    raw = info._raw_info  # the field's AST nodes and the document's fragments
    paths: set[str] = set()
    walked: set[tuple[str, str]] = set()  # (fragment, prefix): a spread repeated adds nothing

    def collect(selection_set: SelectionSetNode, prefix: str) -> None:
        for node, _ in selections(selection_set, None, raw.schema, raw.fragments):
            if isinstance(node, FieldNode):
                path = f"{prefix}{node.name.value}"
                paths.add(path)
                if node.selection_set is not None:
                    collect(node.selection_set, f"{path}.")
            elif (node.name.value, prefix) not in walked:
                walked.add((node.name.value, prefix))
                collect(node.selection_set, prefix)

    for field in raw.field_nodes:
        if field.selection_set is not None:
            collect(field.selection_set, "")
    return frozenset(paths)
