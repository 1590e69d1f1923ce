"""Keeping the practice in sync over GraphQL: clients, providers, payors, coverages,
enrollments and appointments. Every write that succeeds leaves a change record; every write
that is refused leaves nothing at all."""

from __future__ import annotations

from typing import Any, cast

import builders as b
import pytest
from sqlalchemy import select

from cmgraph.api.ids import encode
from cmgraph.db import models
from cmgraph.db.engine import Database
from tests.support import Api


async def refused(api: Any, query: str, variables: dict[str, Any], payload: str) -> dict[str, Any]:
    """The single user error of a mutation that must do nothing."""
    data = (await api(query, variables))[payload]
    assert len(data["userErrors"]) == 1, data
    (error,) = data["userErrors"]
    others = {key: value for key, value in data.items() if key != "userErrors"}
    assert all(value in (None, []) for value in others.values()), data
    return cast("dict[str, Any]", error)


# --- clients ---------------------------------------------------------------------------


async def test_create_client_returns_it_and_records_the_change(api: Api, db: Database) -> None:
    data = await b.ok(
        api,
        b.CREATE_CLIENT,
        {
            "input": {
                "firstName": "  Ada ",
                "lastName": "Lovelace",
                "dateOfBirth": "2015-12-10",
                "externalId": "EHR-1",
            }
        },
        "createClient",
    )
    client = data["client"]
    assert client["firstName"] == "Ada"
    assert client["displayName"] == "Ada Lovelace"
    assert client["dateOfBirth"] == "2015-12-10"
    assert client["externalId"] == "EHR-1"

    (record,) = await b.changes(db, api.slug)
    assert record.operation == "createClient"
    assert record.entity_type == "Client"
    assert record.actor.startswith("token:")
    assert record.before is None
    assert record.after is not None
    assert record.after["first_name"] == "Ada"
    assert record.after["external_id"] == "EHR-1"


async def test_update_client_keeps_left_out_fields_and_records_before_and_after(
    api: Api, db: Database
) -> None:
    client_id = await b.client(api, "Ada", "Lovelace", dateOfBirth="2015-12-10", externalId="E-1")

    data = await b.ok(
        api, b.UPDATE_CLIENT, {"input": {"id": client_id, "lastName": "Byron"}}, "updateClient"
    )

    assert data["client"] == {
        "id": client_id,
        "firstName": "Ada",
        "lastName": "Byron",
        "dateOfBirth": "2015-12-10",
        "externalId": "E-1",
    }
    created, updated = await b.changes(db, api.slug)
    assert (created.operation, updated.operation) == ("createClient", "updateClient")
    assert updated.entity_id == created.entity_id
    assert updated.before is not None and updated.after is not None
    assert updated.before["last_name"] == "Lovelace"
    assert updated.after["last_name"] == "Byron"
    assert updated.after["date_of_birth"] == "2015-12-10"


async def test_update_client_with_explicit_nulls_clears_birth_date_and_external_id(
    api: Api,
) -> None:
    client_id = await b.client(api, dateOfBirth="2015-12-10", externalId="E-2")

    data = await b.ok(
        api,
        b.UPDATE_CLIENT,
        {"input": {"id": client_id, "dateOfBirth": None, "externalId": None}},
        "updateClient",
    )

    assert data["client"]["dateOfBirth"] is None
    assert data["client"]["externalId"] is None
    reread = await api(
        "query($id: ID!) { client(id: $id) { dateOfBirth externalId firstName } }",
        {"id": client_id},
    )
    assert reread["client"] == {"dateOfBirth": None, "externalId": None, "firstName": "Ada"}


async def test_update_client_refuses_to_clear_the_first_name(api: Api, db: Database) -> None:
    client_id = await b.client(api)
    before = len(await b.changes(db, api.slug))

    error = await refused(
        api, b.UPDATE_CLIENT, {"input": {"id": client_id, "firstName": None}}, "updateClient"
    )

    assert error["code"] == "INVALID_INPUT"
    assert error["field"] == ["input", "firstName"]
    assert len(await b.changes(db, api.slug)) == before
    reread = await api("query($id: ID!) { client(id: $id) { firstName } }", {"id": client_id})
    assert reread["client"]["firstName"] == "Ada"


@pytest.mark.parametrize("first_name", ["", "   ", "x" * 101])
async def test_create_client_refuses_an_empty_or_overlong_name(
    api: Api, db: Database, first_name: str
) -> None:
    error = await refused(
        api,
        b.CREATE_CLIENT,
        {"input": {"firstName": first_name, "lastName": "Lovelace"}},
        "createClient",
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "firstName"])
    assert await b.count(db, models.Client, api.slug) == 0
    assert await b.changes(db, api.slug) == []


async def test_create_client_refuses_a_birth_date_in_the_future(api: Api, db: Database) -> None:
    error = await refused(
        api,
        b.CREATE_CLIENT,
        {"input": {"firstName": "Ada", "lastName": "L", "dateOfBirth": "2199-01-01"}},
        "createClient",
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "dateOfBirth"])
    assert await b.count(db, models.Client, api.slug) == 0
    assert await b.changes(db, api.slug) == []


