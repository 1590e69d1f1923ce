"""Sign-in for the front end: JWTs of the configured issuer and audience, signed RS256 or
ES256 by a key of the configured JWKS, unexpired and not before their time; claims name the
organization, the role and (for a clinician) the provider. Anything else is a 401."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import builders as b
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from httpx import AsyncClient
from pytest import LogCaptureFixture, MonkeyPatch

from cmgraph.app import create_app
from cmgraph.config import JwtSettings, Settings
from cmgraph.db.engine import Database
from cmgraph.plugins import RuleBook
from tests.support import Api

ISSUER, AUDIENCE = "https://login.example.org/", "cmgraph"


def jwk(public_key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    data = json.loads(algorithm.to_jwk(public_key))
    return {**data, "kid": kid, "alg": alg, "use": "sig"}


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "stranger": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


@pytest.fixture
async def signed_in(
    db: Database, book: RuleBook, settings: Settings, keys: dict[str, Any], tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of an app that trusts the JWKS file with the rsa and ec keys."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(
        json.dumps(
            {
                "keys": [
                    jwk(keys["rsa"].public_key(), "r1", "RS256"),
                    jwk(keys["ec"].public_key(), "e1", "ES256"),
                ]
            }
        )
    )
    configured = dataclasses.replace(
        settings,
        jwt=JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks=str(jwks), leeway_seconds=0),
    )
    app = create_app(configured, db=db, book=book)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


def token(
    keys: dict[str, Any],
    slug: str,
    role: str = "coordinator",
    *,
    key: str = "rsa",
    kid: str | None = None,
    alg: str | None = None,
    **claims: Any,
) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "person-1",
        "name": "Casey Coordinator",
        "org": slug,
        "role": role,
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    alg = alg or ("ES256" if key == "ec" else "RS256")
    kid = kid or {"rsa": "r1", "ec": "e1", "stranger": "r1"}[key]
    return jwt.encode(payload, keys[key], algorithm=alg, headers={"kid": kid})


async def post(
    client: httpx.AsyncClient, bearer: str, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {bearer}"},
    )


@pytest.mark.parametrize("key", ["rsa", "ec"])
async def test_a_valid_jwt_signs_in_with_its_role(
    api: Api, signed_in: httpx.AsyncClient, keys: dict[str, Any], key: str
) -> None:
    await b.client(api, "Jay", "Doe")
    response = await post(signed_in, token(keys, api.slug, key=key), "{ clients { totalCount } }")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["clients"]["totalCount"] == 1

    created = await post(
        signed_in,
        token(keys, api.slug, key=key),
        b.CREATE_CLIENT,
        {"input": {"firstName": "Jo", "lastName": "Web"}},
    )
    client_id = created.json()["data"]["createClient"]["client"]["id"]
    events = await api(
        "query($id: ID) { auditEvents(entityId: $id) { edges { node { actor actorName role } } } }",
        {"id": client_id},
    )
    assert events["auditEvents"]["edges"][0]["node"] == {
        "actor": "user:person-1",
        "actorName": "Casey Coordinator",
        "role": "coordinator",
    }


async def test_the_role_claim_is_enforced(
    api: Api, signed_in: httpx.AsyncClient, keys: dict[str, Any]
) -> None:
    billing = token(keys, api.slug, "billing")
    response = await post(
        signed_in, billing, b.CREATE_CLIENT, {"input": {"firstName": "A", "lastName": "B"}}
    )
    assert response.status_code == 403


async def test_a_clinician_jwt_is_bound_to_its_provider(
    api: Api, signed_in: httpx.AsyncClient, keys: dict[str, Any]
) -> None:
    mine = await b.provider(api, "Cy", "Clin")
    own = await b.client(api, "Ona", "Own")
    await b.client(api, "Nia", "NotMine")
    await b.case_manager(api, own, mine, "2026-01-01")
    clinician = token(keys, api.slug, "clinician", provider_id=mine)
    data = (await post(signed_in, clinician, "{ clients { edges { node { id } } } }")).json()
    assert [e["node"]["id"] for e in data["data"]["clients"]["edges"]] == [own]


def bad_tokens(keys: dict[str, Any], slug: str, other_provider: str) -> dict[str, str]:
    now = int(time.time())
    return {
        "expired": token(keys, slug, exp=now - 5),
        "not yet valid": token(keys, slug, nbf=now + 300),
        "no expiry": token(keys, slug, exp=None),
        "wrong audience": token(keys, slug, aud="someone-else"),
        "wrong issuer": token(keys, slug, iss="https://evil.example/"),
        "unknown key": token(keys, slug, key="stranger"),
        "unknown kid": token(keys, slug, kid="nope"),
        "hs256 with the public key": jwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "x",
                "org": slug,
                "role": "admin",
                "exp": now + 600,
            },
            "not-a-real-secret-but-long-enough-for-hmac-sha256",
            algorithm="HS256",
            headers={"kid": "r1"},
        ),
        "alg none": jwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "x",
                "org": slug,
                "role": "admin",
                "exp": now + 600,
            },
            None,  # type: ignore[arg-type]  # alg "none" signs with no key; pyjwt's types want one
            algorithm="none",
        ),
        "unknown organization": token(keys, "no-such-org"),
        "integration role": token(keys, slug, "integration"),
        "unknown role": token(keys, slug, "superuser"),
        "clinician without provider": token(keys, slug, "clinician"),
        "clinician of another organization's provider": token(
            keys, slug, "clinician", provider_id=other_provider
        ),
        "tampered": token(keys, slug)[:-4] + "AAAA",
    }


async def test_every_bad_jwt_is_a_401_and_nothing_runs(
    api: Api, other_api: Api, signed_in: httpx.AsyncClient, keys: dict[str, Any], db: Database
) -> None:
    other_provider = await b.provider(other_api, "Oz", "Other")
    for reason, bad in bad_tokens(keys, api.slug, other_provider).items():
        response = await post(
            signed_in, bad, b.CREATE_CLIENT, {"input": {"firstName": "A", "lastName": "B"}}
        )
        assert response.status_code == 401, reason
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", reason
    from cmgraph.db import models

    assert await b.count(db, models.Client, api.slug) == 0


async def test_jwts_are_refused_when_sign_in_is_not_configured(
    api: Api, http: AsyncClient, keys: dict[str, Any]
) -> None:
    response = await post(http, token(keys, api.slug), "{ clients { totalCount } }")
    assert response.status_code == 401


async def test_a_jwt_of_organization_b_sees_nothing_of_organization_a(
    api: Api, other_api: Api, signed_in: httpx.AsyncClient, keys: dict[str, Any]
) -> None:
    theirs = await b.client(api, "Alpha", "Only")
    query = "query($id: ID!) { client(id: $id) { id } clients { totalCount } }"
    data = (await post(signed_in, token(keys, other_api.slug), query, {"id": theirs})).json()[
        "data"
    ]
    assert data == {"client": None, "clients": {"totalCount": 0}}


@pytest.fixture
def jwks_url(keys: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    """The rsa key's JWKS served over HTTP on loopback, as an identity provider serves it."""
    import functools
    import http.server
    import threading

    (tmp_path / "jwks.json").write_text(
        json.dumps({"keys": [jwk(keys["rsa"].public_key(), "r1", "RS256")]})
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


async def test_a_jwks_fetched_from_a_url_verifies_tokens(
    api: Api, db: Database, book: RuleBook, settings: Settings, keys: dict[str, Any], jwks_url: str
) -> None:
    configured = dataclasses.replace(
        settings,
        jwt=JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_url, leeway_seconds=0),
    )
    app = create_app(configured, db=db, book=book)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        good = await post(client, token(keys, api.slug), "{ clients { totalCount } }")
        stranger = await post(client, token(keys, api.slug, key="stranger"), "{ __typename }")

    assert good.status_code == 200, good.text
    assert good.json()["data"]["clients"]["totalCount"] == 0
    assert stranger.status_code == 401


