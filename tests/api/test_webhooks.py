"""Webhooks: endpoints registered through the API, deliveries signed by the Standard Webhooks
specification (verified by its reference library, as a receiver does), in feed order, at
least once, retried on the schedule, failed and disabled with an event; secrets encrypted at
rest; the caller sees only what it may. A real loopback receiver and a real dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import builders as b
import httpx
import jsonschema
import pytest
import trustme
from cryptography.fernet import Fernet
from principals import as_, token
from pytest import MonkeyPatch
from receiver import Receiver, Tls, free_port, receiving
from sqlalchemy import select, update

from cmgraph.api import ids
from cmgraph.app import create_app
from cmgraph.config import Settings, SettingsError, WebhookSettings
from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.observability import metrics
from cmgraph.plugins import RuleBook
from cmgraph.services import destinations, events
from cmgraph.services.dispatch import Dispatcher
from cmgraph.services.sealing import Sealer, SealingError
from tests.support import Api

KEY = Fernet.generate_key().decode()
FAST = WebhookSettings(
    allow_private_networks=True,
    retry_seconds=(0.1, 0.1),
    poll_seconds=0.05,
    lease_seconds=5.0,
    timeout_seconds=2.0,
)


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    """The suite's settings with a secret key and webhooks to loopback allowed."""
    return Settings(
        database_url=database_url,
        plugins_dir=Path("plugins-not-used-in-core-tests"),
        disabled_plugins=frozenset(),
        development=False,
        max_page_size=100,
        secret_key=KEY,
        webhooks=FAST,
    )


@pytest.fixture(autouse=True)
async def quiet_endpoints(db: Database) -> AsyncIterator[None]:
    """Endpoints of a finished test point at receivers that are gone: disable them, so that
    the next test's dispatcher does not spend its time on them."""
    yield
    async with db.write() as session:
        await session.execute(update(models.WebhookEndpoint).values(enabled=False))
        await session.commit()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as r:
        yield r


@contextlib.asynccontextmanager
async def dispatching(db: Database, **changes: Any) -> AsyncIterator[Dispatcher]:
    dispatcher = Dispatcher(db, dataclasses.replace(FAST, **changes), Sealer(KEY))
    task = asyncio.ensure_future(dispatcher.run())
    try:
        yield dispatcher
    finally:
        dispatcher.stop()
        await task


@contextlib.asynccontextmanager
async def served(api: Api, db: Database, book: RuleBook, settings: Settings) -> AsyncIterator[Any]:
    """The same organization and token, through an app with other settings."""
    app = create_app(settings, db=db, book=book)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        yield type(api)(client, api.token, api.slug)


CREATE = """
mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    secret
    webhookEndpoint { id url eventTypes description enabled }
    userErrors { field code message }
  }
}"""
UPDATE = """
mutation($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) {
    webhookEndpoint { id url eventTypes enabled disabledReason failingSince }
    userErrors { field code message }
  }
}"""
ROTATE = """
mutation($id: ID!) { rotateWebhookSecret(input: {id: $id}) {
  secret webhookEndpoint { previousSecretExpiresAt } userErrors { code } } }"""
DELETE = """
mutation($id: ID!) { deleteWebhookEndpoint(input: {id: $id}) {
  deletedId userErrors { code } } }"""
DELIVERY = """id messageId eventType status nextAttemptAt payload
  attempts { attemptedAt durationMs statusCode error }"""
TEST = f"""
mutation($id: ID!) {{ sendTestWebhook(input: {{id: $id}}) {{
  delivery {{ {DELIVERY} }} userErrors {{ code message }} }} }}"""
REDELIVER = f"""
mutation($id: ID!) {{ redeliverWebhook(input: {{deliveryId: $id}}) {{
  delivery {{ {DELIVERY} }} userErrors {{ code message }} }} }}"""
DELIVERIES = f"""
query($id: ID!, $status: WebhookDeliveryStatus, $first: Int, $after: String) {{
  webhookDeliveries(endpointId: $id, status: $status, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {DELIVERY} }} }}
  }}
}}"""
ENDPOINTS = "{ webhookEndpoints { id url eventTypes enabled } }"
FEED = """query($types: [String!]) { events(types: $types, first: 100) {
  edges { node { id type data } } } }"""


