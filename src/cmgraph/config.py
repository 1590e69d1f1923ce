"""Settings read from the environment, once, at start-up.

Every limit is on by default; an operator loosens one by setting its variable (README,
"Limits")."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./cmgraph.db"


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; beyond these the request is refused before it runs."""

    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_selections: int = 5000  # fields, with every fragment spread expanded
    # a client screen of 100 clients with their lines, history and findings costs ~24000
    max_cost: int = 25000
    list_cost_factor: int = 5
    max_body_bytes: int = 500_000  # room for 1,000 rendering questions (about 110 kB)


@dataclass(frozen=True)
class JwtSettings:
    """Sign-in for the front end: JWTs from one issuer, for one audience, keys from a JWKS."""

    issuer: str | None = None
    audience: str | None = None
    jwks: str | None = None  # a file path or an https:// URL
    leeway_seconds: int = 30
    # a token may live this long (exp - iat; without iat, exp - now): a stolen one is
    # worthless soon even when the identity provider issues long-lived ones
    max_lifetime_seconds: int = 24 * 3600
    org_claim: str = "org"
    role_claim: str = "role"
    provider_claim: str = "provider_id"

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.audience and self.jwks)


RETRY_SECONDS = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True)
class WebhookSettings:
    """Webhook delivery (docs/webhooks.md): where it may connect, how it retries, and whether
    this process dispatches (`cmgraph serve` and `cmgraph worker` turn that on)."""

    dispatch: bool = False
    # development and tests only: http:// and private addresses (never cloud metadata)
    allow_private_networks: bool = False
    # pauses after each failed attempt (jittered); once spent, the delivery has failed
    retry_seconds: tuple[float, ...] = RETRY_SECONDS
    disable_after_seconds: float = 5 * 24 * 3600.0  # an endpoint failing this long: disabled
    timeout_seconds: float = 10.0  # a 2xx within this is success
    poll_seconds: float = 1.0
    lease_seconds: float = 30.0  # a process killed mid-delivery lets go after this


@dataclass(frozen=True)
class Settings:
    database_url: str
    plugins_dir: Path
    disabled_plugins: frozenset[str]
    development: bool
    max_page_size: int
    limits: Limits = field(default_factory=Limits)
    jwt: JwtSettings = field(default_factory=JwtSettings)
    cors_origins: tuple[str, ...] = ()
    # how long `cmgraph serve` lets requests in flight finish once asked to stop
    graceful_shutdown_seconds: int = 30
    # Fernet keys (services.sealing): the current one encrypts, previous ones still decrypt
    secret_key: str | None = None
    previous_secret_keys: tuple[str, ...] = ()
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        disabled = env.get("CMGRAPH_DISABLE_PLUGINS", "")

        def number(name: str, default: int) -> int:
            return int(env.get(name, str(default)))

        defaults = Limits()
        return cls(
            database_url=env.get("CMGRAPH_DATABASE_URL", DEFAULT_DATABASE_URL),
            plugins_dir=Path(env.get("CMGRAPH_PLUGINS_DIR", "plugins")),
            disabled_plugins=frozenset(n.strip() for n in disabled.split(",") if n.strip()),
            development=env.get("CMGRAPH_DEV", "") in {"1", "true", "yes"},
            max_page_size=number("CMGRAPH_MAX_PAGE_SIZE", 100),
            limits=Limits(
                max_depth=number("CMGRAPH_MAX_DEPTH", defaults.max_depth),
                max_aliases=number("CMGRAPH_MAX_ALIASES", defaults.max_aliases),
                max_tokens=number("CMGRAPH_MAX_TOKENS", defaults.max_tokens),
                max_selections=number("CMGRAPH_MAX_SELECTIONS", defaults.max_selections),
                max_cost=number("CMGRAPH_MAX_COST", defaults.max_cost),
                list_cost_factor=number("CMGRAPH_LIST_COST_FACTOR", defaults.list_cost_factor),
                max_body_bytes=number("CMGRAPH_MAX_BODY_BYTES", defaults.max_body_bytes),
            ),
            jwt=JwtSettings(
                issuer=env.get("CMGRAPH_JWT_ISSUER") or None,
                audience=env.get("CMGRAPH_JWT_AUDIENCE") or None,
                jwks=env.get("CMGRAPH_JWT_JWKS") or None,
                leeway_seconds=number("CMGRAPH_JWT_LEEWAY_SECONDS", 30),
                max_lifetime_seconds=number(
                    "CMGRAPH_JWT_MAX_LIFETIME_SECONDS", JwtSettings.max_lifetime_seconds
                ),
                org_claim=env.get("CMGRAPH_JWT_ORG_CLAIM", "org"),
                role_claim=env.get("CMGRAPH_JWT_ROLE_CLAIM", "role"),
                provider_claim=env.get("CMGRAPH_JWT_PROVIDER_CLAIM", "provider_id"),
            ),
            cors_origins=tuple(
                o.strip() for o in env.get("CMGRAPH_CORS_ORIGINS", "").split(",") if o.strip()
            ),
            graceful_shutdown_seconds=number("CMGRAPH_GRACEFUL_SHUTDOWN_SECONDS", 30),
            secret_key=env.get("CMGRAPH_SECRET_KEY") or None,
            previous_secret_keys=_listed(env.get("CMGRAPH_SECRET_KEY_PREVIOUS", "")),
            webhooks=_webhooks(env),
        )


def _listed(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _flag(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes"}


def _webhooks(env: os._Environ[str] | dict[str, str]) -> WebhookSettings:
    defaults = WebhookSettings()
    schedule = _listed(env.get("CMGRAPH_WEBHOOK_RETRY_SCHEDULE", ""))
    return WebhookSettings(
        dispatch=_flag(env.get("CMGRAPH_WEBHOOK_DISPATCH")),
        allow_private_networks=_flag(env.get("CMGRAPH_WEBHOOK_ALLOW_PRIVATE_NETWORKS")),
        retry_seconds=tuple(float(s) for s in schedule) or defaults.retry_seconds,
        disable_after_seconds=float(
            env.get("CMGRAPH_WEBHOOK_DISABLE_AFTER_SECONDS", defaults.disable_after_seconds)
        ),
        timeout_seconds=float(env.get("CMGRAPH_WEBHOOK_TIMEOUT_SECONDS", defaults.timeout_seconds)),
        poll_seconds=float(env.get("CMGRAPH_WEBHOOK_POLL_SECONDS", defaults.poll_seconds)),
        lease_seconds=float(env.get("CMGRAPH_WEBHOOK_LEASE_SECONDS", defaults.lease_seconds)),
    )