async def test_an_unreachable_key_set_refuses_the_token_and_is_no_server_error(
    api: Api, db: Database, book: RuleBook, settings: Settings, keys: dict[str, Any]
) -> None:
    configured = dataclasses.replace(
        settings,
        jwt=JwtSettings(
            issuer=ISSUER, audience=AUDIENCE, jwks="http://127.0.0.1:1/jwks.json", leeway_seconds=0
        ),
    )
    app = create_app(configured, db=db, book=book)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await post(client, token(keys, api.slug), "{ __typename }")

    assert response.status_code == 401


@pytest.fixture
def signin_log(caplog: LogCaptureFixture) -> Callable[[], list[str]]:
    caplog.set_level("INFO", logger="cmgraph.auth")
    # reason is the sign-in log's extra=: an attribute LogRecord does not declare
    return lambda: [r.reason for r in caplog.records if r.name == "cmgraph.auth"]  # type: ignore[attr-defined]


async def test_an_over_long_subject_is_refused_at_sign_in(
    api: Api,
    signed_in: httpx.AsyncClient,
    keys: dict[str, Any],
    signin_log: Callable[[], list[str]],
    db: Database,
) -> None:
    """The subject becomes the actor of audit events (`user:<sub>`, at most 200 characters):
    a longer one would fail the write, so it is refused at sign-in, never cut (two people's
    subjects could share a prefix)."""
    fits = await post(
        signed_in,
        token(keys, api.slug, sub="s" * 195),
        b.CREATE_CLIENT,
        {"input": {"firstName": "Fits", "lastName": "Subject"}},
    )
    assert fits.status_code == 200 and "errors" not in fits.json(), fits.text
    response = await post(
        signed_in,
        token(keys, api.slug, sub="s" * 196),
        b.CREATE_CLIENT,
        {"input": {"firstName": "Long", "lastName": "Subject"}},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert any("sub" in reason and "195" in reason for reason in signin_log())
    from cmgraph.db import models

    assert await b.count(db, models.Client, api.slug) == 1


async def test_an_over_long_name_is_cut_to_fit(
    api: Api, signed_in: httpx.AsyncClient, keys: dict[str, Any]
) -> None:
    """The name is only shown beside the actor: a longer one is cut to 200 characters rather
    than locking its owner out."""
    created = await post(
        signed_in,
        token(keys, api.slug, name="N" * 500),
        b.CREATE_CLIENT,
        {"input": {"firstName": "Long", "lastName": "Name"}},
    )
    assert created.status_code == 200 and "errors" not in created.json(), created.text
    client_id = created.json()["data"]["createClient"]["client"]["id"]
    events = await api(
        "query($id: ID) { auditEvents(entityId: $id) { edges { node { actorName } } } }",
        {"id": client_id},
    )
    assert events["auditEvents"]["edges"][0]["node"]["actorName"] == "N" * 200


async def test_a_jwt_living_longer_than_the_cap_is_refused(
    api: Api,
    signed_in: httpx.AsyncClient,
    keys: dict[str, Any],
    signin_log: Callable[[], list[str]],
) -> None:
    now = int(time.time())
    day = 24 * 3600
    within = token(keys, api.slug, iat=now - 60, exp=now - 60 + day)
    assert (await post(signed_in, within, "{ __typename }")).status_code == 200
    too_long = token(keys, api.slug, iat=now - 60, exp=now - 60 + day + 1)
    assert (await post(signed_in, too_long, "{ __typename }")).status_code == 401
    assert any("lifetime" in reason for reason in signin_log())


async def test_without_iat_a_jwt_may_not_expire_later_than_the_cap_from_now(
    api: Api, signed_in: httpx.AsyncClient, keys: dict[str, Any]
) -> None:
    now = int(time.time())
    soon = token(keys, api.slug, iat=None, exp=now + 3600)
    assert (await post(signed_in, soon, "{ __typename }")).status_code == 200
    late = token(keys, api.slug, iat=None, exp=now + 24 * 3600 + 120)
    assert (await post(signed_in, late, "{ __typename }")).status_code == 401


async def test_the_lifetime_cap_is_configurable(
    api: Api, db: Database, book: RuleBook, settings: Settings, keys: dict[str, Any], tmp_path: Path
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk(keys["rsa"].public_key(), "r1", "RS256")]}))
    configured = dataclasses.replace(
        settings,
        jwt=JwtSettings(
            issuer=ISSUER,
            audience=AUDIENCE,
            jwks=str(jwks),
            leeway_seconds=0,
            max_lifetime_seconds=300,
        ),
    )
    app = create_app(configured, db=db, book=book)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        # the helper's tokens live 600 s
        assert (await post(c, token(keys, api.slug), "{ __typename }")).status_code == 401


