"""Settings read from the environment, once, at start-up.

Every limit is on by default; an operator loosens one by setting its variable (README,
"Limits"). A value that is not what its variable takes is a SettingsError whose message is
one line naming the variable, what it takes and what it got.

Hand-written rather than pydantic-settings: about twenty plain variables, frozen dataclasses
the rest of the code already uses, and messages in our words (pydantic's name its own
fields and list every error); the parsing below is a few small functions."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./cmgraph.db"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}
# what operators and hosting platforms write; SQLAlchemy would pick psycopg2 (not installed)
_POSTGRES_SCHEMES = {"postgres", "postgresql"}


class SettingsError(ValueError):
    """An environment variable holds what it does not take; the message is one line."""


def database_url(value: str, name: str = "CMGRAPH_DATABASE_URL") -> str:
    """The URL to connect with: `postgresql://` and `postgres://` mean asyncpg, the driver
    cmgraph ships with; anything SQLAlchemy cannot read is a SettingsError."""
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise SettingsError(
            f"{name} is not a database URL: {value!r} (e.g. "
            "postgresql+asyncpg://user:password@host/db or sqlite+aiosqlite:///./cmgraph.db)"
        ) from exc
    if url.drivername in _POSTGRES_SCHEMES:
        return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    return value


def flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} takes true or false (1/0, yes/no, on/off), got {value!r}")


def whole_number(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise SettingsError(f"{name} takes a whole number of at least {minimum}, got {raw!r}")
    return value


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; beyond these the request is refused before it runs."""

    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_selections: int = 5000  # fields, with every fragment spread expanded
    max_field_directives: int = 5  # directives on one field
    max_repeated_fields: int = 20  # one response key in one selection set, fragments expanded
    # a client screen of 100 clients with their lines, history and findings costs ~24000
    max_cost: int = 25000
    list_cost_factor: int = 5
    max_report_days: int = 366  # the longest window of dates a report may span
    max_body_bytes: int = 500_000  # room for 1,000 rendering questions (about 110 kB)
    # each caller's budget per minute, per process (web.budget); 0: none
    requests_per_minute: int = 600
    cost_per_minute: int = 250_000  # ten requests at the cost limit
    request_seconds: float = 10.0  # a query's time budget (web.graphql_http); 0: none
    concurrent_reports: int = 2  # heavy reports running at once per process (web.reports); 0: any


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
    # an unknown kid (the provider rotated its keys) fetches the JWKS URL again, at most
    # once in this many seconds
    jwks_refetch_seconds: int = 30
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
    # a PEM bundle of CAs trusted beside the public ones (receivers behind a private CA)
    ca_file: str | None = None


