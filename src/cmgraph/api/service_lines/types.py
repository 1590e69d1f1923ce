"""The ServiceLine type, and the line of a code as the other types show it."""

from __future__ import annotations

import functools

import strawberry

from cmgraph import facts
from cmgraph.api.context import Info


@strawberry.type(name="ServiceLine")
class ServiceLine:
    code: str
    name: str
    qualifying_credentials: list[str] = strawberry.field(
        description="The default qualifying credentials; a payor plugin may narrow or widen them."
    )

    @classmethod
    def of(cls, line: facts.ServiceLine) -> ServiceLine:
        return cls(
            code=line.code,
            name=line.name,
            qualifying_credentials=sorted(line.qualifying_credentials),
        )


@functools.cache
def _service_line_of(line: facts.ServiceLine) -> ServiceLine:
    # One object per line, shared: every assignment of a page names one of a few lines.
    return ServiceLine.of(line)


def service_line(info: Info, code: str) -> ServiceLine:
    known = info.context.scope.book.service_lines.get(code)
    return (
        _service_line_of(known)
        if known
        else ServiceLine(code=code, name=code, qualifying_credentials=[])
    )
