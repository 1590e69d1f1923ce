"""The raw floor with its token check: the caseload and one-client pages by hand.

Two POST endpoints answer what cmgraph answers (the runner checks that they are equal):
``/caseload`` the caseload page (``CASELOAD`` in bench/queries.py) in four SQL statements
(the token, the page of clients with the total as a window function, their coverages with
payors, their assignments with providers and credentials) and ``/client`` one client as
the caseload shows it (``CLIENT``), in four as well. They read the GraphQL body's variables
and ignore its query. SQLAlchemy Core on the same engine (cmgraph's ``create_engine``: same
driver, pool and pragmas) and orjson. The strict floor (bench/peers/floor_strict.py) and
the graphql-core peer build on the statements and the assembly here.

It keeps what any real endpoint must do: look the bearer token up by hash in its
organization and refuse an unknown, revoked or expired one. It skips what cmgraph adds on
top: GraphQL parsing, validation and limits (depth, cost...), the permission table, the
request-id middleware and its log line, recording a token's last use (once a minute),
DataLoaders and ORM objects.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cmgraph.api.ids import decode_as, encode
from cmgraph.db import models
from cmgraph.db.engine import create_engine
from cmgraph.services.tokens import hash_token, organization_of

T = models.ApiToken.__table__
C = models.Client.__table__
CV = models.Coverage.__table__
PY = models.Payor.__table__
A = models.Assignment.__table__
P = models.Provider.__table__
CR = models.Credential.__table__

TOKEN = select(T.c.revoked_at, T.c.expires_at).where(
    T.c.organization_id == bindparam("org"), T.c.token_hash == bindparam("hash")
)
PAGE = (
    select(C.c.id, C.c.first_name, C.c.last_name, C.c.external_id, func.count().over())
    .where(C.c.organization_id == bindparam("org"))
    .order_by(C.c.last_name, C.c.first_name, C.c.id)
    .limit(bindparam("first"))
)
COVERAGES = (
    select(CV.c.client_id, CV.c.priority, CV.c.member_id, PY.c.id, PY.c.name)
    .join(PY, (PY.c.organization_id == CV.c.organization_id) & (PY.c.id == CV.c.payor_id))
    .where(CV.c.organization_id == bindparam("org"), CV.c.client_id.in_(bindparam("ids")))
    .order_by(CV.c.priority, CV.c.effective_from)
)
ASSIGNMENTS = (
    select(
        A.c.client_id,
        A.c.id,
        A.c.service_line,
        A.c.start_date,
        A.c.end_date,
        P.c.id,
        P.c.first_name,
        P.c.last_name,
        P.c.npi,
        CR.c.type,
    )
    .join(P, (P.c.organization_id == A.c.organization_id) & (P.c.id == A.c.provider_id))
    .outerjoin(CR, (CR.c.organization_id == P.c.organization_id) & (CR.c.provider_id == P.c.id))
    .where(A.c.organization_id == bindparam("org"), A.c.client_id.in_(bindparam("ids")))
    .order_by(A.c.service_line, A.c.start_date, A.c.id, CR.c.type)
)


ONE = select(C.c.id, C.c.first_name, C.c.last_name, C.c.external_id).where(
    C.c.organization_id == bindparam("org"), C.c.id == bindparam("id")
)


def bearer(header: str) -> str:
    return header[7:] if header[:7].lower() == "bearer " else ""


async def token_valid(connection: AsyncConnection, org: UUID, token: str) -> bool:
    """What any real endpoint checks: the token by hash, in its organization, neither
    revoked nor expired."""
    found = (await connection.execute(TOKEN, {"org": org, "hash": hash_token(token)})).first()
    now = models.utcnow()
    return found is not None and found[0] is None and not (found[1] and found[1] <= now)


async def caseload(connection: AsyncConnection, org: UUID, first: int) -> dict[str, Any]:
    """The caseload page's `data`, in three statements."""
    page = (await connection.execute(PAGE, {"org": org, "first": first})).all()
    edges = [{"node": node} for node in await nodes(connection, org, page)]
    return {"clients": {"totalCount": page[0][4] if page else 0, "edges": edges}}


