"""Facts made from rows (services.loading, facts.assembled) are the facts their constructors
make: every field set, equal and hashing alike; and payors hash and take roles as before."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest

from cmgraph import facts
from cmgraph.services import loading

A, B, C = uuid4(), uuid4(), uuid4()
DAY = date(2026, 3, 10)
AT = datetime(2026, 3, 10, 14, tzinfo=UTC)

ROWS: list[tuple[Any, SimpleNamespace, dict[str, Any]]] = [
    (
        loading.appointment_fact,
        SimpleNamespace(
            id=A,
            client_id=B,
            service_line="ABA",
            provider_id=C,
            starts_at=AT,
            ends_at=AT,
            status="NO_SHOW",
            service_code="97153",
            telehealth=True,
            date_of_service=DAY,
        ),
        {"status": facts.AppointmentStatus.NO_SHOW},
    ),
    (
        loading.enrollment_fact,
        SimpleNamespace(
            provider_id=A,
            payor_id=B,
            status="TERMINATED",
            effective_from=DAY,
            effective_to=None,
            applied_on=DAY,
        ),
        {"status": facts.EnrollmentStatus.TERMINATED},
    ),
    (
        loading.assignment_fact,
        SimpleNamespace(
            id=A, client_id=B, service_line="ST", provider_id=C, start_date=DAY, end_date=None
        ),
        {},
    ),
    (
        loading.credential_fact,
        SimpleNamespace(
            provider_id=A, type="BCBA", number="1-23", state="TX", issued_on=DAY, expires_on=None
        ),
        {},
    ),
]


@pytest.mark.parametrize("make, row, converted", ROWS, ids=lambda v: getattr(v, "__name__", ""))
def test_a_fact_from_a_row_is_the_one_its_constructor_makes(
    make: Any, row: SimpleNamespace, converted: dict[str, Any]
) -> None:
    fact = make(row)
    kind = type(fact)
    names = [f.name for f in dataclasses.fields(kind)]
    assert set(vars(fact)) == set(names)  # every field, nothing else
    built = kind(**{n: converted.get(n, getattr(row, n)) for n in names})
    assert fact == built and hash(fact) == hash(built) and repr(fact) == repr(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fact.__setattr__(names[0], None)


def test_a_status_that_is_already_a_member_is_taken_as_it_is() -> None:
    row: Any = SimpleNamespace(**{**vars(ROWS[1][1]), "status": facts.EnrollmentStatus.PENDING})
    assert loading.enrollment_fact(row).status is facts.EnrollmentStatus.PENDING


def test_an_unknown_status_is_refused_as_the_enum_refuses_it() -> None:
    row: Any = SimpleNamespace(**{**vars(ROWS[1][1]), "status": "lapsed"})
    with pytest.raises(ValueError, match="lapsed"):
        loading.enrollment_fact(row)


def test_payors_hash_and_compare_by_their_fields_and_keep_their_roles() -> None:
    kind = facts.PayorKind.MEDICAID
    primary = facts.Payor(id=A, name="Medicaid", kind=kind, plugins=("tx_medicaid",))
    same = facts.Payor(id=A, name="Medicaid", kind=kind, plugins=("tx_medicaid",))
    renamed = dataclasses.replace(primary, name="Medicaid of Texas")
    secondary = facts.Payor(id=B, name="Aetna", kind=facts.PayorKind.COMMERCIAL)

    assert primary == same and hash(primary) == hash(same)
    assert primary != renamed  # the id is what hashes; equality still reads every field
    assert len({primary, same, renamed, secondary}) == 3

    payors = facts.Payors(primary=primary, secondary=(secondary,))
    again = facts.Payors(primary=same, secondary=(secondary,))
    assert payors == again and hash(payors) == hash(again)
    assert hash(payors) == hash((primary, (secondary,)))
    assert payors.with_roles() == (
        (primary, facts.PayorRole.PRIMARY),
        (secondary, facts.PayorRole.SECONDARY),
    )
    assert again.role_of(primary) is facts.PayorRole.PRIMARY  # equal, not the same object
    assert facts.Payors(primary=None).with_roles() == ()


def test_a_provider_s_current_credentials_are_those_of_each_day_asked() -> None:
    """Kept per day on the provider (several rules ask them of every session): each day's
    answer is that day's, and the provider still equals and hashes as its fields say."""
    rbt = facts.Credential(type="rbt", issued_on=date(2026, 1, 1), expires_on=DAY)
    bcba = facts.Credential(type="BCBA", issued_on=DAY)
    provider = facts.Provider(id=A, display_name="A B", npi="1", credentials=(rbt, bcba))
    before, on, after = date(2026, 3, 9), DAY, date(2026, 3, 11)
    for _ in range(2):  # asked again: the same answers
        assert provider.current_credentials(before) == {"RBT"}
        assert provider.current_credentials(on) == {"RBT", "BCBA"}
        assert provider.current_credentials(after) == {"BCBA"}
    fresh = facts.Provider(id=A, display_name="A B", npi="1", credentials=(rbt, bcba))
    assert provider == fresh and hash(provider) == hash(fresh) and repr(provider) == repr(fresh)


