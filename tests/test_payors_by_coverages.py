"""The payors of a client's day, as the session judge asks them: Payors.on of the client's
coverages, one object shared by the days with the same coverages active."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import rulefacts as rf

from cmgraph.facts import Payors
from cmgraph.services import sessions


def test_each_day_has_the_payors_of_its_coverages_and_equal_days_share_them() -> None:
    client, other = uuid4(), uuid4()
    medicaid, acme, zeta = rf.payor("Medicaid"), rf.payor("Acme"), rf.payor("Zeta")
    coverages = {
        client: [
            rf.coverage(acme, 1, date(2026, 1, 1), date(2026, 3, 31)),
            rf.coverage(medicaid, 2, date(2026, 1, 1)),
            rf.coverage(zeta, 1, date(2026, 4, 1)),  # Acme's successor as primary
            rf.coverage(medicaid, 1, date(2026, 6, 1), date(2026, 6, 30)),  # listed twice
        ],
        other: [],
    }
    payors_on = sessions._payors_by_coverages(coverages)
    days = [date(2025, 12, 31) + timedelta(days=n) for n in range(200)]
    for who in (client, other):
        for day in days:
            assert payors_on(who, day) == Payors.on(coverages[who], day), (who, day)
    assert payors_on(client, date(2026, 2, 1)) is payors_on(client, date(2026, 3, 31))
    assert payors_on(client, date(2026, 4, 1)).primary == zeta
    assert payors_on(client, date(2026, 6, 15)).all == (medicaid, zeta)
    assert payors_on(client, date(2026, 6, 15)) is not payors_on(client, date(2026, 5, 15))
    assert payors_on(other, date(2026, 2, 1)).primary is None