async def test_update_client_refuses_a_birth_date_in_the_future(api: Api, db: Database) -> None:
    client_id = await b.client(api, dateOfBirth="2015-12-10")
    before = len(await b.changes(db, api.slug))

    error = await refused(
        api,
        b.UPDATE_CLIENT,
        {"input": {"id": client_id, "dateOfBirth": "2199-01-01"}},
        "updateClient",
    )

    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "dateOfBirth"])
    assert len(await b.changes(db, api.slug)) == before


async def test_a_blank_external_id_means_none_and_never_collides(api: Api) -> None:
    first = await b.client(api, "Ada", "One", externalId="  ")
    second = await b.client(api, "Bob", "Two", externalId="")

    data = await api(
        "query($a: ID!, $b: ID!) { a: client(id: $a) { externalId } "
        "b: client(id: $b) { externalId } }",
        {"a": first, "b": second},
    )
    assert data == {"a": {"externalId": None}, "b": {"externalId": None}}


async def test_a_duplicate_external_id_is_refused_on_create_and_on_update(
    api: Api, db: Database
) -> None:
    await b.client(api, "Ada", "One", externalId="EHR-7")
    other = await b.client(api, "Bob", "Two", externalId="EHR-8")
    before = len(await b.changes(db, api.slug))

    error = await refused(
        api,
        b.CREATE_CLIENT,
        {"input": {"firstName": "Cy", "lastName": "Three", "externalId": "EHR-7"}},
        "createClient",
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "externalId"])

    error = await refused(
        api, b.UPDATE_CLIENT, {"input": {"id": other, "externalId": "EHR-7"}}, "updateClient"
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "externalId"])

    assert await b.count(db, models.Client, api.slug) == 2
    assert len(await b.changes(db, api.slug)) == before


async def test_a_client_may_keep_its_own_external_id(api: Api) -> None:
    client_id = await b.client(api, externalId="EHR-9")
    data = await b.ok(
        api,
        b.UPDATE_CLIENT,
        {"input": {"id": client_id, "externalId": "EHR-9", "firstName": "Adele"}},
        "updateClient",
    )
    assert data["client"]["firstName"] == "Adele"


async def test_update_of_an_unknown_client_is_not_found(api: Api) -> None:
    client_id = await b.client(api)
    provider_id = await b.provider(api)  # an id of the wrong type
    error = await refused(
        api, b.UPDATE_CLIENT, {"input": {"id": provider_id, "lastName": "X"}}, "updateClient"
    )
    assert (error["code"], error["field"]) == ("NOT_FOUND", ["input", "id"])

    error = await refused(
        api, b.UPDATE_CLIENT, {"input": {"id": "not-an-id!", "lastName": "X"}}, "updateClient"
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "id"])
    reread = await api("query($id: ID!) { client(id: $id) { lastName } }", {"id": client_id})
    assert reread["client"]["lastName"] == "Lovelace"


# --- providers -------------------------------------------------------------------------


async def test_create_provider_stores_credentials_upper_case_and_records_them(
    api: Api, db: Database
) -> None:
    npi = b.next_npi()
    data = await b.ok(
        api,
        b.CREATE_PROVIDER,
        {
            "input": {
                "firstName": "Bea",
                "lastName": "Baker",
                "npi": npi,
                "credentials": [
                    {"type": " bcba ", "number": "1-23", "state": "fl", "expiresOn": "2030-01-01"}
                ],
            }
        },
        "createProvider",
    )
    provider = data["provider"]
    assert provider["npi"] == npi
    assert provider["active"] is True
    assert provider["credentials"] == [
        {"type": "BCBA", "number": "1-23", "state": "FL", "expiresOn": "2030-01-01"}
    ]
    (record,) = await b.changes(db, api.slug)
    assert record.operation == "createProvider"
    assert record.after is not None
    assert record.after["npi"] == npi
    assert [c["type"] for c in record.after["credentials"]] == ["BCBA"]


async def test_create_provider_with_a_bad_npi_check_digit_writes_nothing(
    api: Api, db: Database
) -> None:
    error = await refused(
        api,
        b.CREATE_PROVIDER,
        {
            "input": {
                "firstName": "Bea",
                "lastName": "Baker",
                "npi": b.invalid_npi(),
                "credentials": [{"type": "BCBA"}],
            }
        },
        "createProvider",
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "npi"])
    assert await b.count(db, models.Provider, api.slug) == 0
    assert await b.count(db, models.Credential, api.slug) == 0
    assert await b.changes(db, api.slug) == []


@pytest.mark.parametrize("npi", ["123456789", "12345678901", "12345abcde"])
async def test_create_provider_refuses_an_npi_that_is_not_ten_digits(
    api: Api, db: Database, npi: str
) -> None:
    error = await refused(
        api,
        b.CREATE_PROVIDER,
        {"input": {"firstName": "Bea", "lastName": "Baker", "npi": npi}},
        "createProvider",
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "npi"])
    assert await b.count(db, models.Provider, api.slug) == 0


