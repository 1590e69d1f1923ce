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
                requests_per_minute=number(
                    "CMGRAPH_REQUESTS_PER_MINUTE", defaults.requests_per_minute
                ),
                cost_per_minute=number("CMGRAPH_COST_PER_MINUTE", defaults.cost_per_minute),
                request_seconds=float(
                    env.get("CMGRAPH_REQUEST_TIMEOUT_SECONDS", str(defaults.request_seconds))
                ),
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
            ui=env.get("CMGRAPH_UI", "").lower() in {"1", "true", "yes"},
            trusted_documents_only=_trusted_documents(env.get("CMGRAPH_TRUSTED_DOCUMENTS", "")),
            rebuild_findings_on_start=env.get("CMGRAPH_REBUILD_FINDINGS_ON_START", "1")
            not in {"0", "false", "no"},
        )


def _trusted_documents(value: str) -> bool:
    if value.lower() in {"", "off"}:
        return False
    if value.lower() == "only":
        return True
    raise ValueError(f"CMGRAPH_TRUSTED_DOCUMENTS takes `only` or `off`, not {value!r}")
