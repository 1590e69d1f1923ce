"""Planned execution at the edges of what resolvers may do, on a small schema of its own:
each document answers exactly as graphql-core answers it (api.planned falls back), and no
coroutine is left unawaited."""

from __future__ import annotations

import gc
import warnings
from typing import Any

import pytest
import strawberry
from strawberry.scalars import JSON

from cmgraph.api import planned


class Refused(Exception):
    pass


async def blob() -> Any:
    return {"k": 1}


@strawberry.type
class Item:
    n: int
    data: JSON | None  # an attribute that holds an awaitable: graphql-core awaits it

    @strawberry.field
    def label(self) -> str | None:
        return Refused("returned, not raised")  # type: ignore[return-value]

    @strawberry.field
    def tags(self, into: list[str]) -> list[str]:
        into.append(str(self.n))  # changes its argument: each call must get its own
        return into

    @strawberry.field
    def later(self) -> list[Item]:
        async def one() -> Item:
            return Item(n=self.n * 10, data=None)

        return [one()]  # type: ignore[list-item]

    @strawberry.field
    async def sibling(self) -> Item | None:
        return Item(n=self.n + 1, data=None) if self.n == 1 else None


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(n=1, data=None), Item(n=2, data=None)]

    @strawberry.field
    def blobs(self) -> list[Item]:
        return [Item(n=1, data=blob()), Item(n=2, data=blob())]  # type: ignore[arg-type]


DOCUMENTS = [
    "{ blobs { n data } }",
    "{ items { n label } }",
    '{ items { tags(into: ["x"]) } }',
    "{ items { later { n } } }",
    "{ items { n a: sibling { n b: sibling { n } } } }",
]


async def answer(document: str, execution: type[planned.PlannedExecution] | None) -> Any:
    planned.PLANS.clear()
    schema = strawberry.Schema(query=Query, execution_context_class=execution)
    gc.collect()  # what earlier tests left is not counted here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = await schema.execute(document)
        gc.collect()
    errors = [(e.message, e.path) for e in result.errors or []]
    return (
        result.data,
        errors,
        [str(w.message) for w in caught if "never awaited" in str(w.message)],
    )


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_the_plan_answers_as_graphql_core(document: str) -> None:
    """Data, errors with their paths, and no coroutine left unawaited."""
    general = await answer(document, None)
    assert await answer(document, planned.PlannedExecution) == general
    assert general[2] == []