async def one_client(connection: AsyncConnection, org: UUID, global_id: str) -> dict[str, Any]:
    """The one-client page's `data` (bench/queries.py CLIENT), in three statements."""
    client_id = decode_as(global_id, "Client")
    rows = (
        []
        if client_id is None
        else (await connection.execute(ONE, {"org": org, "id": client_id})).all()
    )
    found = await nodes(connection, org, rows)
    return {"client": found[0] if found else None}


async def nodes(
    connection: AsyncConnection, org: UUID, clients: Sequence[Row[Any, Any, Any, Any]]
) -> list[dict[str, Any]]:
    """Clients (id, first name, last name, external id) as the caseload shows each one:
    with coverages and case managers, in two statements."""
    ids = [row[0] for row in clients]
    if not ids:
        return []
    coverages = (await connection.execute(COVERAGES, {"org": org, "ids": ids})).all()
    assignments = (await connection.execute(ASSIGNMENTS, {"org": org, "ids": ids})).all()
    by_client: defaultdict[Any, list[dict[str, Any]]] = defaultdict(list)
    for client_id, priority, member_id, payor_id, payor_name in coverages:
        by_client[client_id].append(
            {
                "priority": priority,
                "memberId": member_id,
                "payor": {"id": encode("Payor", payor_id), "name": payor_name},
            }
        )
    managers: defaultdict[Any, list[dict[str, Any]]] = defaultdict(list)
    last: dict[str, Any] = {}
    last_id = None
    for row in assignments:
        client_id, aid, line, start, end, pid, first_name, last_name, npi, credential = row
        if aid != last_id:
            last_id = aid
            last = {
                "id": encode("CaseManagerAssignment", aid),
                "serviceLine": {"code": line},
                "startDate": start,
                "endDate": end,
                "provider": {
                    "id": encode("Provider", pid),
                    "displayName": f"{first_name} {last_name}",
                    "npi": npi,
                    "credentials": [],
                },
            }
            managers[client_id].append(last)
        if credential is not None:
            last["provider"]["credentials"].append({"type": credential})
    return [
        {
            "id": encode("Client", cid),
            "displayName": f"{first_name} {last_name}",
            "externalId": external_id,
            "coverages": by_client.get(cid, []),
            "caseManagers": managers.get(cid, []),
        }
        for cid, first_name, last_name, external_id, *_ in clients
    ]


def unauthorized() -> Response:
    return Response(
        orjson.dumps(
            {"errors": [{"message": "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]}
        ),
        status_code=401,
        media_type="application/json",
    )


def variables(body: bytes) -> dict[str, Any]:
    return orjson.loads(body).get("variables") or {}


def answer(data: dict[str, Any]) -> Response:
    return Response(orjson.dumps({"data": data}), media_type="application/json")


async def healthz(_: Request) -> Response:
    return Response(b"ok", media_type="text/plain")


def create_floor(engine: AsyncEngine) -> Starlette:
    async def authorized(request: Request, connection: AsyncConnection) -> UUID | None:
        token = bearer(request.headers.get("authorization", ""))
        org = organization_of(token)
        if org is None or not await token_valid(connection, org, token):
            return None
        return org

    async def caseload_page(request: Request) -> Response:
        first = int(variables(await request.body()).get("first", 50))
        async with engine.connect() as connection:
            org = await authorized(request, connection)
            if org is None:
                return unauthorized()
            return answer(await caseload(connection, org, first))

    async def client_page(request: Request) -> Response:
        global_id = str(variables(await request.body()).get("id", ""))
        async with engine.connect() as connection:
            org = await authorized(request, connection)
            if org is None:
                return unauthorized()
            return answer(await one_client(connection, org, global_id))

    return Starlette(
        routes=[
            Route("/caseload", caseload_page, methods=["POST"]),
            Route("/client", client_page, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="serve the raw floor")
    parser.add_argument("--url", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = create_floor(create_engine(args.url))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