async def create(api: Api, url: str, types: list[str], **extra: Any) -> dict[str, Any]:
    data = (await api(CREATE, {"input": {"url": url, "eventTypes": types, **extra}}))[
        "createWebhookEndpoint"
    ]
    return cast("dict[str, Any]", data)


async def endpoint(api: Api, receiver: Receiver, types: list[str]) -> str:
    data = await create(api, receiver.url, types)
    assert data["userErrors"] == [], data["userErrors"]
    receiver.secrets.append(data["secret"])
    return cast("str", data["webhookEndpoint"]["id"])


async def deliveries(api: Api, endpoint_id: str, **variables: Any) -> list[dict[str, Any]]:
    found = await api(DELIVERIES, {"id": endpoint_id, **variables})
    return [e["node"] for e in found["webhookDeliveries"]["edges"]]


async def feed(api: Api, *types: str) -> list[dict[str, Any]]:
    edges = (await api(FEED, {"types": list(types) or None}))["events"]["edges"]
    return [e["node"] for e in edges]


def valid(node: dict[str, Any]) -> None:
    jsonschema.validate(
        node["data"],
        events.schema(node["type"]),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


async def test_the_secret_is_answered_once_and_stored_encrypted(
    api: Api, db: Database, receiver: Receiver
) -> None:
    data = await create(api, receiver.url, ["client.created"], description="billing sync")
    secret = data["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert data["webhookEndpoint"]["description"] == "billing sync"
    listed = (await api(ENDPOINTS))["webhookEndpoints"]
    assert "secret" not in str(listed) and secret not in str(listed)
    made = ids.decode_as(data["webhookEndpoint"]["id"], "WebhookEndpoint")
    async with db.read() as session:
        row = await session.get(models.WebhookEndpoint, (await b.org_id(db, api.slug), made))
    assert row is not None and secret not in row.secret
    assert Fernet(KEY.encode()).decrypt(row.secret.encode()).decode() == secret


async def test_deliveries_are_signed_verifiable_and_carry_the_events_envelope(
    api: Api, db: Database, receiver: Receiver
) -> None:
    hook = await endpoint(api, receiver, ["client.created", "provider.created"])
    async with dispatching(db):
        await b.client(api, "Eve", "Ever")
        await b.provider(api, "Pam", "Provider")
        await b.payor(api, "Not Subscribed")
        got = await receiver.wait_for(2)
    assert [r.verified for r in got] == [True, True]
    subscribed = await feed(api, "client.created", "provider.created")
    assert [r.id for r in got] == [n["data"]["id"] for n in subscribed]
    assert [r.payload for r in got] == [n["data"] for n in subscribed]
    assert {r.headers["content-type"] for r in got} == {"application/json"}
    listed = await deliveries(api, hook)
    assert [d["status"] for d in listed] == ["SUCCEEDED", "SUCCEEDED"]
    assert listed[0]["attempts"][0]["statusCode"] == 204
    assert "never kept" not in str(listed)


async def test_a_tampered_body_or_a_wrong_secret_does_not_verify(
    api: Api, db: Database, receiver: Receiver
) -> None:
    await endpoint(api, receiver, ["client.created"])
    async with dispatching(db):
        await b.client(api)
        (got,) = await receiver.wait_for(1)
    assert receiver.verified_with(receiver.secrets[0], got)
    tampered = dataclasses.replace(got, body=got.body.replace(b"client", b"Client"))
    assert not receiver.verified_with(receiver.secrets[0], tampered)
    other = "whsec_" + "A" * 43 + "="
    assert not receiver.verified_with(other, got)


async def test_events_arrive_in_feed_order_and_one_waits_for_the_one_before(
    api: Api, db: Database, receiver: Receiver
) -> None:
    """The receiver refuses the first delivery twice: the second event is not sent before
    the first succeeded, and the retries carry the same webhook-id."""
    hook = await endpoint(api, receiver, ["client.created"])
    first = await b.client(api, "One", "First")
    second = await b.client(api, "Two", "Second")
    receiver.status = 500
    async with dispatching(db, retry_seconds=(0.1, 0.1, 0.1)):
        await receiver.wait_for(2)
        receiver.status = 204
        got = await receiver.wait_for(4)
    ids = [r.id for r in got]
    assert ids[0] == ids[1] == ids[2] != ids[3]
    assert [r.payload["data"]["clientId"] for r in got][2:] == [first, second]
    newest, oldest = await deliveries(api, hook)
    assert [a["statusCode"] for a in oldest["attempts"]] == [500, 500, 204]
    assert [a["error"] for a in oldest["attempts"]] == ["HTTP_STATUS", "HTTP_STATUS", None]
    assert all(a["durationMs"] >= 0 for a in oldest["attempts"])
    assert newest["status"] == oldest["status"] == "SUCCEEDED"


def attempts_counted() -> dict[str, float]:
    """cmgraph_webhook_deliveries_total by outcome, as a scrape shows it."""
    text = metrics.exposition().decode()
    return {
        outcome: sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(f'cmgraph_webhook_deliveries_total{{outcome="{outcome}"}}')
        )
        for outcome in ("delivered", "failed", "gave_up")
    }


async def test_a_delivery_fails_for_good_with_an_event_and_the_next_one_goes(
    api: Api, db: Database, receiver: Receiver
) -> None:
    metrics.enable()
    counted = attempts_counted()
    admin_hook = await endpoint(api, receiver, ["client.created"])
    await b.client(api, "Never", "Delivered")
    receiver.status = 503
    async with dispatching(db, retry_seconds=(0.05, 0.05)):
        await receiver.wait_for(3)
        receiver.status = 204
        await b.client(api, "Later", "Delivered")
        got = await receiver.wait_for(4)
        await asyncio.sleep(0.2)
    assert len(receiver.received) == 4  # 3 attempts, then the next event once
    now = attempts_counted()
    assert {k: now[k] - counted[k] for k in now} == {"delivered": 1, "failed": 2, "gave_up": 1}
    assert got[3].id != got[0].id
    failed = await deliveries(api, admin_hook, status="FAILED")
    assert len(failed) == 1 and len(failed[0]["attempts"]) == 3
    (event,) = await feed(api, "webhook.delivery_failed")
    valid(event)
    assert event["data"]["data"]["messageId"] == failed[0]["messageId"]
    assert event["data"]["data"]["endpointId"] == admin_hook
    assert event["data"]["data"]["attempts"] == 3


async def test_an_endpoint_failing_for_the_set_time_is_disabled_with_an_event(
    api: Api, db: Database, receiver: Receiver
) -> None:
    hook = await endpoint(api, receiver, ["client.created"])
    receiver.status = 500
    await b.client(api)
    async with dispatching(db, retry_seconds=(0.1,) * 20, disable_after_seconds=0.5):
        for _ in range(100):
            await asyncio.sleep(0.1)
            (row,) = (await api(ENDPOINTS))["webhookEndpoints"]
            if not row["enabled"]:
                break
        attempts = len(receiver.received)
        await asyncio.sleep(0.4)
    assert not row["enabled"]
    assert len(receiver.received) == attempts  # nothing more once disabled
    (event,) = await feed(api, "webhook.endpoint_disabled")
    valid(event)
    assert event["data"]["data"]["endpointId"] == hook
    # Enabled again, it resumes where it stopped.
    receiver.status = 204
    resumed = await api(UPDATE, {"input": {"id": hook, "enabled": True}})
    assert resumed["updateWebhookEndpoint"]["webhookEndpoint"]["enabled"] is True
    async with dispatching(db):
        got = await receiver.wait_for(attempts + 1)
    assert got[-1].id == got[0].id


async def test_redelivery_sends_the_same_message_again(
    api: Api, db: Database, receiver: Receiver
) -> None:
    hook = await endpoint(api, receiver, ["client.created"])
    async with dispatching(db):
        await b.client(api)
        (first,) = await receiver.wait_for(1)
        (delivered,) = await deliveries(api, hook)
        again = (await api(REDELIVER, {"id": delivered["id"]}))["redeliverWebhook"]
        assert again["userErrors"] == []
        assert again["delivery"]["status"] == "PENDING"
        _, second = await receiver.wait_for(2)
    assert second.id == first.id and second.body == first.body and second.verified
    assert [d["status"] for d in await deliveries(api, hook)] == ["SUCCEEDED", "SUCCEEDED"]


async def test_send_test_webhook_delivers_at_once_and_says_how_it_went(
    api: Api, receiver: Receiver
) -> None:
    hook = await endpoint(api, receiver, ["client.created"])
    sent = (await api(TEST, {"id": hook}))["sendTestWebhook"]
    assert sent["userErrors"] == []
    assert sent["delivery"]["status"] == "SUCCEEDED"
    assert sent["delivery"]["attempts"][0]["statusCode"] == 204
    (got,) = receiver.received
    assert got.verified and got.payload["type"] == "webhook.test"
    assert got.payload["data"]["endpointId"] == hook
    receiver.status = 410
    refused = (await api(TEST, {"id": hook}))["sendTestWebhook"]["delivery"]
    assert refused["status"] == "FAILED"
    assert refused["attempts"][0] | {"attemptedAt": None, "durationMs": None} == {
        "attemptedAt": None,
        "durationMs": None,
        "statusCode": 410,
        "error": "HTTP_STATUS",
    }


async def test_a_redirect_is_not_followed(api: Api, receiver: Receiver) -> None:
    hook = await endpoint(api, receiver, ["client.created"])
    receiver.status = 302
    sent = (await api(TEST, {"id": hook}))["sendTestWebhook"]["delivery"]
    assert sent["status"] == "FAILED"
    assert sent["attempts"][0]["statusCode"] == 302
    assert len(receiver.received) == 1


async def test_after_a_rotation_both_secrets_sign_for_a_day(
    api: Api, db: Database, receiver: Receiver
) -> None:
    hook = await endpoint(api, receiver, ["client.created"])
    old = receiver.secrets[0]
    rotated = (await api(ROTATE, {"id": hook}))["rotateWebhookSecret"]
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old
    assert rotated["webhookEndpoint"]["previousSecretExpiresAt"] is not None
    async with dispatching(db):
        await b.client(api)
        (got,) = await receiver.wait_for(1)
    assert receiver.verified_with(old, got) and receiver.verified_with(new, got)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    # Once the day is over, only the new secret signs.
    async with db.write() as session:
        await session.execute(
            update(models.WebhookEndpoint).values(previous_secret_until=models.utcnow())
        )
        await session.commit()
    sent = (await api(TEST, {"id": hook}))["sendTestWebhook"]
    assert sent["delivery"]["status"] == "SUCCEEDED"
    last = receiver.received[-1]
    assert receiver.verified_with(new, last) and not receiver.verified_with(old, last)


async def test_update_and_delete_an_endpoint_and_every_change_is_audited(
    api: Api, receiver: Receiver
) -> None:
    hook = await endpoint(api, receiver, ["client.created"])
    changed = (
        await api(
            UPDATE,
            {"input": {"id": hook, "eventTypes": ["client.updated"], "description": "x"}},
        )
    )["updateWebhookEndpoint"]
    assert changed["userErrors"] == []
    assert changed["webhookEndpoint"]["eventTypes"] == ["client.updated"]
    await api(ROTATE, {"id": hook})
    deleted = (await api(DELETE, {"id": hook}))["deleteWebhookEndpoint"]
    assert deleted == {"deletedId": hook, "userErrors": []}
    assert (await api(ENDPOINTS))["webhookEndpoints"] == []
    audit = await api("{ auditEvents(first: 50) { edges { node { operation before after } } } }")
    nodes = [e["node"] for e in audit["auditEvents"]["edges"]]
    operations = [n["operation"] for n in nodes if "Webhook" in n["operation"]]
    assert operations == [
        "createWebhookEndpoint",
        "updateWebhookEndpoint",
        "rotateWebhookSecret",
        "deleteWebhookEndpoint",
    ]
    assert "whsec_" not in str(nodes) and "gAAAA" not in str(nodes)  # no secret, sealed or not
    # Configuration, not a fact of the practice: no domain event.
    assert [n["type"] for n in await feed(api)] == []


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.example.com/x", "INVALID_URL"),  # https only
        ("ftp://hooks.example.com/x", "INVALID_URL"),
        ("https://user:pw@hooks.example.com/x", "INVALID_URL"),
        ("not a url", "INVALID_URL"),
        ("https://127.0.0.1/x", "ADDRESS_REFUSED"),  # loopback
        ("https://localhost/x", "ADDRESS_REFUSED"),
        ("https://[::1]/x", "ADDRESS_REFUSED"),
        ("https://[::ffff:127.0.0.1]/x", "ADDRESS_REFUSED"),  # loopback, mapped in IPv6
        ("https://10.1.2.3/x", "ADDRESS_REFUSED"),  # private
        ("https://172.16.0.1/x", "ADDRESS_REFUSED"),
        ("https://192.168.1.1/x", "ADDRESS_REFUSED"),
        ("https://[fd12::1]/x", "ADDRESS_REFUSED"),
        ("https://169.254.10.1/x", "ADDRESS_REFUSED"),  # link-local
        ("https://[fe80::1]/x", "ADDRESS_REFUSED"),
        ("https://224.0.0.1/x", "ADDRESS_REFUSED"),  # multicast
        ("https://[ff02::1]/x", "ADDRESS_REFUSED"),
        ("https://0.0.0.0/x", "ADDRESS_REFUSED"),  # unspecified
        ("https://100.64.0.1/x", "ADDRESS_REFUSED"),  # shared (carrier-grade NAT)
        ("https://169.254.169.254/latest/meta-data", "ADDRESS_REFUSED"),  # cloud metadata
        ("https://[fd00:ec2::254]/x", "ADDRESS_REFUSED"),
    ],
)
def test_registration_refuses_what_is_not_a_public_https_url(url: str, code: str) -> None:
    with pytest.raises(destinations.Refused) as refused:
        destinations.check_url(url, allow_private=False)
    assert refused.value.code == code


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest",
        "http://[fd00:ec2::254]/x",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_metadata_addresses_stay_refused_when_private_networks_are_allowed(url: str) -> None:
    with pytest.raises(destinations.Refused, match="metadata"):
        destinations.check_url(url, allow_private=True)


