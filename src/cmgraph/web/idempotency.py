"""The Idempotency-Key header on POST /graphql: reading it, telling whether it applies (to
mutations only), and the HTTP answers of its conflicts. The store is services.idempotency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graphql import GraphQLError, GraphQLSchema
from starlette.datastructures import Headers

from cmgraph.api.document import analyzed
from cmgraph.services.idempotency import KEY_IN_USE, KEY_REUSED, RESPONSE_LOST

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
_VALID_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")  # printable ASCII
IN_USE_RETRY_AFTER_SECONDS = "1"


class InvalidKey(ValueError):
    """The header is there but is no valid key (400 BAD_REQUEST)."""


def key_of(headers: Headers) -> str | None:
    values = headers.getlist(HEADER)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidKey("Send one Idempotency-Key header, not several.")
    if not _VALID_KEY.match(values[0]):
        raise InvalidKey("Idempotency-Key must be 1 to 255 printable ASCII characters.")
    return values[0]


SECRET_ANSWERS = frozenset({"createApiToken"})
"""Mutations whose answer holds a secret that is shown once and never stored: a stored answer
to replay would be a copy of it, so they take no key."""


def mutation_fields(
    schema: GraphQLSchema, query: str, operation_name: str | None, max_tokens: int
) -> frozenset[str]:
    """The root fields of the operation to run when it is a mutation, else none. The document
    is the one execution will run, parsed and analyzed once (api.document's cache, under the
    same max_tokens). A document that does not parse or names no operation is left to
    execution to report, as not a mutation (nothing will run)."""
    try:
        analysis = analyzed(schema, query, max_tokens)
    except GraphQLError:
        return frozenset()
    operation = analysis.operation(operation_name)
    if operation is None or not operation.is_mutation:
        return frozenset()
    return frozenset(operation.root_fields)


@dataclass(frozen=True)
class ConflictAnswer:
    status: int
    message: str
    headers: dict[str, str] | None = None


CONFLICTS = {
    KEY_REUSED: ConflictAnswer(
        422,
        "This Idempotency-Key was used for a different request (query, operationName or "
        "variables); use a new key for a new request.",
    ),
    KEY_IN_USE: ConflictAnswer(
        409,
        "A request with this Idempotency-Key is still running; retry shortly to get its answer.",
        {"Retry-After": IN_USE_RETRY_AFTER_SECONDS},
    ),
    RESPONSE_LOST: ConflictAnswer(
        409,
        "The request with this Idempotency-Key was applied, but its answer was lost (the "
        "service failed after the write); read the current state rather than repeating it.",
    ),
}
