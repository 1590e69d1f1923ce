"""BCBS Texas (commercial): tiered 97153 rates by who delivered the session.

Source: Blue Cross and Blue Shield of Texas, "Tiered Payment Rate Modifiers for ABA Effective
April 1, 2021" (provider standards page, bcbstx.com/provider/standards/
tiered_payment_rate_modifiers.html), as summarised in PAYORS.md.

Rule ``tiered_97153_modifiers``: a claim line for CPT 97153 (adaptive behavior treatment by
protocol) with a date of service on or after 2021-04-01 carries one modifier naming the tier
of the provider who *delivered* the session (``SessionCheck.deliverer``, not the case
manager), judged on the credentials current on the date of service:

- ``HO``: a BCBA or BCBA-D;
- ``HN``: an RBT, a BCaBA, or bachelor's-level staff;
- ``HM``: anyone else: staff below a bachelor's degree without RBT certification (a provider
  holding only "BT", an expired RBT, or no behavior credential at all).

The highest tier the provider qualifies for wins (a BCBA who is also an RBT is HO).

Interpretations chosen:

- There is no degree field on a provider, so a bachelor's degree is recognised from the
  credential list: a provider is bachelor's-level when a current credential is either a
  degree recorded as a credential (type ``BACHELORS``, ``BA``, ``BS``, ``MASTERS`` or
  ``DOCTORATE`` -- a higher degree implies the bachelor's) or a credential whose issuing
  board requires at least a bachelor's degree (``LABA``/``LBA``, the Texas assistant and
  behavior analyst licences, and the graduate-level clinical licences ``SLP``, ``OTR``,
  ``PT``, ``LPC``, ``LCSW``, ``LMFT``, ``PSYCHOLOGIST``). Such staff who are not BCBA/BCBA-D
  bill HN: BCBS reserves HO for board-certified behavior analysts. Ambiguous abbreviations
  (e.g. ``MA``, which is also "medical assistant") are deliberately not read as degrees.
- Only 97153 lines are tiered; every other code, a line without a service code, and 97153
  before 2021-04-01 get no opinion from this plugin (so the default, no modifiers, applies).
- The rendering provider is untouched (the case manager, by the default rule); this plugin
  only decides the modifiers and produces no findings.
"""

from __future__ import annotations

from datetime import date

from cmgraph import hookimpl
from cmgraph.facts import Provider, RuleInfo, SessionCheck

RULE = "tiered_97153_modifiers"

TIERED_CODE = "97153"
EFFECTIVE = date(2021, 4, 1)

HO_CREDENTIALS = frozenset({"BCBA", "BCBA-D"})
HN_CREDENTIALS = frozenset({"RBT", "BCABA"})
BACHELORS_LEVEL = frozenset(
    {
        # degrees recorded as credentials
        "BACHELORS",
        "BA",
        "BS",
        "MASTERS",
        "DOCTORATE",
        # credentials that require at least a bachelor's degree
        "LABA",
        "LBA",
        "SLP",
        "OTR",
        "PT",
        "LPC",
        "LCSW",
        "LMFT",
        "PSYCHOLOGIST",
    }
)


@hookimpl
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(),
            description=(
                "From 2021-04-01, a 97153 claim line carries the tier of the provider who "
                "delivered it: HO for a BCBA or BCBA-D; HN for an RBT, a BCaBA or "
                "bachelor's-level staff; HM for staff below a bachelor's without RBT."
            ),
            applies_to_all_payors=False,
        )
    ]


def tier(provider: Provider, day: date) -> str:
    """The BCBS Texas 97153 modifier for a session provider delivered on day."""
    held = provider.current_credentials(day)
    if held & HO_CREDENTIALS:
        return "HO"
    if held & (HN_CREDENTIALS | BACHELORS_LEVEL):
        return "HN"
    return "HM"


@hookimpl
def cmgraph_modifiers(check: SessionCheck) -> list[str] | None:
    if check.service_code != TIERED_CODE or check.deliverer is None:
        return None
    if check.date_of_service < EFFECTIVE:
        return None
    return [tier(check.deliverer, check.date_of_service)]
