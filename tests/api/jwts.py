"""JWTs for tests: keys, their JWKS, and tokens signed as the identity provider would."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER, AUDIENCE = "https://login.example.org/", "cmgraph"


def write_jwks(path: Path, key: rsa.RSAPrivateKey, kid: str = "r1") -> Path:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    path.write_text(json.dumps({"keys": [{**data, "kid": kid, "alg": "RS256", "use": "sig"}]}))
    return path


def person_token(key: rsa.RSAPrivateKey, slug: str, role: str = "coordinator") -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "person-1",
        "name": "Casey Coordinator",
        "org": slug,
        "role": role,
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "r1"})
