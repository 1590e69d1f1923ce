"""Refuse a document whose selections, with every fragment spread expanded, are too many.

A chain of fragments that each spread the next one twice is short to write and exponential to
walk: the validation rules (depth, aliases) would walk it for hours. api.document counts each
fragment once; the guard refuses such a document right after parsing, before validation.
"""

from __future__ import annotations

from graphql import GraphQLError

from cmgraph.api.document import AnalyzedDocument

TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def size_refusal(analysis: AnalyzedDocument, max_selections: int) -> GraphQLError | None:
    """The error to answer a document with that spreads a fragment into itself or selects
    more than `max_selections` fields, else None."""
    if analysis.cycle is not None:
        return GraphQLError(
            f"Fragment {analysis.cycle!r} spreads itself.", extensions={"code": TOO_COMPLEX}
        )
    if analysis.size > max_selections:
        return GraphQLError(
            f"The query selects {analysis.size} fields once its fragments are expanded; at "
            f"most {max_selections}.",
            extensions={"code": TOO_COMPLEX},
        )
    return None
