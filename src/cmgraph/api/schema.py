"""The schema, built from the code; `cmgraph export-schema` writes its SDL to schema.graphql."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext

from cmgraph.api import scalars
from cmgraph.api.errors import is_safe
from cmgraph.api.mutations import Mutation
from cmgraph.api.queries import Query
from cmgraph.api.types import (
    Appointment,
    CaseManagerAssignment,
    Client,
    Coverage,
    Enrollment,
    Payor,
    Provider,
)

log = logging.getLogger("cmgraph.api")


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log unexpected errors with an id; the caller sees only the masked message."""
        for error in errors:
            if not is_safe(error):
                error_id = uuid.uuid4().hex[:12]
                log.error(
                    "internal error %s at %s", error_id, error.path, exc_info=error.original_error
                )


def build_schema(**kwargs: Any) -> Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        types=[Client, Provider, Payor, Coverage, Enrollment, Appointment, CaseManagerAssignment],
        scalar_overrides=scalars.OVERRIDES,
        extensions=[
            lambda: MaskErrors(
                should_mask_error=lambda e: not is_safe(e), error_message="Internal error."
            )
        ],
        **kwargs,
    )


schema = build_schema()


def sdl() -> str:
    return schema.as_str() + "\n"