def test_private_networks_allowed_for_development_allow_http_and_loopback() -> None:
    for url in ("http://127.0.0.1:9000/x", "http://10.0.0.2/x", "https://localhost/x"):
        assert destinations.check_url(url, allow_private=True).url == url


async def test_every_address_a_name_resolves_to_must_be_public() -> None:
    async def split(host: str, port: int) -> list[Any]:
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")]

    target = destinations.check_url("https://hooks.partner.example/x", allow_private=False)
    with pytest.raises(destinations.Refused, match=r"10\.0\.0\.7 is a private"):
        await destinations.resolve(target, False, split)


async def test_the_api_refuses_a_private_address_and_stores_nothing(
    api: Api, db: Database, book: RuleBook, settings: Settings, monkeypatch: MonkeyPatch
) -> None:
    async def private(host: str, port: int) -> list[Any]:
        return [ipaddress.ip_address("192.168.0.10")]

    monkeypatch.setattr(destinations, "system_resolver", private)
    strict = dataclasses.replace(
        settings, webhooks=dataclasses.replace(FAST, allow_private_networks=False)
    )
    async with served(api, db, book, strict) as production:
        for url, code in (
            ("https://169.254.169.254/", "ADDRESS_REFUSED"),
            ("https://intranet.partner.example/hooks", "ADDRESS_REFUSED"),
            ("http://hooks.partner.example/hooks", "INVALID_URL"),
        ):
            data = await create(production, url, ["client.created"])
            assert data["secret"] is None and data["webhookEndpoint"] is None
            assert [(e["field"], e["code"]) for e in data["userErrors"]] == [
                (["input", "url"], code)
            ]
    assert (await api(ENDPOINTS))["webhookEndpoints"] == []


