"""The GraphQL operation's span (while tracing is on): its type and name, once the document
validated; never its text nor its variables."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from cmgraph.api.context import Context
from cmgraph.observability import tracing


class OperationSpan(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        if not tracing.on():
            yield
            return
        with tracing.span("graphql.operation") as current:
            yield
            context = self.execution_context.context
            if current is not None and isinstance(context, Context) and context.operation_validated:
                if context.operation_name:  # an anonymous operation has none (OTel's convention)
                    current.set_attribute("graphql.operation.name", context.operation_name)
                current.set_attribute(
                    "graphql.operation.type", self.execution_context.operation_type.value
                )
