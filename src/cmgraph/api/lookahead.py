"""What a query selects below the field being resolved, read before resolving it.

A resolver that knows its children will ask for every row's coverages, say, loads them for
the whole page at once (api.prefetch), and the children then answer from the loaders
without waiting (loaders.resolved). The selection is read with api.document's walker, from
the field's own nodes in the (validated, size-limited) document, once per field of a
document: documents are parsed once each (api.document), so the same nodes come back with
every request that sends the same document, and so does what they select."""

from __future__ import annotations

from collections import OrderedDict

from graphql import FieldNode, SelectionSetNode

from cmgraph.api.context import Info
from cmgraph.api.document import selections

KEPT = 256  # fields' selections kept; documents are cached by the hundred


# By the field's nodes' ids, the oldest dropped past KEPT; the nodes are kept in the value,
# so that no id is reused while its entry is.
_KEPT: OrderedDict[tuple[int, ...], tuple[object, frozenset[str]]] = OrderedDict()


def selected_paths(info: Info) -> frozenset[str]:
    """Dotted paths of the fields selected below this one, fragments flattened:
    {"totalCount", "edges", "edges.node", "edges.node.coverages", ...}."""
    raw = info._raw_info  # the field's AST nodes and the document's fragments
    key = tuple(id(node) for node in raw.field_nodes)
    kept = _KEPT.get(key)
    if kept is not None:
        _KEPT.move_to_end(key)
        return kept[1]
    paths = _walked(info)
    _KEPT[key] = (list(raw.field_nodes), paths)
    if len(_KEPT) > KEPT:
        _KEPT.popitem(last=False)
    return paths


def _walked(info: Info) -> frozenset[str]:
    raw = info._raw_info
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


def alone(info: Info) -> bool:
    """Whether this is a root field and its operation's only selection: until its resolver
    returns, nothing else of the request resolves beside it (loaders.Loaders.alone)."""
    raw = info._raw_info
    selections = raw.operation.selection_set.selections
    return raw.path.prev is None and len(selections) == 1 and isinstance(selections[0], FieldNode)