async def test_a_name_that_resolves_to_a_private_address_at_delivery_is_not_called(
    api: Api, db: Database, receiver: Receiver, monkeypatch: MonkeyPatch
) -> None:
    """DNS rebinding: public when registered, loopback when delivered. The address is checked
    after resolution, and the attempt fails without a connection."""
    answers = iter(["93.184.216.34"])

    async def rebinding(host: str, port: int) -> list[Any]:
        return [ipaddress.ip_address(next(answers, "127.0.0.1"))]

    monkeypatch.setattr(destinations, "system_resolver", rebinding)
    url = f"https://rebind.partner.example:{receiver.port}/hooks"
    data = await create(api, url, ["client.created"])
    assert data["userErrors"] == []
    hook = data["webhookEndpoint"]["id"]
    dispatcher = Dispatcher(
        db,
        dataclasses.replace(FAST, allow_private_networks=False, retry_seconds=(60.0,)),
        Sealer(KEY),
        resolver=rebinding,
    )
    task = asyncio.ensure_future(dispatcher.run())
    await b.client(api)
    listed: dict[str, Any] | None = None
    try:
        for _ in range(100):
            (listed,) = await deliveries(api, hook) or (None,)
            if listed and listed["attempts"]:
                break
            await asyncio.sleep(0.05)
    finally:
        dispatcher.stop()
        await task
    assert listed is not None
    assert listed["attempts"][0]["error"] == "ADDRESS_REFUSED"
    assert listed["attempts"][0]["statusCode"] is None
    assert receiver.received == []