BY_POSITION: list[tuple[Any, Any, tuple[Any, ...], Any]] = [
    (
        loading.appointment_of_row,
        lambda fact, row: (row.date_of_service, fact),
        loading.APPOINTMENT_FACT,
        ROWS[0],
    ),
    (loading.enrollment_of_row, lambda fact, _: fact, loading.ENROLLMENT_FACT, ROWS[1]),
    (loading.assignment_of_row, lambda fact, _: fact, loading.ASSIGNMENT_FACT, ROWS[2]),
    (
        loading.credential_of_row,
        lambda fact, row: (row.provider_id, fact),
        loading.CREDENTIAL_FACT,
        ROWS[3],
    ),
]


@pytest.mark.parametrize(
    "make, expected, columns, case", BY_POSITION, ids=lambda v: getattr(v, "__name__", "")
)
def test_a_core_row_taken_by_position_makes_the_fact_its_attributes_make(
    make: Any, expected: Any, columns: tuple[Any, ...], case: Any
) -> None:
    """The *_of_row makers read a Core row of their *_FACT columns in that order."""
    by_name, row, _ = case
    values = tuple(getattr(row, c.key) for c in columns)  # the row the statement returns
    made = make(values)
    assert made == expected(by_name(row), row)
    assert repr(made) == repr(expected(by_name(row), row))


def test_the_payors_of_a_day_are_its_active_coverages_by_priority_each_payor_once() -> None:
    kind = facts.PayorKind.COMMERCIAL
    aetna, blue, cigna = (
        facts.Payor(id=i, name=n, kind=kind) for i, n in zip((A, B, C), "ABC", strict=True)
    )

    def coverage(payor: facts.Payor, priority: int, start: date, end: date | None = None) -> Any:
        return facts.Coverage(
            payor=payor, priority=priority, effective_from=start, effective_to=end
        )

    early, late = date(2026, 1, 1), date(2026, 3, 11)
    coverages = [
        coverage(cigna, 2, early),
        coverage(blue, 1, early, DAY),
        coverage(aetna, 2, early),  # ties with cigna: by name
        coverage(cigna, 1, late),  # listed twice: at its highest priority, from `late`
    ]
    on = facts.Payors.on
    assert on(coverages, DAY) == facts.Payors(primary=blue, secondary=(aetna, cigna))
    assert on(coverages, late) == facts.Payors(primary=cigna, secondary=(aetna,))
    assert on(coverages[:1], DAY) == facts.Payors(primary=cigna)
    assert on(coverages[1:2], late) == facts.Payors(primary=None)
    assert on([], DAY) == facts.Payors(primary=None)
    made = on(coverages, DAY)
    assert hash(made) == hash(facts.Payors(primary=blue, secondary=(aetna, cigna)))
    assert made.with_roles()[0] == (blue, facts.PayorRole.PRIMARY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.__setattr__("primary", None)
