"""Sign-in for the front end: bearer JWTs from the configured issuer, for the configured
audience, signed (RS256 or ES256) by a key of the configured JWKS (a file or a URL).

Expiry (required) and not-before (when present) are enforced with a small leeway for clock
skew. A token may live at most a configured time (24 hours by default) from `iat`, or from
now when it has no `iat`. The subject (required) may not be longer than the actor column
allows; the name is cut to fit. Claims name the organization (its slug), the role (a
person's role: admin, coordinator, billing or clinician) and, for a clinician, the provider
(its global id). Any failure means "not signed in": the caller gets a 401 and the log says
why, without the token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt
from sqlalchemy import select

from cmgraph.config import JwtSettings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services.access import CLINICIAN, PERSON_ROLES, Principal

log = logging.getLogger("cmgraph.signin")

ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
# The actor of audit events and idempotency records is `user:<sub>`, in columns of 200
# characters: a longer subject would fail the write, and cutting it could make two people one.
ACTOR_PREFIX = "user:"
MAX_SUBJECT = 200 - len(ACTOR_PREFIX)
MAX_NAME = 200  # the actor's name, only shown beside the actor: cut to fit
JWKS_LIFESPAN_SECONDS = 300  # a fetched key set is used this long before it is fetched again


class Rejected(Exception):
    """Why a JWT was not accepted; the message is safe to log (no token, no claims' values)."""


class KeySet:
    """The verification keys: a JWKS file read once, or a URL fetched and cached.

    A URL's key set is cached for `JWKS_LIFESPAN_SECONDS`. When the identity provider
    rotates its keys, a token names a `kid` the cached set lacks: the set is fetched again at
    once, unless a fetch succeeded less than `refetch_seconds` ago (PyJWT's cooldown), so a
    stream of tokens with made-up kids costs the identity provider at most one fetch per
    cooldown. Keys are looked up in the current set each time, never cached one by one: a
    key the provider withdrew stops verifying when the set is next fetched."""

    def __init__(self, source: str, refetch_seconds: float = 30) -> None:
        self._client: jwt.PyJWKClient | None = None
        self._keys: list[jwt.PyJWK] = []
        if source.startswith(("https://", "http://")):
            self._client = jwt.PyJWKClient(
                source,
                cache_keys=False,
                lifespan=JWKS_LIFESPAN_SECONDS,
                timeout=5,
                cooldown_duration=refetch_seconds,
            )
        else:
            data = json.loads(Path(source).read_text())
            self._keys = [
                k for k in jwt.PyJWKSet.from_dict(data).keys if k.key_type in ALGORITHMS.values()
            ]

    async def key(self, kid: str | None, algorithm: str) -> Any:
        kty = ALGORITHMS[algorithm]
        if self._client is not None and kid is not None:
            client = self._client
            try:  # an unknown kid refetches the set (rate-limited), then looks again
                found = await asyncio.to_thread(client.get_signing_key, kid)
            except jwt.PyJWKClientError as exc:
                raise Rejected(f"no key of the key set has the token's kid: {_why(exc)}") from None
            keys = [found]
        elif self._client is not None:
            try:
                keys = await asyncio.to_thread(self._client.get_signing_keys)
            except jwt.PyJWKClientError as exc:
                raise Rejected(f"the key set could not be fetched: {_why(exc)}") from None
        else:
            keys = self._keys
        fitting = [k for k in keys if k.key_type == kty and (kid is None or k.key_id == kid)]
        if len(fitting) != 1:
            raise Rejected("no single key of the key set matches the token's kid and alg")
        return fitting[0].key


def _why(exc: jwt.PyJWKClientError) -> str:
    """The kind of failure, never the kid (the token's, the caller's text)."""
    if "Unable to find a signing key" in str(exc):
        return "not in the set"
    return type(exc).__name__


class Verifier:
    def __init__(
        self,
        settings: JwtSettings,
        provider_id: Callable[[str], UUID | None],
        keys: KeySet | None = None,
    ) -> None:
        assert settings.enabled, "JWT sign-in needs an issuer, an audience and a JWKS"
        self.settings = settings
        self.keys = keys or KeySet(settings.jwks or "", settings.jwks_refetch_seconds)
        self.provider_id = provider_id

    async def claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Rejected(f"malformed token: {type(exc).__name__}") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise Rejected(f"algorithm {algorithm!r} is not accepted (RS256, ES256)")
        key = await self.keys.key(header.get("kid"), algorithm)
        s = self.settings
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise Rejected(f"invalid token: {type(exc).__name__}") from None
        # PyJWT has checked that exp (and iat, when present) convert with int(), and that iat
        # is not in the future. Without iat the token's age is unknown: it may then expire no
        # later than the cap from now, which bounds how long it stays usable all the same.
        issued = int(claims["iat"]) if "iat" in claims else int(time.time())
        if int(claims["exp"]) - issued > s.max_lifetime_seconds:
            raise Rejected(f"lifetime (exp - iat) over {s.max_lifetime_seconds} seconds")
        return claims

    async def principal(self, db: Database, token: str) -> Principal:
        claims = await self.claims(token)
        s = self.settings
        if len(claims["sub"]) > MAX_SUBJECT:  # PyJWT has checked that it is a string
            raise Rejected(f"claim 'sub' is longer than {MAX_SUBJECT} characters")
        slug, role = claims.get(s.org_claim), claims.get(s.role_claim)
        if not isinstance(slug, str) or not slug:
            raise Rejected(f"no organization in claim {s.org_claim!r}")
        if role not in PERSON_ROLES:
            raise Rejected(f"claim {s.role_claim!r} names no role of a person")
        provider: UUID | None = None
        if role == CLINICIAN:
            raw = claims.get(s.provider_claim)
            provider = self.provider_id(raw) if isinstance(raw, str) else None
            if provider is None:
                raise Rejected(f"a clinician needs a provider id in claim {s.provider_claim!r}")
        async with db.read() as session:
            org = await session.scalar(
                select(models.Organization).where(models.Organization.slug == slug)
            )
            if org is None:
                raise Rejected("the token's organization does not exist")
            if provider is not None and not await session.scalar(
                select(models.Provider.id).where(
                    models.Provider.organization_id == org.id, models.Provider.id == provider
                )
            ):
                raise Rejected("the token's provider is not in its organization")
        name = claims.get("name") or claims.get("email") or claims.get("preferred_username")
        return Principal(
            organization_id=org.id,
            timezone=org.timezone,
            role=str(role),
            actor=f"{ACTOR_PREFIX}{claims['sub']}",
            actor_name=name[:MAX_NAME] if isinstance(name, str) else "",
            provider_id=provider,
        )


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2
