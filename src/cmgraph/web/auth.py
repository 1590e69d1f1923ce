"""Who is calling: an API token (integrations, scripts) or a JWT (people, via the front end)."""

from __future__ import annotations

import logging

from cmgraph.api import ids
from cmgraph.config import JwtSettings
from cmgraph.db.engine import Database
from cmgraph.services import tokens
from cmgraph.services.access import Principal
from cmgraph.services.signin import Rejected, Verifier, looks_like_jwt

log = logging.getLogger("cmgraph.auth")


class Authenticator:
    def __init__(self, db: Database, jwt: JwtSettings, verifier: Verifier | None = None) -> None:
        self.db = db
        self.verifier = verifier
        if verifier is None and jwt.enabled:
            # the provider claim holds the provider's global id, as the API shows it
            self.verifier = Verifier(jwt, lambda v: ids.decode_as(v, "Provider"))

    async def principal(self, authorization: str) -> Principal | None:
        kind, _, token = authorization.partition(" ")
        token = token.strip()
        if kind.lower() != "bearer" or not token:
            return None
        if token.startswith(tokens.TOKEN_PREFIX):
            return await tokens.authenticate(self.db, token)
        if self.verifier is not None and looks_like_jwt(token):
            try:
                return await self.verifier.principal(self.db, token)
            except Rejected as rejected:
                log.info("sign-in refused", extra={"reason": str(rejected)})
        return None
