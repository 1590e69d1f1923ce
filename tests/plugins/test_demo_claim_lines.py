"""The demo practice's sessions carry CPT codes, so the shipped payor plugins' code-level
rules (modifiers by who delivered, who may deliver what) show in its claim lines."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from cmgraph.db.engine import Database
from cmgraph.demo import load_demo
from cmgraph.facts import Clock
from cmgraph.plugins import RuleBook
from cmgraph.services import claims
from cmgraph.services.scope import TenantScope

TODAY = date(2026, 3, 10)


async def test_the_demos_claim_lines_carry_codes_and_the_plugins_modifiers(
    db: Database, book: RuleBook
) -> None:
    demo = await load_demo(db, slug=f"demo-{uuid.uuid4().hex[:8]}", today=TODAY)
    scope = TenantScope(db, book, demo.organization_id, Clock("America/Chicago"), "test")

    async with db.read() as session:
        _, verdicts, _ = await claims.claim_lines(
            session, scope, TODAY - timedelta(days=28), TODAY, None, None, None, 10_000
        )

    assert verdicts
    assert all(v.check.service_code for v in verdicts), "a demo session without a CPT code"
    aba = [v for v in verdicts if v.key.service_line == "ABA"]
    assert {v.check.service_code for v in aba} == {"97153", "97155"}
    # Texas Medicaid and BCBS Texas mark who delivered an ABA session (HM, HN, HO).
    marked = {m for v in aba for m in v.claim.modifiers}
    assert marked & {"HM", "HN", "HO"}, marked
