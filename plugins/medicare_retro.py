"""Medicare: retrospective billing before an enrollment's effective date.

Sources: 42 CFR 424.520(d) (the effective date of billing privileges of physicians,
non-physician practitioners and their organizations) and 42 CFR 424.521(a) (they may
retrospectively bill for services furnished up to 30 days before that effective date when
circumstances precluded enrollment in advance, or up to 90 days before it when a
Presidentially-declared disaster under the Stafford Act precluded it).

Rule ``retroactive_billing`` (through ``cmgraph_enrollment_qualifies``): for a payor that names
this plugin, an enrollment makes its provider credentialed on a day when

- its status is ENROLLED, or TERMINATED with a known effective-to date (PENDING and DENIED
  never count), and
- the day is on or before its effective-to date, if any (the default's end-date logic:
  a TERMINATED enrollment without an effective-to date never counts), and
- the day is no more than 30 days before its effective-from date (an effective date of
  2026-03-20 counts from 2026-02-18; 2026-02-17, 31 days before, does not), or no more than
  90 days before it when the day falls within a declared disaster period. An enrollment
  without an effective-from date counts from the beginning, as by default.

The "day" is whatever date the core asks about: an assignment's start date (so a case
manager whose enrollment starts 2026-03-20 may be assigned from 2026-03-01) and each date of
service (claim lines, compliance report). This plugin only widens when an enrollment counts;
the NOT_CREDENTIALED findings themselves stay the built-in credentialing rule's.

Declared disasters: the environment variable ``CMGRAPH_MEDICARE_DISASTERS`` holds the
declared incident periods, comma-separated, each ``START:END`` in ISO dates, both inclusive
(``CMGRAPH_MEDICARE_DISASTERS="2026-03-01:2026-04-30,2026-08-15:2026-09-30"``). Unset or
empty: no disasters. Whitespace around entries and empty entries are ignored. It is read
once, when the plugin is imported (at start-up); a malformed value (no colon, a date that
is not ISO, START after END) makes the import fail with a one-line message naming the
variable and the bad entry, so the service does not start with a misread disaster list.

Interpretation chosen: 424.521 grants 90 days when a disaster "precluded enrollment in
advance of providing services"; we take it to apply to a day that itself falls within a
declared disaster period (the service was furnished during the disaster). The practice
declares only the disasters that affect it (the regulation's Stafford Act declarations for
its area); the plugin does not check areas.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

from cmgraph import hookimpl
from cmgraph.facts import Enrollment, EnrollmentStatus, RuleInfo

RULE = "retroactive_billing"

DISASTERS_ENV = "CMGRAPH_MEDICARE_DISASTERS"
RETRO = timedelta(days=30)
DISASTER_RETRO = timedelta(days=90)


def parse_disasters(value: str) -> tuple[tuple[date, date], ...]:
    """Declared disaster periods from the variable's value; ValueError on a malformed entry."""
    periods = []
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            continue
        start_text, colon, end_text = entry.partition(":")
        try:
            if not colon:
                raise ValueError
            start = date.fromisoformat(start_text.strip())
            end = date.fromisoformat(end_text.strip())
        except ValueError:
            raise ValueError(
                f"{DISASTERS_ENV}: {entry!r} is not a period START:END of ISO dates "
                f"(e.g. 2026-03-01:2026-04-30)"
            ) from None
        if start > end:
            raise ValueError(f"{DISASTERS_ENV}: {entry!r} ends before it starts")
        periods.append((start, end))
    return tuple(periods)


DISASTERS = parse_disasters(os.environ.get(DISASTERS_ENV, ""))


def in_disaster(day: date) -> bool:
    return any(start <= day <= end for start, end in DISASTERS)


@hookimpl
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(),
            description=(
                "An ENROLLED (or TERMINATED, up to its end) Medicare enrollment counts from 30 "
                "days before its effective date, 90 days for a date within a declared "
                f"disaster period ({DISASTERS_ENV}); 42 CFR 424.520(d), 424.521."
            ),
            applies_to_all_payors=False,
        )
    ]


@hookimpl
def cmgraph_enrollment_qualifies(enrollment: Enrollment, day: date) -> bool:
    if enrollment.status is EnrollmentStatus.TERMINATED:
        if enrollment.effective_to is None:
            return False  # a termination only counts up to its known last day
    elif enrollment.status is not EnrollmentStatus.ENROLLED:
        return False  # PENDING and DENIED never count
    if enrollment.effective_to is not None and day > enrollment.effective_to:
        return False
    if enrollment.effective_from is None:
        return True
    window = DISASTER_RETRO if in_disaster(day) else RETRO
    return enrollment.effective_from - window <= day
