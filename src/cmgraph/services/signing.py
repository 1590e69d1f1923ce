"""Standard Webhooks signatures (https://www.standardwebhooks.com, the spec Svix wrote).

A secret is `whsec_` + base64 of 32 random bytes. A delivery carries `webhook-id` (the
event's id: the same for every attempt), `webhook-timestamp` (Unix seconds) and
`webhook-signature`: `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}` with the
secret's bytes, one per secret, separated by spaces (during a rotation both secrets sign).

Written here rather than imported: the spec's signing is these few lines of the standard
library, and the reference library (`standardwebhooks`, a dev dependency) verifies what they
make in the tests, as a receiver does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret given."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets_),
    }
