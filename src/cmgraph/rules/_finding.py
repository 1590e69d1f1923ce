"""So every built-in finding names its rule the same way (the core stamps the plugin)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cmgraph import PROJECT_NAME
from cmgraph.facts import Finding, Severity

# The name built-in rules' findings and rules are listed under: the project's own.
BUILTIN_PLUGIN = PROJECT_NAME


@dataclass(frozen=True)
class FindingFactory:
    """Makes findings of one built-in rule: ``finding(code, severity, message, field=...)``.

    Not the GraphQL ``RuleFinding`` type: this only fills in the rule's name."""

    rule: str

    def __call__(self, code: str, severity: Severity, message: str, **where: Any) -> Finding:
        return Finding(
            code=code,
            severity=severity,
            message=message,
            rule=self.rule,
            plugin=BUILTIN_PLUGIN,
            **where,
        )