async def test_a_bad_credential_refuses_the_whole_provider(api: Api, db: Database) -> None:
    error = await refused(
        api,
        b.CREATE_PROVIDER,
        {
            "input": {
                "firstName": "Bea",
                "lastName": "Baker",
                "npi": b.next_npi(),
                "credentials": [{"type": "BCBA"}, {"type": "RBT", "state": "Florida"}],
            }
        },
        "createProvider",
    )
    assert (error["code"], error["field"]) == (
        "INVALID_INPUT",
        ["input", "credentials", "1", "state"],
    )
    assert await b.count(db, models.Provider, api.slug) == 0
    assert await b.count(db, models.Credential, api.slug) == 0
    assert await b.changes(db, api.slug) == []


async def test_update_provider_replaces_the_credentials_and_can_deactivate(
    api: Api, db: Database
) -> None:
    provider_id = await b.provider(api, credentials=["BCBA", "RBT"])

    data = await b.ok(
        api,
        b.UPDATE_PROVIDER,
        {"input": {"id": provider_id, "active": False, "credentials": [{"type": "slp"}]}},
        "updateProvider",
    )

    provider = data["provider"]
    assert provider["active"] is False
    assert provider["lastName"] == "Baker"
    assert [c["type"] for c in provider["credentials"]] == ["SLP"]
    assert await b.count(db, models.Credential, api.slug) == 1
    record = (await b.changes(db, api.slug))[-1]
    assert record.operation == "updateProvider"
    assert record.before is not None and record.after is not None
    assert record.before["active"] is True
    assert record.after["active"] is False
    assert sorted(c["type"] for c in record.before["credentials"]) == ["BCBA", "RBT"]
    assert [c["type"] for c in record.after["credentials"]] == ["SLP"]


async def test_update_provider_without_credentials_keeps_them(api: Api) -> None:
    provider_id = await b.provider(api, credentials=["BCBA"])
    data = await b.ok(
        api, b.UPDATE_PROVIDER, {"input": {"id": provider_id, "firstName": "Bee"}}, "updateProvider"
    )
    assert data["provider"]["firstName"] == "Bee"
    assert [c["type"] for c in data["provider"]["credentials"]] == ["BCBA"]


async def test_update_provider_with_an_empty_list_removes_every_credential(
    api: Api, db: Database
) -> None:
    provider_id = await b.provider(api, credentials=["BCBA"])
    data = await b.ok(
        api, b.UPDATE_PROVIDER, {"input": {"id": provider_id, "credentials": []}}, "updateProvider"
    )
    assert data["provider"]["credentials"] == []
    assert await b.count(db, models.Credential, api.slug) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"npi": None}, "npi"),
        ({"active": None}, "active"),
        ({"credentials": None}, "credentials"),
        ({"npi": "1234567890"}, "npi"),
    ],
)
async def test_update_provider_refusals_change_nothing(
    api: Api, db: Database, change: dict[str, Any], field: str
) -> None:
    provider_id = await b.provider(api, credentials=["BCBA"])
    before = len(await b.changes(db, api.slug))

    error = await refused(
        api, b.UPDATE_PROVIDER, {"input": {"id": provider_id, **change}}, "updateProvider"
    )

    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", field])
    assert len(await b.changes(db, api.slug)) == before
    assert await b.count(db, models.Credential, api.slug) == 1


async def test_a_duplicate_npi_is_refused(api: Api, db: Database) -> None:
    npi = b.next_npi()
    variables = {"input": {"firstName": "Bea", "lastName": "Baker", "npi": npi}}
    await b.ok(api, b.CREATE_PROVIDER, variables, "createProvider")

    error = await refused(api, b.CREATE_PROVIDER, variables, "createProvider")

    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "npi"])
    assert await b.count(db, models.Provider, api.slug) == 1


# --- payors ----------------------------------------------------------------------------


async def test_create_payor_and_record_it(api: Api, db: Database) -> None:
    data = await b.ok(
        api,
        b.CREATE_PAYOR,
        {"input": {"name": " Sunshine Medicaid ", "kind": "MEDICAID", "payerId": "SMC01"}},
        "createPayor",
    )
    assert data["payor"]["name"] == "Sunshine Medicaid"
    assert data["payor"]["kind"] == "MEDICAID"
    assert data["payor"]["payerId"] == "SMC01"
    assert data["payor"]["plugins"] == []
    (record,) = await b.changes(db, api.slug)
    assert (record.operation, record.entity_type) == ("createPayor", "Payor")
    assert record.after is not None
    assert record.after["kind"] == "MEDICAID"


async def test_create_payor_naming_an_unknown_plugin_is_refused(api: Api, db: Database) -> None:
    error = await refused(
        api,
        b.CREATE_PAYOR,
        {"input": {"name": "Acme", "kind": "COMMERCIAL", "plugins": ["no_such_plugin"]}},
        "createPayor",
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "plugins", "0"])
    assert "no_such_plugin" in error["message"]
    assert await b.count(db, models.Payor, api.slug) == 0
    assert await b.changes(db, api.slug) == []


async def test_create_payor_refuses_an_empty_name(api: Api, db: Database) -> None:
    error = await refused(
        api, b.CREATE_PAYOR, {"input": {"name": "  ", "kind": "OTHER"}}, "createPayor"
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "name"])
    assert await b.count(db, models.Payor, api.slug) == 0


