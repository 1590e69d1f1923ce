"""The stored records that the read functions and use cases hand to the API.

They are the ORM classes themselves, named here so that the API can annotate with them
without importing cmgraph.db (the import-linter contract forbids it). The API only reads
their attributes: relationships are lazy="raise", so no query can hide behind one."""

from __future__ import annotations

from cmgraph.db.models import (
    ApiToken,
    Appointment,
    Assignment,
    ChangeRecord,
    Client,
    Coverage,
    Credential,
    Enrollment,
    Event,
    Payor,
    Provider,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "ApiToken",
    "Appointment",
    "Assignment",
    "ChangeRecord",
    "Client",
    "Coverage",
    "Credential",
    "Enrollment",
    "Event",
    "Payor",
    "Provider",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