def test_the_lifetime_cap_is_read_from_the_environment(monkeypatch: MonkeyPatch) -> None:
    from cmgraph.config import Settings

    assert Settings.from_env().jwt.max_lifetime_seconds == 24 * 3600
    monkeypatch.setenv("CMGRAPH_JWT_MAX_LIFETIME_SECONDS", "3600")
    assert Settings.from_env().jwt.max_lifetime_seconds == 3600


class IdentityProvider:
    """A JWKS URL on loopback whose keys can be rotated, counting the fetches it answers."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        import http.server
        import threading

        self.keys, self.fetches = keys, 0
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                body = json.dumps({"keys": provider.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rotation_keys() -> dict[str, rsa.RSAPrivateKey]:
    return {n: rsa.generate_private_key(public_exponent=65537, key_size=2048) for n in "ab"}


@pytest.fixture
def idp(rotation_keys: dict[str, rsa.RSAPrivateKey]) -> Iterator[IdentityProvider]:
    provider = IdentityProvider([jwk(rotation_keys["a"].public_key(), "a", "RS256")])
    yield provider
    provider.close()


def rotated_token(private_key: Any, kid: str, slug: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "p", "org": slug, "role": "coordinator"}
    return jwt.encode(
        {**claims, "iat": now, "exp": now + 600}, private_key, "RS256", headers={"kid": kid}
    )


def app_trusting(
    settings: Settings, db: Database, book: RuleBook, url: str, refetch_seconds: int
) -> httpx.AsyncClient:
    jwt_settings = JwtSettings(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=url,
        leeway_seconds=0,
        jwks_refetch_seconds=refetch_seconds,
    )
    app = create_app(dataclasses.replace(settings, jwt=jwt_settings), db=db, book=book)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_a_rotated_key_signs_in_at_once(
    api: Api,
    db: Database,
    book: RuleBook,
    settings: Settings,
    idp: IdentityProvider,
    rotation_keys: dict[str, rsa.RSAPrivateKey],
) -> None:
    """The identity provider adds key b and signs with it: the first token naming b makes
    the service fetch the key set again, instead of refusing b until the cache expires."""
    async with app_trusting(settings, db, book, idp.url, refetch_seconds=0) as client:
        old = rotated_token(rotation_keys["a"], "a", api.slug)
        assert (await post(client, old, "{ __typename }")).status_code == 200
        assert idp.fetches == 1

        idp.keys = [jwk(rotation_keys["b"].public_key(), "b", "RS256")]  # a withdrawn, b new
        new = rotated_token(rotation_keys["b"], "b", api.slug)
        response = await post(client, new, "{ clients { totalCount } }")
        assert response.status_code == 200, response.text
        assert idp.fetches == 2
        # the set now fetched no longer has a: its tokens stop verifying
        assert (await post(client, old, "{ __typename }")).status_code == 401


async def test_unknown_kids_fetch_the_key_set_at_most_once_per_cooldown(
    api: Api,
    db: Database,
    book: RuleBook,
    settings: Settings,
    idp: IdentityProvider,
    rotation_keys: dict[str, rsa.RSAPrivateKey],
) -> None:
    """Anyone can send a token with a made-up kid: that must not make the service hammer
    the identity provider. Within the cooldown after a fetch, unknown kids are refused
    without fetching."""
    async with app_trusting(settings, db, book, idp.url, refetch_seconds=3600) as client:
        good = rotated_token(rotation_keys["a"], "a", api.slug)
        assert (await post(client, good, "{ __typename }")).status_code == 200
        for n in range(10):
            forged = rotated_token(rotation_keys["b"], f"made-up-{n}", api.slug)
            assert (await post(client, forged, "{ __typename }")).status_code == 401
        assert idp.fetches == 1
        assert (await post(client, good, "{ __typename }")).status_code == 200


def test_the_refetch_cooldown_is_read_from_the_environment(monkeypatch: MonkeyPatch) -> None:
    from cmgraph.config import Settings

    assert Settings.from_env({}).jwt.jwks_refetch_seconds == 30
    monkeypatch.setenv("CMGRAPH_JWT_JWKS_REFETCH_SECONDS", "5")
    assert Settings.from_env().jwt.jwks_refetch_seconds == 5