# --- coverages and enrollments ---------------------------------------------------------


async def test_add_and_update_coverage(api: Api, db: Database) -> None:
    client_id = await b.client(api)
    payor_id = await b.payor(api)
    data = await b.ok(
        api,
        b.ADD_COVERAGE,
        {
            "input": {
                "clientId": client_id,
                "payorId": payor_id,
                "effectiveFrom": "2026-01-01",
                "memberId": "M-1",
            }
        },
        "addCoverage",
    )
    coverage = data["coverage"]
    assert coverage["priority"] == 1
    assert coverage["memberId"] == "M-1"
    assert coverage["payor"]["id"] == payor_id
    assert coverage["client"]["id"] == client_id

    data = await b.ok(
        api,
        b.UPDATE_COVERAGE,
        {"input": {"id": coverage["id"], "effectiveTo": "2026-06-30", "priority": 2}},
        "updateCoverage",
    )
    assert data["coverage"] == {
        "id": coverage["id"],
        "memberId": "M-1",
        "priority": 2,
        "effectiveFrom": "2026-01-01",
        "effectiveTo": "2026-06-30",
    }
    records = await b.changes(db, api.slug)
    assert [r.operation for r in records][-2:] == ["addCoverage", "updateCoverage"]
    assert records[-1].before is not None and records[-1].after is not None
    assert records[-1].before["effective_to"] is None
    assert records[-1].after["effective_to"] == "2026-06-30"


async def test_add_coverage_refuses_an_end_before_the_start_and_priority_below_one(
    api: Api, db: Database
) -> None:
    client_id = await b.client(api)
    payor_id = await b.payor(api)
    before = len(await b.changes(db, api.slug))
    base = {"clientId": client_id, "payorId": payor_id, "effectiveFrom": "2026-03-01"}

    error = await refused(
        api, b.ADD_COVERAGE, {"input": {**base, "effectiveTo": "2026-02-28"}}, "addCoverage"
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "effectiveTo"])

    error = await refused(api, b.ADD_COVERAGE, {"input": {**base, "priority": 0}}, "addCoverage")
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "priority"])

    assert await b.count(db, models.Coverage, api.slug) == 0
    assert len(await b.changes(db, api.slug)) == before


async def test_update_coverage_refusals_change_nothing(api: Api, db: Database) -> None:
    client_id = await b.client(api)
    payor_id = await b.payor(api)
    coverage_id = await b.coverage(api, client_id, payor_id, "2026-03-01")
    before = len(await b.changes(db, api.slug))

    for change, field in (
        ({"effectiveTo": "2026-02-01"}, "effectiveTo"),
        ({"effectiveFrom": "2026-04-01", "effectiveTo": "2026-03-31"}, "effectiveTo"),
        ({"priority": 0}, "priority"),
        ({"priority": None}, "priority"),
        ({"effectiveFrom": None}, "effectiveFrom"),
    ):
        error = await refused(
            api, b.UPDATE_COVERAGE, {"input": {"id": coverage_id, **change}}, "updateCoverage"
        )
        assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", field]), change

    assert len(await b.changes(db, api.slug)) == before
    reread = await api(
        "query($id: ID!) { node(id: $id) {"
        " ... on Coverage { priority effectiveFrom effectiveTo } } }",
        {"id": coverage_id},
    )
    assert reread["node"] == {"priority": 1, "effectiveFrom": "2026-03-01", "effectiveTo": None}


async def test_add_coverage_with_an_unknown_payor_is_not_found(api: Api, db: Database) -> None:
    client_id = await b.client(api)
    error = await refused(
        api,
        b.ADD_COVERAGE,
        {"input": {"clientId": client_id, "payorId": client_id, "effectiveFrom": "2026-03-01"}},
        "addCoverage",
    )
    assert (error["code"], error["field"]) == ("NOT_FOUND", ["input", "payorId"])
    assert await b.count(db, models.Coverage, api.slug) == 0


async def test_record_and_update_enrollment(api: Api, db: Database) -> None:
    provider_id = await b.provider(api)
    payor_id = await b.payor(api)
    data = await b.ok(
        api,
        b.RECORD_ENROLLMENT,
        {"input": {"providerId": provider_id, "payorId": payor_id, "status": "PENDING"}},
        "recordEnrollment",
    )
    enrollment = data["enrollment"]
    assert enrollment["status"] == "PENDING"
    assert enrollment["effectiveFrom"] is None
    assert enrollment["provider"]["id"] == provider_id
    assert enrollment["payor"]["id"] == payor_id

    data = await b.ok(
        api,
        b.UPDATE_ENROLLMENT,
        {"input": {"id": enrollment["id"], "status": "ENROLLED", "effectiveFrom": "2026-01-01"}},
        "updateEnrollment",
    )
    assert data["enrollment"] == {
        "id": enrollment["id"],
        "status": "ENROLLED",
        "effectiveFrom": "2026-01-01",
        "effectiveTo": None,
    }
    provider = await api(
        "query($id: ID!) { provider(id: $id) { enrollments { id status } } }", {"id": provider_id}
    )
    assert provider["provider"]["enrollments"] == [{"id": enrollment["id"], "status": "ENROLLED"}]
    record = (await b.changes(db, api.slug))[-1]
    assert record.operation == "updateEnrollment"
    assert record.before is not None and record.after is not None
    assert (record.before["status"], record.after["status"]) == ("PENDING", "ENROLLED")


