"""The strict floor: the caseload and one-client pages by hand with nothing around them.

No authentication (the organization is fixed when the process starts), three statements a
page (bench/floor.py's, without the token), orjson, Starlette on uvicorn. Every ratio of
the peer comparison is taken against it.

    python -m bench.peers.floor_strict --url URL --port PORT --org UUID
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.floor import answer, caseload, healthz, one_client, variables
from bench.peers.common import serve


def create_app(engine: AsyncEngine, organization: UUID | None) -> Starlette:
    if organization is None:
        raise ValueError("the strict floor serves one organization: give it")
    org = organization

    async def caseload_page(request: Request) -> Response:
        first = int(variables(await request.body()).get("first", 50))
        async with engine.connect() as connection:
            return answer(await caseload(connection, org, first))

    async def client_page(request: Request) -> Response:
        global_id = str(variables(await request.body()).get("id", ""))
        async with engine.connect() as connection:
            return answer(await one_client(connection, org, global_id))

    return Starlette(
        routes=[
            Route("/caseload", caseload_page, methods=["POST"]),
            Route("/client", client_page, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )


if __name__ == "__main__":
    serve("serve the strict floor", create_app)
