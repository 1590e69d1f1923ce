"""Refuse a document whose selections, with every fragment spread expanded, are too many,
or that puts too many directives on a field or selects one response key too many times.

A chain of fragments that each spread the next one twice is short to write and exponential to
walk: the validation rules (depth, aliases) would walk it for hours. api.document counts each
fragment once; the guard refuses such a document right after parsing, before validation.
"""

from __future__ import annotations

from graphql import GraphQLError

from cmgraph.api.document import AnalyzedDocument

TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def size_refusal(
    analysis: AnalyzedDocument,
    max_selections: int,
    max_directives: int | None = None,
    max_repeats: int | None = None,
) -> GraphQLError | None:
    """The error to answer a document with that spreads a fragment into itself, selects
    more than `max_selections` fields, puts more than `max_directives` directives on one
    field or selects one response key more than `max_repeats` times in one selection set
    (each is merged and executed once, but validated pairwise: cheap to send, dear to check),
    else None."""
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
    if max_directives is not None and analysis.most_directives > max_directives:
        return GraphQLError(
            f"A field carries {analysis.most_directives} directives; at most {max_directives}.",
            extensions={"code": TOO_COMPLEX},
        )
    if max_repeats is not None and analysis.most_repeats > max_repeats:
        return GraphQLError(
            f"A field is selected {analysis.most_repeats} times under the same name in one "
            f"selection set, fragments expanded; at most {max_repeats}.",
            extensions={"code": TOO_COMPLEX},
        )
    return None
