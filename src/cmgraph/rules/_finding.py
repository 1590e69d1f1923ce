"""So every built-in finding names its rule the same way (the core stamps the plugin)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cmgraph import PROJECT_NAME
from cmgraph.facts import DecidedBy, Finding, Severity

# The name built-in rules' findings and rules are listed under: the project's own.
BUILTIN_PLUGIN = PROJECT_NAME


@dataclass(frozen=True)
class FindingFactory:
    """Makes findings of one built-in rule: ``finding(code, severity, message, field=...)``.

    Not the GraphQL ``RuleFinding`` type: this only fills in the rule's name."""

    rule: str
    decided_by: DecidedBy | None = None

    def by(self, decided_by: DecidedBy | None) -> FindingFactory:
        """Findings attributed to the plugin (and payor) whose answer they enforce."""
        return replace(self, decided_by=decided_by)

    def __call__(self, code: str, severity: Severity, message: str, **where: Any) -> Finding:
        decided = self.decided_by
        if decided is not None and decided.payor_id is not None:
            where.setdefault("payor_id", decided.payor_id)
        return Finding(
            code=code,
            severity=severity,
            message=message,
            rule=self.rule,
            plugin=decided.plugin if decided else BUILTIN_PLUGIN,
            **where,
        )