async def test_enrollment_refusals_write_nothing(api: Api, db: Database) -> None:
    provider_id = await b.provider(api)
    payor_id = await b.payor(api)
    enrollment_id = await b.enrollment(api, provider_id, payor_id, effective_from="2026-01-01")
    before = len(await b.changes(db, api.slug))

    error = await refused(
        api,
        b.RECORD_ENROLLMENT,
        {
            "input": {
                "providerId": provider_id,
                "payorId": payor_id,
                "status": "ENROLLED",
                "effectiveFrom": "2026-02-01",
                "effectiveTo": "2026-01-31",
            }
        },
        "recordEnrollment",
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "effectiveTo"])

    error = await refused(
        api,
        b.UPDATE_ENROLLMENT,
        {"input": {"id": enrollment_id, "effectiveTo": "2025-12-31"}},
        "updateEnrollment",
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "effectiveTo"])

    error = await refused(
        api,
        b.UPDATE_ENROLLMENT,
        {"input": {"id": enrollment_id, "status": None}},
        "updateEnrollment",
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "status"])

    assert await b.count(db, models.Enrollment, api.slug) == 1
    assert len(await b.changes(db, api.slug)) == before


# --- appointments ----------------------------------------------------------------------


async def _client_and_provider(api: Any) -> tuple[str, str]:
    return await b.client(api), await b.provider(api)


def _session(
    client_id: str, provider_id: str, starts: str, ends: str, line: str = "ABA"
) -> dict[str, Any]:
    return {
        "input": {
            "clientId": client_id,
            "serviceLine": line,
            "providerId": provider_id,
            "startsAt": starts,
            "endsAt": ends,
        }
    }


async def test_schedule_appointment_answers_in_the_org_offset_and_warns_of_no_cm(
    api: Api, db: Database
) -> None:
    client_id, provider_id = await _client_and_provider(api)

    data = await b.ok(
        api,
        b.SCHEDULE,
        _session(client_id, provider_id, "2026-03-04T14:00:00Z", "2026-03-04T15:00:00+00:00"),
        "scheduleAppointment",
    )

    appointment = data["appointment"]
    assert appointment["status"] == "SCHEDULED"
    assert appointment["startsAt"] == "2026-03-04T09:00:00-05:00"
    assert appointment["endsAt"] == "2026-03-04T10:00:00-05:00"
    assert appointment["provider"]["id"] == provider_id
    assert appointment["renderingProvider"] is None
    assert [(w["code"], w["date"]) for w in data["warnings"]] == [("NO_CASE_MANAGER", "2026-03-04")]
    (record,) = [r for r in await b.changes(db, api.slug) if r.entity_type == "Appointment"]
    assert record.operation == "scheduleAppointment"
    assert record.after is not None
    assert record.after["date_of_service"] == "2026-03-04"
    assert record.after["status"] == "SCHEDULED"


async def test_schedule_appointment_covered_by_a_cm_has_no_warning(api: Api) -> None:
    client_id, provider_id = await _client_and_provider(api)
    await b.case_manager(api, client_id, provider_id, "2026-03-01")

    data = await b.appointment(
        api, client_id, provider_id, "2026-03-04T09:00:00-05:00", "2026-03-04T10:00:00-05:00"
    )

    assert data["warnings"] == []
    assert data["appointment"]["renderingProvider"] == {"id": provider_id}


@pytest.mark.parametrize(
    ("starts", "ends", "field"),
    [
        ("2026-03-04T09:00:00", "2026-03-04T10:00:00-05:00", "startsAt"),
        ("2026-03-04T09:00:00-05:00", "2026-03-04T10:00:00", "endsAt"),
        ("2026-03-04T10:00:00-05:00", "2026-03-04T09:00:00-05:00", "endsAt"),
        ("2026-03-04T10:00:00-05:00", "2026-03-04T10:00:00-05:00", "endsAt"),
    ],
)
async def test_schedule_appointment_refusals_write_nothing(
    api: Api, db: Database, starts: str, ends: str, field: str
) -> None:
    client_id, provider_id = await _client_and_provider(api)
    before = len(await b.changes(db, api.slug))

    error = await refused(
        api, b.SCHEDULE, _session(client_id, provider_id, starts, ends), "scheduleAppointment"
    )

    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", field])
    assert await b.count(db, models.Appointment, api.slug) == 0
    assert len(await b.changes(db, api.slug)) == before


async def test_schedule_appointment_in_an_unknown_line_is_refused(api: Api, db: Database) -> None:
    client_id, provider_id = await _client_and_provider(api)
    error = await refused(
        api,
        b.SCHEDULE,
        _session(client_id, provider_id, "2026-03-04T09:00-05:00", "2026-03-04T10:00-05:00", "XYZ"),
        "scheduleAppointment",
    )
    assert (error["code"], error["field"]) == ("UNKNOWN_SERVICE_LINE", ["input", "serviceLine"])
    assert await b.count(db, models.Appointment, api.slug) == 0


