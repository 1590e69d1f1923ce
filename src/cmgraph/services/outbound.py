"""One webhook attempt over HTTP: resolve, check the address, connect to it, POST, read the
status code and nothing else (never the receiver's body), all within the timeout.

The request goes to the checked address itself, with the URL's name in the Host header and
in TLS (SNI and certificate verification: httpcore's `sni_hostname`), so DNS is asked once
per attempt and what it answered is what was checked (services.destinations). Redirects are
not followed (a 3xx is a failure), and no proxy from the environment is used (it would
connect elsewhere than the address checked). For the same reason SSL_CERT_FILE is not read:
a receiver behind a private CA is trusted with CMGRAPH_WEBHOOK_CA_FILE, beside the public
roots (certifi's, httpx's default)."""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass

import httpx

from cmgraph import __version__
from cmgraph.services import destinations

USER_AGENT = f"cmgraph-webhooks/{__version__}"

# The error classes an attempt records (docs/webhooks.md, "Deliveries").
TIMEOUT = "TIMEOUT"
CONNECT_ERROR = "CONNECT_ERROR"
PROTOCOL_ERROR = "PROTOCOL_ERROR"
TLS_ERROR = "TLS_ERROR"  # the handshake failed: most often a certificate not trusted
HTTP_STATUS = "HTTP_STATUS"  # answered, but not 2xx (redirects included)


@dataclass(frozen=True)
class Result:
    status_code: int | None
    error: str | None  # None: a 2xx in time
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.error is None


def client(ca_file: str | None = None) -> httpx.AsyncClient:
    """A client for the attempts to one endpoint (connections are reused only for it), that
    trusts the public roots and the CAs in `ca_file`, if given."""
    verify: ssl.SSLContext | bool = True
    if ca_file is not None:
        verify = httpx.create_ssl_context(trust_env=False)  # httpx's default: certifi's roots
        verify.load_verify_locations(cafile=ca_file)
    return httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=None, verify=verify)


def _tls_failed(error: BaseException) -> bool:
    """Whether an SSL error lies under a connect error (httpx wraps httpcore wraps ssl)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def post(
    http: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    seconds: float,
    allow_private: bool,
    resolver: destinations.Resolver,
) -> Result:
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(seconds):
            target = destinations.check_url(url, allow_private)
            place = await destinations.resolve(target, allow_private, resolver)
            named = httpx.URL(url)
            request = http.build_request(
                "POST",
                named.copy_with(host=str(place.address)),
                content=body,
                headers={
                    **headers,
                    "host": named.netloc.decode("ascii"),
                    "content-type": "application/json",
                    "user-agent": USER_AGENT,
                },
                extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
            )
            response = await http.send(request, stream=True)
            status = response.status_code
            await response.aclose()  # the body is never read
    except destinations.Refused as refused:
        error = refused.code
    except (TimeoutError, httpx.TimeoutException):
        error = TIMEOUT
    except httpx.ConnectError as failed:
        error = TLS_ERROR if _tls_failed(failed) else CONNECT_ERROR
    except httpx.HTTPError:
        error = PROTOCOL_ERROR
    if error is None and status is not None and not 200 <= status < 300:
        error = HTTP_STATUS
    return Result(status, error, round((time.monotonic() - started) * 1000))
