"""The raw floor: the caseload page by hand, as fast as this stack goes.

One POST endpoint that answers the caseload page (``CASELOAD`` in bench/scenarios.py) with
the very JSON cmgraph answers (the runner checks that they are equal), in four SQL
statements: the token, the page of clients with the total (a window function), their
coverages with payors, their assignments with providers and credentials. SQLAlchemy Core
on the same engine (cmgraph's ``create_engine``: same driver, pool and pragmas) and orjson.

It keeps what any real endpoint must do: look the bearer token up by hash in its
organization and refuse an unknown, revoked or expired one. It skips what cmgraph adds on
top: GraphQL parsing, validation and limits (depth, cost...), the permission table, the
request-id middleware and its log line, recording a token's last use (once a minute),
DataLoaders and ORM objects.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cmgraph.api.ids import encode
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


def _unauthorized() -> Response:
    return Response(
        orjson.dumps(
            {"errors": [{"message": "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]}
        ),
        status_code=401,
        media_type="application/json",
    )


def create_floor(engine: AsyncEngine) -> Starlette:
    async def caseload(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header[7:] if header[:7].lower() == "bearer " else ""
        org = organization_of(token)
        if org is None:
            return _unauthorized()
        body = orjson.loads(await request.body())
        first = int((body.get("variables") or {}).get("first", 50))
        async with engine.connect() as connection:
            found = (
                await connection.execute(TOKEN, {"org": org, "hash": hash_token(token)})
            ).first()
            now = models.utcnow()
            if found is None or found[0] is not None or (found[1] and found[1] <= now):
                return _unauthorized()
            page = (await connection.execute(PAGE, {"org": org, "first": first})).all()
            ids = [row[0] for row in page]
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
        edges = [
            {
                "node": {
                    "id": encode("Client", cid),
                    "displayName": f"{first_name} {last_name}",
                    "externalId": external_id,
                    "coverages": by_client.get(cid, []),
                    "caseManagers": managers.get(cid, []),
                }
            }
            for cid, first_name, last_name, external_id, _ in page
        ]
        total = page[0][4] if page else 0
        answer = {"data": {"clients": {"totalCount": total, "edges": edges}}}
        return Response(orjson.dumps(answer), media_type="application/json")

    async def healthz(_: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    return Starlette(
        routes=[Route("/caseload", caseload, methods=["POST"]), Route("/healthz", healthz)]
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
