"""So every built-in finding names its rule and plugin the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cmgraph.facts import Finding, Severity

PLUGIN = "cmgraph"


@dataclass(frozen=True)
class RuleFinding:
    """Makes findings of one rule: ``finding(code, severity, message, field=..., ...)``."""

    rule: str

    def __call__(self, code: str, severity: Severity, message: str, **where: Any) -> Finding:
        return Finding(
            code=code, severity=severity, message=message, rule=self.rule, plugin=PLUGIN, **where
        )
