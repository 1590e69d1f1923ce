"""Shared query text for the plugin tests: claim lines and case-manager checks."""

from __future__ import annotations

from typing import Any

CLAIM_LINES = """
query($from: Date!, $to: Date!, $client: ID) {
  claimLines(from: $from, to: $to, clientId: $client, first: 100) {
    totalCount
    edges { node {
      dateOfService serviceCode modifiers
      appointment { id telehealth }
      payor { name }
      deliveredBy { id displayName }
      renderingProvider { id displayName }
      supervisingProvider { id displayName }
      findings { code severity message rule plugin }
    } }
  }
}
"""


async def claim_lines(api: Any, client: str, start: str, end: str) -> list[dict[str, Any]]:
    data = await api(CLAIM_LINES, {"from": start, "to": end, "client": client})
    return [edge["node"] for edge in data["claimLines"]["edges"]]
