"""Where a webhook may go: no server-side request forgery.

Only https URLs, to public addresses: never loopback, private, link-local, shared, reserved,
unspecified or multicast ones, and never a cloud metadata service. A URL is checked when an
endpoint is registered and again at each delivery, after DNS resolution; the delivery then
connects to the very address it checked (`Destination.address`, with the name kept for the
Host header and TLS), so a name that resolves elsewhere a moment later (DNS rebinding) gains
nothing. For development and tests `CMGRAPH_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true` allows http
and private addresses; metadata addresses stay refused even then.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# name, port -> the addresses it resolves to
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

# Cloud instance metadata services (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS over
# IPv6: fd00:ec2::254; AWS ECS task metadata; Alibaba): credentials live there.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
MAX_URL = 2048


class Refused(ValueError):
    """The URL or the address it resolves to may not be called; the message says why."""

    def __init__(self, message: str, code: str = "ADDRESS_REFUSED") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    """A checked URL, before resolution."""

    url: str
    scheme: str
    host: str  # a name or an address, without brackets
    port: int


@dataclass(frozen=True)
class Destination:
    """A target and the one address to connect to."""

    target: Target
    address: IPAddress


def _as_address(host: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address


def refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why an address may not be called, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA:
        return f"{address} is a cloud metadata address"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_unspecified:
        return f"{address} is an unspecified address"
    if allow_private:
        return None
    for category, name in (
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
    ):
        if category:
            return f"{address} is a {name} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def check_url(url: str, allow_private: bool) -> Target:
    """The URL's target, or Refused (code INVALID_URL or ADDRESS_REFUSED)."""
    if len(url) > MAX_URL:
        raise Refused(f"The URL is longer than {MAX_URL} characters.", "INVALID_URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"Not a URL: {exc}.", "INVALID_URL") from exc
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise Refused("A webhook URL must start with https://.", "INVALID_URL")
    if not parts.hostname:
        raise Refused("A webhook URL needs a host.", "INVALID_URL")
    if parts.username is not None or parts.password is not None:
        raise Refused("A webhook URL may not carry a user or password.", "INVALID_URL")
    if parts.fragment:
        raise Refused("A webhook URL may not have a #fragment.", "INVALID_URL")
    host = parts.hostname.rstrip(".")
    if not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise Refused(f"{host} is a loopback name.")
    address = _as_address(host)
    if address is not None and (why := refusal(address, allow_private)):
        raise Refused(f"The URL's host {why}.")
    return Target(url, parts.scheme, host, port or (443 if parts.scheme == "https" else 80))


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


async def resolve(target: Target, allow_private: bool, resolver: Resolver) -> Destination:
    """The address to connect to: every address the name resolves to must be allowed (a
    name with one private address among public ones is refused), and the first is used."""
    literal = _as_address(target.host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            addresses = await resolver(target.host, target.port)
        except OSError as exc:
            raise Refused(f"{target.host} does not resolve.", "DNS_ERROR") from exc
        if not addresses:
            raise Refused(f"{target.host} does not resolve.", "DNS_ERROR")
    for address in addresses:
        if why := refusal(address, allow_private):
            raise Refused(f"{target.host} resolves to {why}.")
    return Destination(target, addresses[0])
