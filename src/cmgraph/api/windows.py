"""The window of dates of service a report may span: a report's work grows with it (and
api.cost prices it so), and a window of centuries is no question a practice asks."""

from __future__ import annotations

from datetime import date

from cmgraph.api.context import Info
from cmgraph.api.errors import InputError


def report_window(info: Info, since: date, to: date) -> None:
    """Refuse, as INVALID_INPUT on `to`, a window longer than CMGRAPH_MAX_REPORT_DAYS."""
    longest = info.context.settings.limits.max_report_days
    days = (to - since).days + 1
    if days > longest:
        raise InputError(
            f"A report spans at most {longest} days and this window has {days}: ask for "
            "several windows.",
            field=["to"],
        )