@dataclass(frozen=True)
class MetricsSettings:
    """Prometheus metrics: off, or on behind a bearer token at /metrics, or on a port of
    their own (never open next to /graphql)."""

    enabled: bool = False
    token: str | None = None  # /metrics on the service's port asks for it (Bearer)
    port: int | None = None  # a listener of its own, for /metrics only

    MIN_TOKEN_LENGTH = 16

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MetricsSettings:
        if not flag(env, "CMGRAPH_METRICS"):
            return cls()
        token = env.get("CMGRAPH_METRICS_TOKEN", "").strip() or None
        port = whole_number(env, "CMGRAPH_METRICS_PORT", 0, minimum=0) or None
        if port is not None and port > 65535:
            raise SettingsError(f"CMGRAPH_METRICS_PORT takes a port (1-65535), got {port}")
        if (token is None) == (port is None):
            raise SettingsError(
                "CMGRAPH_METRICS=true takes exactly one of CMGRAPH_METRICS_TOKEN (a bearer "
                "token for /metrics) or CMGRAPH_METRICS_PORT (a port of its own)"
            )
        if token is not None and len(token) < cls.MIN_TOKEN_LENGTH:
            raise SettingsError(
                f"CMGRAPH_METRICS_TOKEN takes at least {cls.MIN_TOKEN_LENGTH} characters"
            )
        return cls(enabled=True, token=token, port=port)


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
    # the reference UI at /app (README, "The reference UI"); the demo turns it on
    ui: bool = False
    # CMGRAPH_TRUSTED_DOCUMENTS=only: people (JWT) may run only the UI's documents
    trusted_documents_only: bool = False
    # at start-up, judge again in the background the stored findings of organizations whose
    # were judged by other rules (services.findings); `cmgraph findings rebuild` does it too
    rebuild_findings_on_start: bool = True
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    # Fernet keys (services.sealing): the current one encrypts, previous ones still decrypt
    secret_key: str | None = None
    previous_secret_keys: tuple[str, ...] = ()
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    # PostgreSQL: connections each process keeps open once opened, and how many more it may
    # open at a peak and closes after; processes x (both) must fit the server's
    # max_connections. All 15 kept, not SQLAlchemy's 5 + 10: a worker busier than 5 at once
    # closed and reopened connections all the time (README, "Running at scale")
    db_pool_size: int = 15
    db_pool_overflow: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of the environment; SettingsError on the first bad variable."""
        env = os.environ if env is None else env
        disabled = env.get("CMGRAPH_DISABLE_PLUGINS", "")

        def number(name: str, default: int, minimum: int = 1) -> int:
            return whole_number(env, name, default, minimum)

        defaults = Limits()
        return cls(
            database_url=database_url(env.get("CMGRAPH_DATABASE_URL") or DEFAULT_DATABASE_URL),
            plugins_dir=Path(env.get("CMGRAPH_PLUGINS_DIR", "plugins")),
            disabled_plugins=frozenset(n.strip() for n in disabled.split(",") if n.strip()),
            development=flag(env, "CMGRAPH_DEV"),
            max_page_size=number("CMGRAPH_MAX_PAGE_SIZE", 100),
            limits=Limits(
                max_depth=number("CMGRAPH_MAX_DEPTH", defaults.max_depth),
                max_aliases=number("CMGRAPH_MAX_ALIASES", defaults.max_aliases),
                max_tokens=number("CMGRAPH_MAX_TOKENS", defaults.max_tokens),
                max_selections=number("CMGRAPH_MAX_SELECTIONS", defaults.max_selections),
                max_field_directives=number(
                    "CMGRAPH_MAX_FIELD_DIRECTIVES", defaults.max_field_directives
                ),
                max_repeated_fields=number(
                    "CMGRAPH_MAX_REPEATED_FIELDS", defaults.max_repeated_fields
                ),
                max_cost=number("CMGRAPH_MAX_COST", defaults.max_cost),
                list_cost_factor=number("CMGRAPH_LIST_COST_FACTOR", defaults.list_cost_factor),
                max_report_days=number("CMGRAPH_MAX_REPORT_DAYS", defaults.max_report_days),
                max_body_bytes=number("CMGRAPH_MAX_BODY_BYTES", defaults.max_body_bytes),
                # 0 turns the budget and the time budget off (README, Limits)
                requests_per_minute=number(
                    "CMGRAPH_REQUESTS_PER_MINUTE", defaults.requests_per_minute, minimum=0
                ),
                cost_per_minute=number(
                    "CMGRAPH_COST_PER_MINUTE", defaults.cost_per_minute, minimum=0
                ),
                request_seconds=_seconds(
                    env, "CMGRAPH_REQUEST_TIMEOUT_SECONDS", defaults.request_seconds
                ),
                concurrent_reports=number(
                    "CMGRAPH_CONCURRENT_REPORTS", defaults.concurrent_reports, minimum=0
                ),
            ),
            jwt=JwtSettings(
                issuer=env.get("CMGRAPH_JWT_ISSUER") or None,
                audience=env.get("CMGRAPH_JWT_AUDIENCE") or None,
                jwks=env.get("CMGRAPH_JWT_JWKS") or None,
                leeway_seconds=number("CMGRAPH_JWT_LEEWAY_SECONDS", 30, minimum=0),
                max_lifetime_seconds=number(
                    "CMGRAPH_JWT_MAX_LIFETIME_SECONDS", JwtSettings.max_lifetime_seconds
                ),
                jwks_refetch_seconds=number(
                    "CMGRAPH_JWT_JWKS_REFETCH_SECONDS", JwtSettings.jwks_refetch_seconds, minimum=0
                ),
                org_claim=env.get("CMGRAPH_JWT_ORG_CLAIM", "org"),
                role_claim=env.get("CMGRAPH_JWT_ROLE_CLAIM", "role"),
                provider_claim=env.get("CMGRAPH_JWT_PROVIDER_CLAIM", "provider_id"),
            ),
            cors_origins=tuple(
                o.strip() for o in env.get("CMGRAPH_CORS_ORIGINS", "").split(",") if o.strip()
            ),
            graceful_shutdown_seconds=number("CMGRAPH_GRACEFUL_SHUTDOWN_SECONDS", 30, minimum=0),
            metrics=MetricsSettings.from_env(env),
            ui=flag(env, "CMGRAPH_UI"),
            trusted_documents_only=_trusted_documents(env.get("CMGRAPH_TRUSTED_DOCUMENTS", "")),
            # on unless said otherwise
            rebuild_findings_on_start=not env.get("CMGRAPH_REBUILD_FINDINGS_ON_START", "").strip()
            or flag(env, "CMGRAPH_REBUILD_FINDINGS_ON_START"),
            secret_key=env.get("CMGRAPH_SECRET_KEY") or None,
            previous_secret_keys=_listed(env.get("CMGRAPH_SECRET_KEY_PREVIOUS", "")),
            webhooks=_webhooks(env),
            db_pool_size=number("CMGRAPH_DB_POOL_SIZE", 15),
            db_pool_overflow=number("CMGRAPH_DB_POOL_OVERFLOW", 0, minimum=0),
        )


def _trusted_documents(value: str) -> bool:
    if value.lower() in {"", "off"}:
        return False
    if value.lower() == "only":
        return True
    raise SettingsError(f"CMGRAPH_TRUSTED_DOCUMENTS takes only or off, got {value!r}")


def _listed(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise SettingsError(f"{name} takes a number of seconds, at least 0, got {raw!r}")
    return value


def _webhooks(env: Mapping[str, str]) -> WebhookSettings:
    defaults = WebhookSettings()
    schedule = _listed(env.get("CMGRAPH_WEBHOOK_RETRY_SCHEDULE", ""))
    try:
        retries = tuple(float(s) for s in schedule) or defaults.retry_seconds
    except ValueError:
        raise SettingsError(
            "CMGRAPH_WEBHOOK_RETRY_SCHEDULE takes comma-separated seconds, got "
            f"{env.get('CMGRAPH_WEBHOOK_RETRY_SCHEDULE')!r}"
        ) from None
    return WebhookSettings(
        dispatch=flag(env, "CMGRAPH_WEBHOOK_DISPATCH"),
        allow_private_networks=flag(env, "CMGRAPH_WEBHOOK_ALLOW_PRIVATE_NETWORKS"),
        retry_seconds=retries,
        disable_after_seconds=_seconds(
            env, "CMGRAPH_WEBHOOK_DISABLE_AFTER_SECONDS", defaults.disable_after_seconds
        ),
        timeout_seconds=_seconds(env, "CMGRAPH_WEBHOOK_TIMEOUT_SECONDS", defaults.timeout_seconds),
        poll_seconds=_seconds(env, "CMGRAPH_WEBHOOK_POLL_SECONDS", defaults.poll_seconds),
        lease_seconds=_seconds(env, "CMGRAPH_WEBHOOK_LEASE_SECONDS", defaults.lease_seconds),
        ca_file=_ca_file(env),
    )


def _ca_file(env: Mapping[str, str]) -> str | None:
    """CMGRAPH_WEBHOOK_CA_FILE: checked at start-up, so a typo stops the service rather than
    failing every delivery."""
    path = env.get("CMGRAPH_WEBHOOK_CA_FILE", "").strip()
    if not path:
        return None
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(
            f"CMGRAPH_WEBHOOK_CA_FILE must name a PEM file of CA certificates, got {path!r}: {exc}"
        ) from None
    return path
