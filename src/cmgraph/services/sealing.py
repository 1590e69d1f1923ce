"""Secrets at rest (webhook signing secrets): encrypted with Fernet keys from the settings.

CMGRAPH_SECRET_KEY encrypts (and decrypts); keys in CMGRAPH_SECRET_KEY_PREVIOUS (comma-
separated) still decrypt, so a key is rotated without downtime: put the old key in
PREVIOUS, a new one (`cmgraph secret-key`) in SECRET_KEY, restart (cryptography's
MultiFernet; docs/webhooks.md, "Keys")."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from cmgraph.config import Settings

MISSING_KEY = (
    "webhooks need CMGRAPH_SECRET_KEY (a Fernet key; `cmgraph secret-key` prints a new one)"
)


class SealingError(Exception):
    """No key, a malformed key, or a secret that none of the keys decrypts."""


def new_key() -> str:
    """32 random bytes, url-safe base64: a Fernet key."""
    return Fernet.generate_key().decode()


class Sealer:
    def __init__(self, key: str, previous: tuple[str, ...] = ()) -> None:
        try:
            self._keys = MultiFernet([Fernet(k.encode()) for k in (key, *previous)])
        except (ValueError, TypeError) as exc:
            raise SealingError(
                "CMGRAPH_SECRET_KEY (or a key in CMGRAPH_SECRET_KEY_PREVIOUS) is not a Fernet "
                "key: 32 bytes, url-safe base64 (`cmgraph secret-key` prints one)"
            ) from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> Sealer:
        if not settings.secret_key:
            raise SealingError(MISSING_KEY)
        return cls(settings.secret_key, settings.previous_secret_keys)

    def seal(self, secret: str) -> str:
        return self._keys.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._keys.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SealingError(
                "a stored secret is encrypted with a key that is neither CMGRAPH_SECRET_KEY nor "
                "in CMGRAPH_SECRET_KEY_PREVIOUS"
            ) from exc