async def test_update_appointment_status_provider_and_times(api: Api, db: Database) -> None:
    client_id, provider_id = await _client_and_provider(api)
    substitute = await b.provider(api, "Sub", "Stitute")
    await b.case_manager(api, client_id, provider_id, "2026-03-01")
    scheduled = await b.appointment(
        api, client_id, provider_id, "2026-03-04T09:00:00-05:00", "2026-03-04T10:00:00-05:00"
    )
    appointment_id = scheduled["appointment"]["id"]

    data = await b.ok(
        api,
        b.UPDATE_APPOINTMENT,
        {"input": {"id": appointment_id, "status": "COMPLETED", "providerId": substitute}},
        "updateAppointment",
    )
    assert data["appointment"]["status"] == "COMPLETED"
    assert data["appointment"]["provider"]["id"] == substitute
    assert data["appointment"]["startsAt"] == "2026-03-04T09:00:00-05:00"
    assert data["warnings"] == []

    # Moved to a day before the CM starts: allowed, with the gap as a warning.
    data = await b.ok(
        api,
        b.UPDATE_APPOINTMENT,
        {
            "input": {
                "id": appointment_id,
                "startsAt": "2026-02-27T09:00:00-05:00",
                "endsAt": "2026-02-27T10:00:00-05:00",
            }
        },
        "updateAppointment",
    )
    assert data["appointment"]["status"] == "COMPLETED"
    assert [(w["code"], w["date"]) for w in data["warnings"]] == [("NO_CASE_MANAGER", "2026-02-27")]

    records = [r for r in await b.changes(db, api.slug) if r.entity_type == "Appointment"]
    assert [r.operation for r in records] == [
        "scheduleAppointment",
        "updateAppointment",
        "updateAppointment",
    ]
    completed, moved = records[1], records[2]
    assert completed.before is not None and completed.after is not None
    assert (completed.before["status"], completed.after["status"]) == ("SCHEDULED", "COMPLETED")
    assert moved.before is not None and moved.after is not None
    assert moved.before["date_of_service"] == "2026-03-04"
    assert moved.after["date_of_service"] == "2026-02-27"


async def test_a_cancelled_appointment_has_no_warnings(api: Api) -> None:
    client_id, provider_id = await _client_and_provider(api)
    scheduled = await b.appointment(
        api, client_id, provider_id, "2026-03-04T09:00:00-05:00", "2026-03-04T10:00:00-05:00"
    )
    assert [w["code"] for w in scheduled["warnings"]] == ["NO_CASE_MANAGER"]

    data = await b.set_status(api, scheduled["appointment"]["id"], "CANCELLED")

    assert data["appointment"]["status"] == "CANCELLED"
    assert data["warnings"] == []


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"status": None}, "INVALID_INPUT", "status"),
        ({"startsAt": None}, "INVALID_INPUT", "startsAt"),
        ({"endsAt": "2026-03-04T08:00:00-05:00"}, "INVALID_INPUT", "endsAt"),
        ({"startsAt": "2026-03-04T09:30:00"}, "INVALID_INPUT", "startsAt"),
    ],
)
async def test_update_appointment_refusals_change_nothing(
    api: Api, db: Database, change: dict[str, Any], code: str, field: str
) -> None:
    client_id, provider_id = await _client_and_provider(api)
    scheduled = await b.appointment(
        api, client_id, provider_id, "2026-03-04T09:00:00-05:00", "2026-03-04T10:00:00-05:00"
    )
    appointment_id = scheduled["appointment"]["id"]
    before = len(await b.changes(db, api.slug))

    error = await refused(
        api, b.UPDATE_APPOINTMENT, {"input": {"id": appointment_id, **change}}, "updateAppointment"
    )

    assert (error["code"], error["field"]) == (code, ["input", field])
    assert len(await b.changes(db, api.slug)) == before
    reread = await api(
        "query($id: ID!) { node(id: $id) { ... on Appointment { status startsAt endsAt } } }",
        {"id": appointment_id},
    )
    assert reread["node"] == {
        "status": "SCHEDULED",
        "startsAt": "2026-03-04T09:00:00-05:00",
        "endsAt": "2026-03-04T10:00:00-05:00",
    }


async def test_update_appointment_to_an_unknown_provider_is_not_found(
    api: Api, db: Database
) -> None:
    client_id, provider_id = await _client_and_provider(api)
    scheduled = await b.appointment(
        api, client_id, provider_id, "2026-03-04T09:00:00-05:00", "2026-03-04T10:00:00-05:00"
    )
    error = await refused(
        api,
        b.UPDATE_APPOINTMENT,
        {"input": {"id": scheduled["appointment"]["id"], "providerId": client_id}},
        "updateAppointment",
    )
    assert (error["code"], error["field"]) == ("NOT_FOUND", ["input", "providerId"])


# --- search ----------------------------------------------------------------------------

CLIENTS = """
query($search: String, $first: Int, $after: String) {
  clients(search: $search, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { displayName } }
  }
}"""

