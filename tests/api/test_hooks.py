"""Extension hooks looked up once per class (api.hooks) run as Strawberry's own lookup runs
them: the same stages in the same order, around the same work, with the same answers, for
generator hooks and for the plain and async functions left to Strawberry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from cmgraph.api import hooks
from cmgraph.api.schema import Schema


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str) -> str:
        if name == "fail":
            raise ValueError("no")
        return f"hello {name}"


def schema_of(kind: type[strawberry.Schema], log: list[str]) -> strawberry.Schema:
    class Around(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            log.append("operation >")
            yield
            result = self.execution_context.result
            log.append(f"operation < {bool(result and result.errors)}")

        def on_parse(self) -> Iterator[None]:
            log.append("parse >")
            yield
            log.append(f"parse < {self.execution_context.graphql_document is not None}")

        def on_execute(self) -> Iterator[None]:
            log.append("execute >")
            yield
            log.append("execute <")

    class Plain(SchemaExtension):
        def on_validate(self) -> None:  # type: ignore[override]
            log.append("validate (plain)")

    class Async(SchemaExtension):
        async def on_execute(self) -> None:  # type: ignore[override]
            log.append("execute (async)")

    class Refuses(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            if "refused" in (self.execution_context.query or ""):
                raise ValueError("refused here")
            yield

    return kind(query=Query, extensions=[Around, Plain, Async, Refuses])


@pytest.mark.parametrize(
    "query",
    [
        '{ hello(name: "Ada") }',
        '{ hello(name: "fail") }',
        "{ nope }",
        "{ hello(",
        '{ refused: hello(name: "x") }',
    ],
)
async def test_hooks_run_as_strawberry_runs_them(query: str) -> None:
    ours: list[str] = []
    theirs: list[str] = []
    ours_schema = schema_of(Schema, ours)
    assert isinstance(ours_schema.create_extensions_runner(None, []), hooks.Runner)  # type: ignore[arg-type]
    mine = await ours_schema.execute(query)
    general = await schema_of(strawberry.Schema, theirs).execute(query)
    assert ours == theirs and len(ours) >= 3
    assert mine.data == general.data
    assert [e.formatted for e in mine.errors or []] == [e.formatted for e in general.errors or []]
