"""Where a finding or refusal points in the caller's input.

Rules speak of the facts they judge (facts.Field: the provider, the start date...), not of
GraphQL inputs; every case-manager input names them the same way, so one table maps them.
"""

from __future__ import annotations

from cmgraph.facts import Field

INPUT_PATHS: dict[Field, tuple[str, ...]] = {
    Field.PROVIDER: ("input", "providerId"),
    Field.START_DATE: ("input", "startDate"),
    Field.END_DATE: ("input", "endDate"),
    Field.ASSIGNMENT: ("input", "id"),
}


def input_path(field: Field | tuple[str, ...] | None) -> list[str] | None:
    """The input path of a finding's or user error's field (a path passes as it is)."""
    if field is None:
        return None
    if isinstance(field, Field):
        return list(INPUT_PATHS[field])
    return list(field)
