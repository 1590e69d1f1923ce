"""CMGRAPH_TRACE_PLUGINS=1: one log line per hook call, to see what plugins do.

Each line (logger ``cmgraph.plugins.trace``) names the plugin, the hook, the payor and role
it was reached for, how long it took and its answer, reduced to ids and codes: never a
message, a name or a date (a finding's sentence may quote a person; facts hold dates of
birth), so a trace may be kept like any other log."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from enum import Enum
from typing import Any

from cmgraph.facts import Choice, Finding, PayorRole, RuleInfo, ServiceLine, Setting

TRACE_ENV = "CMGRAPH_TRACE_PLUGINS"
log = logging.getLogger("cmgraph.plugins.trace")


def enabled() -> bool:
    return os.environ.get(TRACE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def summary(answer: Any) -> Any:
    """The answer as ids and codes only."""
    if isinstance(answer, (list, tuple)):
        return [summary(a) for a in answer]
    if isinstance(answer, (set, frozenset)):
        return sorted(str(a) for a in answer)  # credential types
    if isinstance(answer, Finding):
        return {
            "code": answer.code,
            "severity": answer.severity.value,
            "rule": answer.rule,
            "client_id": _id(answer.client_id),
            "appointment_id": _id(answer.appointment_id),
            "payor_id": _id(answer.payor_id),
        }
    if isinstance(answer, Choice):
        return {"provider_id": _id(answer.provider_id)}
    if isinstance(answer, timedelta):
        return {"seconds": answer.total_seconds()}
    if isinstance(answer, (RuleInfo, ServiceLine, Setting)):
        return getattr(answer, "name", None) or getattr(answer, "code", None)
    if answer is None or isinstance(answer, (bool, int, float)):
        return answer
    if isinstance(answer, Enum):
        return answer.value
    if isinstance(answer, str):
        return answer if len(answer) <= 8 else "<text>"  # modifiers, codes; never prose
    return f"<{type(answer).__name__}>"


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def record(
    plugin: str,
    hook: str,
    kwargs: dict[str, Any],
    seconds: float,
    answer: Any = None,
    error: BaseException | None = None,
) -> None:
    payor = kwargs.get("payor")
    role = kwargs.get("role")
    log.info(
        "plugin hook call",
        extra={
            "plugin": plugin,
            "hook": hook,
            "payor_id": _id(getattr(payor, "id", None)),
            "role": role.value if isinstance(role, PayorRole) else None,
            "duration_ms": round(seconds * 1000, 3),
            "answer": summary(answer) if error is None else None,
            "error_type": type(error).__name__ if error is not None else None,
        },
    )