PROVIDERS = """
query($search: String, $serviceLine: String, $first: Int, $after: String) {
  providers(search: $search, serviceLine: $serviceLine, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { displayName } }
  }
}"""


def names(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["displayName"] for e in connection["edges"]]


async def find_clients(api: Any, search: str | None, **extra: Any) -> dict[str, Any]:
    return cast("dict[str, Any]", (await api(CLIENTS, {"search": search, **extra}))["clients"])


async def find_providers(api: Any, search: str | None = None, **extra: Any) -> dict[str, Any]:
    return cast("dict[str, Any]", (await api(PROVIDERS, {"search": search, **extra}))["providers"])


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("ada", ["Ada Lovelace", "Adam Smith"]),
        ("LOVE ada", ["Ada Lovelace"]),
        ("ace lov", ["Ada Lovelace"]),
        ("  hopper   GRACE ", ["Grace Hopper"]),
        ("ada hopper", []),
        ("", ["Grace Hopper", "Ada Lovelace", "Adam Smith"]),
        (None, ["Grace Hopper", "Ada Lovelace", "Adam Smith"]),
    ],
)
async def test_clients_search_is_case_insensitive_partial_and_needs_every_word(
    api: Api, search: str | None, expected: list[str]
) -> None:
    for first, last in (("Ada", "Lovelace"), ("Adam", "Smith"), ("Grace", "Hopper")):
        await b.client(api, first, last)

    found = await find_clients(api, search)

    assert names(found) == expected
    assert found["totalCount"] == len(expected)


async def test_percent_and_underscore_in_a_search_are_literal(api: Api) -> None:
    for first, last in (
        ("Zoe", "O_Neil"),
        ("Zoe", "OxNeil"),
        ("Pat", "Per%cent"),
        ("Pat", "Percy"),
    ):
        await b.client(api, first, last)
        await b.provider(api, first, last)

    assert names(await find_clients(api, "o_n")) == ["Zoe O_Neil"]
    assert names(await find_clients(api, "%")) == ["Pat Per%cent"]
    assert names(await find_clients(api, "r%c")) == ["Pat Per%cent"]
    assert names(await find_providers(api, "_")) == ["Zoe O_Neil"]
    assert names(await find_providers(api, "%")) == ["Pat Per%cent"]
    assert names(await find_providers(api, "\\")) == []


async def test_providers_search_is_case_insensitive_partial_and_multi_word(api: Api) -> None:
    await b.provider(api, "Bea", "Baker")
    await b.provider(api, "Beatrice", "Cole")
    await b.provider(api, "Carl", "Bealer")

    assert names(await find_providers(api, "BEA")) == ["Bea Baker", "Carl Bealer", "Beatrice Cole"]
    assert names(await find_providers(api, "bea col")) == ["Beatrice Cole"]


async def test_providers_of_a_service_line_hold_a_current_qualifying_credential(api: Api) -> None:
    await b.provider(api, "Sally", "Current", credentials=["SLP"])
    await b.provider(api, "Bill", "Bcba", credentials=["BCBA"])
    await b.provider(api, "Anne", "Assistant", credentials=["SLPA"])
    await b.provider(api, "Nobody", "Credentialed", credentials=[])
    expired = await b.provider(api, "Ed", "Expired", credentials=[])
    future = await b.provider(api, "Fay", "Future", credentials=[])
    await b.ok(
        api,
        b.UPDATE_PROVIDER,
        {"input": {"id": expired, "credentials": [{"type": "SLP", "expiresOn": "2020-01-01"}]}},
        "updateProvider",
    )
    await b.ok(
        api,
        b.UPDATE_PROVIDER,
        {"input": {"id": future, "credentials": [{"type": "SLP", "issuedOn": "2199-01-01"}]}},
        "updateProvider",
    )

    assert names(await find_providers(api, serviceLine="ST")) == ["Sally Current"]
    assert names(await find_providers(api, serviceLine=" st ")) == ["Sally Current"]
    assert names(await find_providers(api, serviceLine="ABA")) == ["Bill Bcba"]
    assert names(await find_providers(api, "sal", serviceLine="ABA")) == []
    assert (await find_providers(api))["totalCount"] == 6


async def test_providers_of_an_unknown_service_line_is_an_error(api: Api) -> None:
    body = await api.raw(PROVIDERS, {"serviceLine": "XYZ"})
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "UNKNOWN_SERVICE_LINE"


async def test_client_connections_page_with_cursors(api: Api) -> None:
    for last_name in ("Avery", "Brown", "Chen", "Diaz", "Evans"):
        await b.client(api, "Kim", last_name)

    first = await find_clients(api, None, first=2)
    assert names(first) == ["Kim Avery", "Kim Brown"]
    assert first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert first["pageInfo"]["endCursor"] == first["edges"][1]["cursor"]

    second = await find_clients(api, None, first=2, after=first["pageInfo"]["endCursor"])
    assert names(second) == ["Kim Chen", "Kim Diaz"]
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert second["pageInfo"]["hasNextPage"] is True

    last = await find_clients(api, None, first=2, after=second["pageInfo"]["endCursor"])
    assert names(last) == ["Kim Evans"]
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["totalCount"] == 5

    # A cursor from the middle of a page resumes right after that edge.
    resumed = await find_clients(api, None, first=1, after=first["edges"][0]["cursor"])
    assert names(resumed) == ["Kim Brown"]

    empty = await find_clients(api, None, first=0)
    assert empty["edges"] == []
    assert empty["totalCount"] == 5
    assert empty["pageInfo"]["startCursor"] is None
    assert empty["pageInfo"]["hasNextPage"] is True


