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

Declared disasters: the payor's setting ``medicare_disasters`` (declared below; edit it with
``updatePayor(input: {id: ..., settings: {medicare_disasters: [{from: "2026-03-01", to:
"2026-04-30"}]}})``) holds the declared incident periods, both ends inclusive. Unset: no
disasters. The core refuses a malformed value on write, naming the setting.

Deprecated: the environment variable ``CMGRAPH_MEDICARE_DISASTERS`` (comma-separated
``START:END`` ISO periods, read once at import; a malformed value stops start-up naming the
variable) still applies to Medicare payors that leave the setting unset, with a
DeprecationWarning at start-up; it goes in 1.0.

Interpretation chosen: 424.521 grants 90 days when a disaster "precluded enrollment in
advance of providing services"; we take it to apply to a day that itself falls within a
declared disaster period (the service was furnished during the disaster). The practice
declares only the disasters that affect it (the regulation's Stafford Act declarations for
its area); the plugin does not check areas.
"""

from __future__ import annotations

import os
import warnings
from datetime import date, timedelta

from cmgraph import hookimpl
from cmgraph.facts import Enrollment, EnrollmentStatus, Payor, RuleInfo, Setting, SettingKind

RULE = "retroactive_billing"

DISASTERS = Setting(
    "medicare_disasters",
    SettingKind.DATE_PERIODS,
    default=(),
    description="Declared (Stafford Act) disaster periods affecting the practice, both ends "
    "inclusive: dates of service within one reach back 90 days instead of 30.",
)
DISASTERS_ENV = "CMGRAPH_MEDICARE_DISASTERS"  # deprecated for the setting, goes in 1.0
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


ENV_DISASTERS = parse_disasters(os.environ.get(DISASTERS_ENV, ""))
if os.environ.get(DISASTERS_ENV):
    warnings.warn(
        f"{DISASTERS_ENV} is deprecated and goes in 1.0: set the Medicare payor's "
        f"{DISASTERS.name!r} setting instead (updatePayor)",
        DeprecationWarning,
        stacklevel=2,
    )


def disasters(payor: Payor) -> tuple[tuple[date, date], ...]:
    """The payor's declared disasters; the deprecated variable's when it sets none."""
    if DISASTERS.name in payor.settings:
        periods: tuple[tuple[date, date], ...] = DISASTERS.of(payor)
        return periods
    return ENV_DISASTERS


def in_disaster(day: date, payor: Payor) -> bool:
    return any(start <= day <= end for start, end in disasters(payor))


@hookimpl
def cmgraph_payor_settings() -> list[Setting]:
    return [DISASTERS]


@hookimpl
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(),
            description=(
                "An ENROLLED (or TERMINATED, up to its end) Medicare enrollment counts from 30 "
                "days before its effective date, 90 days for a date within a declared "
                f"disaster period (the payor's {DISASTERS.name} setting); 42 CFR 424.520(d), "
                "424.521."
            ),
            applies_to_all_payors=False,
        )
    ]


@hookimpl
def cmgraph_enrollment_qualifies(enrollment: Enrollment, day: date, payor: Payor) -> bool:
    if enrollment.status is EnrollmentStatus.TERMINATED:
        if enrollment.effective_to is None:
            return False  # a termination only counts up to its known last day
    elif enrollment.status is not EnrollmentStatus.ENROLLED:
        return False  # PENDING and DENIED never count
    if enrollment.effective_to is not None and day > enrollment.effective_to:
        return False
    if enrollment.effective_from is None:
        return True
    window = DISASTER_RETRO if in_disaster(day, payor) else RETRO
    return enrollment.effective_from - window <= day
