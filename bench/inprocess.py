"""The cached practice asked in this process, without a server: what `bench.rendering_ab`,
`bench.loop_share` and `bench.pages_cpu` measure. URL is a copy of the cached practice
(bench/.cache, cmgraph_bench_<n>) at the schema of the code under test: an API token is
written into it."""

from __future__ import annotations

import gc
from typing import NamedTuple

from sqlalchemy import select
from starlette.applications import Starlette

from bench import practice, scenarios
from bench.run import server_env
from cmgraph.app import create_app
from cmgraph.config import Settings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import tenants


class Asked(NamedTuple):
    """The practice's database, the data its requests are made of, and an admin's token."""

    db: Database
    data: scenarios.Data
    token: str


async def practice_at(url: str, token_name: str) -> Asked:
    params = practice.Params()
    db = Database.from_url(url)
    orgs = models.Organization.__table__
    async with db.engine.connect() as connection:
        org = await connection.scalar(select(orgs.c.id).where(orgs.c.slug == params.slug))
    if org is None:
        raise SystemExit(f"no practice {params.slug} at {url}")
    data = await scenarios.read_data(db.engine, org, params.weeks)
    token = await tenants.create_token(db, params.slug, "admin", token_name)
    return Asked(db, data, token)


def served(url: str, db: Database) -> Starlette:
    """cmgraph's app as `cmgraph serve` makes it for the benchmark."""
    return create_app(Settings.from_env(server_env(url)), db=db)


def settle() -> None:
    """What start-up built, collected and frozen, as serving.worker_app does."""
    gc.collect()
    gc.freeze()