async def test_provider_connections_page_with_cursors(api: Api) -> None:
    for last in ("Avery", "Brown", "Chen"):
        await b.provider(api, "Lee", last)

    first = await find_providers(api, first=2)
    assert names(first) == ["Lee Avery", "Lee Brown"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await find_providers(api, first=2, after=first["pageInfo"]["endCursor"])
    assert names(rest) == ["Lee Chen"]
    assert rest["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("query", [CLIENTS, PROVIDERS])
@pytest.mark.parametrize("after", ["not a cursor", "Y3Vyc29yOng", "b3RoZXI6MQ=="])
async def test_a_malformed_cursor_is_an_input_error(api: Api, query: str, after: str) -> None:
    body = await api.raw(query, {"after": after})
    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["field"] == ["after"]


@pytest.mark.parametrize("query", [CLIENTS, PROVIDERS])
async def test_first_above_the_cap_is_an_input_error(api: Api, query: str) -> None:
    body = await api.raw(query, {"first": 101})
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


APPOINTMENTS = """
query($id: ID!, $from: DateTime, $to: DateTime, $line: String) {
  client(id: $id) {
    appointments(from: $from, to: $to, serviceLine: $line) { startsAt serviceLine { code } }
  }
}"""


async def test_a_clients_appointments_filter_by_time_and_line(api: Api) -> None:
    client_id = await b.client(api)
    slp = await b.provider(api, "Sam", "Speech", credentials=["SLP"])
    for day, line in (("04", "ABA"), ("05", "ST"), ("06", "ABA")):
        await b.appointment(
            api,
            client_id,
            slp,
            f"2026-03-{day}T09:00:00-05:00",
            f"2026-03-{day}T10:00:00-05:00",
            line,
        )

    async def starts(**filters: Any) -> list[str]:
        data = await api(APPOINTMENTS, {"id": client_id, **filters})
        return [a["startsAt"][:10] for a in data["client"]["appointments"]]

    assert await starts() == ["2026-03-04", "2026-03-05", "2026-03-06"]
    assert await starts(**{"from": "2026-03-05T00:00:00-05:00"}) == ["2026-03-05", "2026-03-06"]
    assert await starts(to="2026-03-06T14:00:00Z") == ["2026-03-04", "2026-03-05"]
    assert await starts(line="aba") == ["2026-03-04", "2026-03-06"]


@pytest.mark.parametrize("name", ["from", "to"])
async def test_a_naive_date_time_filter_is_an_input_error(api: Api, name: str) -> None:
    client_id = await b.client(api)
    body = await api.raw(APPOINTMENTS, {"id": client_id, name: "2026-03-05T00:00:00"})
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "INVALID_INPUT", "field": [name]}


# --- the change record -----------------------------------------------------------------


async def test_every_write_is_recorded_with_its_actor_operation_and_entity(
    api: Api, db: Database
) -> None:
    org = await b.org_id(db, api.slug)
    async with db.read() as session:
        token_id = await session.scalar(
            select(models.ApiToken.id).where(models.ApiToken.organization_id == org)
        )
    client_id = await b.client(api)
    provider_id = await b.provider(api)
    payor_id = await b.payor(api)
    coverage_id = await b.coverage(api, client_id, payor_id)
    enrollment_id = await b.enrollment(api, provider_id, payor_id)
    scheduled = await b.appointment(
        api, client_id, provider_id, "2026-03-04T09:00:00-05:00", "2026-03-04T10:00:00-05:00"
    )
    appointment_id = scheduled["appointment"]["id"]
    for status in ("NO_SHOW", "COMPLETED"):
        assert (await b.set_status(api, appointment_id, status))["appointment"]["status"] == status

    records = await b.changes(db, api.slug)

    assert [(r.operation, r.entity_type) for r in records] == [
        ("createClient", "Client"),
        ("createProvider", "Provider"),
        ("createPayor", "Payor"),
        ("addCoverage", "Coverage"),
        ("recordEnrollment", "Enrollment"),
        ("scheduleAppointment", "Appointment"),
        ("updateAppointment", "Appointment"),
        ("updateAppointment", "Appointment"),
    ]
    assert {r.actor for r in records} == {f"token:{token_id}"}
    ids = [client_id, provider_id, payor_id, coverage_id, enrollment_id, *[appointment_id] * 3]
    assert [encode(r.entity_type, r.entity_id) for r in records] == ids
    afters = [r.after for r in records]
    assert all(after is not None for after in afters)
    assert [r.before is None for r in records] == [True] * 6 + [False] * 2
    statuses = [after["status"] for after in afters[-3:] if after is not None]
    assert statuses == ["SCHEDULED", "NO_SHOW", "COMPLETED"]
