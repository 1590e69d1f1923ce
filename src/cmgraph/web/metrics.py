"""GET /metrics on the service's own port: the Prometheus text format, for a scraper that
sends `Authorization: Bearer <CMGRAPH_METRICS_TOKEN>`. Anything else is a 401 that says
nothing about the metrics. (With CMGRAPH_METRICS_PORT instead, serving.py answers on a port
of its own and this route does not exist.)"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from cmgraph.observability import metrics


def metrics_endpoint(token: str) -> Callable[[Request], Awaitable[Response]]:
    expected = f"Bearer {token}".encode()

    async def endpoint(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):  # constant time: no guessing by timing
            return PlainTextResponse(
                "unauthorized", 401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'}
            )
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    return endpoint