async def test_the_roles_that_manage_endpoints_and_an_integration_sees_its_own(
    api: Api, db: Database, receiver: Receiver
) -> None:
    mine = as_(
        api, await token(db, api.slug, "integration", scopes=("webhooks:write", "clients:read"))
    )
    theirs = as_(
        api, await token(db, api.slug, "integration", scopes=("webhooks:write", "events:read"))
    )
    reader = as_(api, await token(db, api.slug, "integration", scopes=("webhooks:read",)))
    coordinator = as_(api, await token(db, api.slug, "coordinator"))
    hook = await endpoint(mine, receiver, ["client.created"])
    other = await endpoint(theirs, receiver, ["case_manager.assigned"])
    assert [e["id"] for e in (await mine(ENDPOINTS))["webhookEndpoints"]] == [hook]
    assert [e["id"] for e in (await theirs(ENDPOINTS))["webhookEndpoints"]] == [other]
    assert {e["id"] for e in (await api(ENDPOINTS))["webhookEndpoints"]} == {hook, other}
    assert (await reader(ENDPOINTS))["webhookEndpoints"] == []
    # Another integration's endpoint is as good as missing.
    for query, variables, name in (
        (DELETE, {"id": other}, "deleteWebhookEndpoint"),
        (ROTATE, {"id": other}, "rotateWebhookSecret"),
        (TEST, {"id": other}, "sendTestWebhook"),
    ):
        answer = (await mine(query, variables))[name]
        assert [e["code"] for e in answer["userErrors"]] == ["NOT_FOUND"], name
    refused = await mine.raw(DELIVERIES, {"id": other})
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Subscribing needs a scope that reads what the events are about.
    data = await create(mine, receiver.url, ["provider.created"])
    assert [e["code"] for e in data["userErrors"]] == ["FORBIDDEN"]
    for caller in (coordinator, reader):
        response = await caller.post(
            CREATE, {"input": {"url": receiver.url, "eventTypes": ["client.created"]}}
        )
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_bad_input_is_refused_and_changes_nothing(api: Api, receiver: Receiver) -> None:
    for types, field in (([], "eventTypes"), (["client.deleted"], "eventTypes")):
        data = await create(api, receiver.url, types)
        assert [(e["field"], e["code"]) for e in data["userErrors"]] == [
            (["input", field], "INVALID_INPUT")
        ]
    data = await create(api, receiver.url, ["client.created"], description="x" * 501)
    assert [e["code"] for e in data["userErrors"]] == ["INVALID_INPUT"]
    assert (await api(ENDPOINTS))["webhookEndpoints"] == []
    malformed = await api.raw(DELIVERIES, {"id": "nonsense"})
    assert malformed["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_deliveries_page_by_keyset_newest_first_and_filter_by_status(
    api: Api, db: Database, receiver: Receiver
) -> None:
    hook = await endpoint(api, receiver, ["client.created"])
    async with dispatching(db):
        for n in range(5):
            await b.client(api, "Paged", f"Client{n}")
        await receiver.wait_for(5)
    page = (await api(DELIVERIES, {"id": hook, "first": 2}))["webhookDeliveries"]
    assert page["totalCount"] == 5 and page["pageInfo"]["hasNextPage"]
    seen = [e["node"]["messageId"] for e in page["edges"]]
    after = page["pageInfo"]["endCursor"]
    while after:
        page = (await api(DELIVERIES, {"id": hook, "first": 2, "after": after}))[
            "webhookDeliveries"
        ]
        seen += [e["node"]["messageId"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen == [r.id for r in reversed(receiver.received)]
    assert await deliveries(api, hook, status="FAILED") == []


async def test_without_a_secret_key_webhooks_are_refused_in_one_clear_answer(
    api: Api, db: Database, book: RuleBook, settings: Settings
) -> None:
    keyless = dataclasses.replace(settings, secret_key=None)
    async with served(api, db, book, keyless) as bare:
        data = await create(bare, "https://hooks.example.com/x", ["client.created"])
    (error,) = data["userErrors"]
    assert error["code"] == "NOT_CONFIGURED" and "CMGRAPH_SECRET_KEY" in error["message"]


async def test_two_dispatchers_attempt_each_delivery_once(
    api: Api, db: Database, receiver: Receiver
) -> None:
    """Both claim endpoints from the same database; leases keep them off each other's."""
    hooks = [await endpoint(api, receiver, ["client.created"]) for _ in range(3)]
    async with dispatching(db), dispatching(db):
        for n in range(4):
            await b.client(api, "Twice", f"Dispatched{n}")
        got = await receiver.wait_for(12)
        await asyncio.sleep(0.3)
    assert len(receiver.received) == 12
    assert all(r.verified for r in got)
    for hook in hooks:
        listed = await deliveries(api, hook)
        assert [len(d["attempts"]) for d in listed] == [1, 1, 1, 1]


async def test_a_graceful_stop_finishes_the_attempt_in_flight_and_releases_the_endpoint(
    api: Api, db: Database, receiver: Receiver
) -> None:
    hook = await endpoint(api, receiver, ["client.created"])
    receiver.stall_seconds = 0.5
    await b.client(api)
    await b.client(api, "Second", "Client")
    dispatcher = Dispatcher(db, FAST, Sealer(KEY))
    task = asyncio.ensure_future(dispatcher.run())
    await receiver.wait_for(0)
    async with asyncio.timeout(10):
        while not receiver.in_flight:
            receiver.arrived.clear()
            await receiver.arrived.wait()
    assert await _leased(db)
    dispatcher.stop()
    await task
    listed = await deliveries(api, hook)
    assert [d["status"] for d in listed] == ["PENDING", "SUCCEEDED"]  # no new attempt began
    assert not await _leased(db)


async def _leased(db: Database) -> bool:
    async with db.read() as session:
        owners = await session.scalars(
            select(models.WebhookEndpoint.lease_owner).where(
                models.WebhookEndpoint.enabled.is_(True)
            )
        )
        return any(o is not None for o in owners)


def test_every_webhook_event_type_is_in_the_catalogue() -> None:
    for kind in events.WEBHOOK_TYPES:
        assert kind in events.TYPES


def test_after_a_key_rotation_the_previous_key_still_opens_what_it_sealed() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = Sealer(old).seal("whsec_secret")
    assert Sealer(new, (old,)).open(sealed) == "whsec_secret"
    assert Sealer(new, (old,)).seal("whsec_secret") != sealed  # new secrets: the new key
    with pytest.raises(SealingError, match="neither CMGRAPH_SECRET_KEY"):
        Sealer(new).open(sealed)
    with pytest.raises(SealingError, match="not a Fernet key"):
        Sealer("too-short")


# --- over real TLS ----------------------------------------------------------------------------

RECEIVER_NAME = "hooks.partner.test"


async def loopback(host: str, port: int) -> list[Any]:
    """The receiver's name resolves to loopback (private networks are allowed in FAST)."""
    assert host == RECEIVER_NAME, host
    return [ipaddress.ip_address("127.0.0.1")]


@contextlib.asynccontextmanager
async def tls_receiver(tmp_path: Path, ca: trustme.CA, name: str) -> AsyncIterator[Receiver]:
    """A receiver served over https with a certificate for `name` issued by `ca`."""
    issued = ca.issue_cert(name)
    certfile, keyfile = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    for pem, path in ((issued.cert_chain_pems, certfile), (issued.private_key_pem, keyfile)):
        for blob in pem if isinstance(pem, list) else [pem]:
            blob.write_to_path(str(path), append=True)
    tls = Tls(certfile=str(certfile), keyfile=str(keyfile))
    async with receiving(Receiver(free_port(), host=RECEIVER_NAME, tls=tls)) as receiver:
        yield receiver


def ca_file(tmp_path: Path, ca: trustme.CA) -> str:
    path = tmp_path / "partner-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


async def test_a_delivery_over_https_to_a_receiver_of_a_trusted_ca_is_signed_and_verified(
    api: Api,
    db: Database,
    book: RuleBook,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: MonkeyPatch,
) -> None:
    """The receiver's certificate is issued by a private CA that CMGRAPH_WEBHOOK_CA_FILE
    names: the test webhook and a dispatched event both arrive over TLS, verified by the
    Standard Webhooks reference library."""
    monkeypatch.setattr(destinations, "system_resolver", loopback)
    ca = trustme.CA()
    trusting = dataclasses.replace(FAST, ca_file=ca_file(tmp_path, ca))
    async with (
        tls_receiver(tmp_path, ca, RECEIVER_NAME) as receiver,
        served(api, db, book, dataclasses.replace(settings, webhooks=trusting)) as partner,
    ):
        assert receiver.url.startswith(f"https://{RECEIVER_NAME}:")
        hook = await endpoint(partner, receiver, ["client.created"])
        sent = (await partner(TEST, {"id": hook}))["sendTestWebhook"]["delivery"]
        assert (sent["status"], sent["attempts"][0]["statusCode"]) == ("SUCCEEDED", 204)

        dispatcher = Dispatcher(db, trusting, Sealer(KEY), resolver=loopback)
        task = asyncio.ensure_future(dispatcher.run())
        try:
            client_id = await b.client(api)
            test, created = await receiver.wait_for(2)
        finally:
            dispatcher.stop()
            await task
    assert test.verified and test.payload["type"] == "webhook.test"
    assert created.verified and created.payload["type"] == "client.created"
    assert created.payload["data"]["clientId"] == client_id
    (delivered,) = [d for d in await deliveries(api, hook) if d["eventType"] == "client.created"]
    assert delivered["status"] == "SUCCEEDED"


@pytest.mark.parametrize("trouble", ["ca-not-trusted", "certificate-for-another-name"])
async def test_a_receiver_whose_certificate_is_not_trusted_is_a_failed_tls_attempt(
    api: Api,
    db: Database,
    book: RuleBook,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: MonkeyPatch,
    trouble: str,
) -> None:
    """Without the CA file (or with a certificate for another name than the URL's), the
    handshake fails: a failed attempt of class TLS_ERROR, no status code, nothing received."""
    monkeypatch.setattr(destinations, "system_resolver", loopback)
    ca = trustme.CA()
    if trouble == "ca-not-trusted":
        webhooks, name = FAST, RECEIVER_NAME
    else:
        webhooks, name = dataclasses.replace(FAST, ca_file=ca_file(tmp_path, ca)), "other.test"
    async with (
        tls_receiver(tmp_path, ca, name) as receiver,
        served(api, db, book, dataclasses.replace(settings, webhooks=webhooks)) as partner,
    ):
        hook = await endpoint(partner, receiver, ["client.created"])
        sent = (await partner(TEST, {"id": hook}))["sendTestWebhook"]["delivery"]

    assert sent["status"] == "FAILED"
    ((attempt),) = sent["attempts"]
    assert (attempt["error"], attempt["statusCode"]) == ("TLS_ERROR", None)
    assert receiver.received == []


def test_a_ca_file_that_is_not_one_stops_the_service_at_start(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    for path in (str(not_pem), str(tmp_path / "missing.pem")):
        with pytest.raises(SettingsError, match="CMGRAPH_WEBHOOK_CA_FILE"):
            Settings.from_env({"CMGRAPH_WEBHOOK_CA_FILE": path})
