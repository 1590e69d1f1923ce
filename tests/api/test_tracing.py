"""OpenTelemetry traces: off by default; when on, spans for the request, the GraphQL
operation (by name), each use case, each SQL statement and each plugin hook, and not one
of them carries a client's name, a date of birth, a token or a variable's value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import builders as b
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cmgraph.db.engine import Database
from cmgraph.observability import tracing
from tests.support import Api

FIRST, LAST, BIRTH = "Zebulon", "Quattlebaum", "2011-07-23"
PAYOR = "Tracewell Mutual Health"


@pytest.fixture
def spans(db: Database) -> Iterator[InMemorySpanExporter]:
    """Tracing on, into memory, for one test; off again afterwards."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    tracing.watch_statements(db.engine)
    yield exporter
    tracing.use(None)
    provider.shutdown()


def attributes_of(span: ReadableSpan) -> dict[str, Any]:
    """A finished span's attributes (the SDK gives every span a mapping, maybe empty)."""
    assert span.attributes is not None, span.name
    return dict(span.attributes)


def everything_said(span: ReadableSpan) -> list[str]:
    """Every text a span carries: its name, attributes, events, status and resource."""
    said = [span.name, span.status.description or ""]
    said += [f"{k}={v!s}" for k, v in (span.attributes or {}).items()]
    for event in span.events:
        said.append(event.name)
        said += [f"{k}={v!s}" for k, v in (event.attributes or {}).items()]
    return said


async def test_a_full_scenario_is_traced_without_a_name_a_birth_date_a_token_or_a_variable(
    api: Api, db: Database, spans: InMemorySpanExporter
) -> None:
    payor = await b.payor(api, PAYOR)
    provider = await b.provider(api, "Ottoline", "Fairweather")
    client = await b.client(api, FIRST, LAST, dateOfBirth=BIRTH)
    await b.coverage(api, client, payor, effective_from="2025-01-01")
    await b.enrollment(api, provider, payor)
    await b.case_manager(api, client, provider, "2026-01-05")
    report = await api(
        'query MonthlyCompliance { complianceFindings(from: "2026-01-01", to: "2026-01-31") '
        "{ totalCount } }"
    )
    assert report["complianceFindings"]["totalCount"] >= 0
    await api("{ clients(first: 1) { totalCount } }")  # anonymous
    # a failing statement: its span says it failed, never with what values (SQLAlchemy's
    # message of a failed statement lists its parameters)
    with pytest.raises(DBAPIError):
        async with db.read() as session:
            await session.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": FIRST})

    finished = spans.get_finished_spans()
    names = [s.name for s in finished]
    assert "POST /graphql" in names
    assert "graphql.operation" in names
    assert any(n.startswith("use_case ") for n in names), names
    assert any(n in ("SELECT", "INSERT") for n in names), names
    assert "cmgraph_check_assignment" in names, names
    operations = {attributes_of(s).get("graphql.operation.name") for s in finished}
    assert "MonthlyCompliance" in operations
    assert "" not in operations  # an anonymous operation's span leaves the name out
    assert any(
        s.name == "graphql.operation"
        and "graphql.operation.name" not in attributes_of(s)
        and attributes_of(s)["graphql.operation.type"] == "query"
        for s in finished
    )
    statements = [
        attributes_of(s)["db.query.text"] for s in finished if "db.query.text" in attributes_of(s)
    ]
    assert any("FROM clients" in s or "INTO clients" in s for s in statements)

    # the SQL spans are children of the request's trace
    request = next(s for s in finished if s.name == "POST /graphql")
    assert any(
        s.context.trace_id == request.context.trace_id for s in finished if s.name == "SELECT"
    )

    failed = [s for s in finished if "no_such_table" in attributes_of(s).get("db.query.text", "")]
    assert failed and failed[0].status.status_code is StatusCode.ERROR
    # the error's type only: a driver's message may quote a value (asyncpg's DataError does)
    error_type = attributes_of(failed[0])["error.type"]
    assert failed[0].status.description == error_type
    assert error_type.endswith("Error")

    secret = api.token.split("_", 2)[2]  # cmg_<organization>_<secret>; a secret may hold "_"
    leaks = (FIRST, LAST, BIRTH, BIRTH.replace("-", ""), PAYOR, secret, "Ottoline")
    for span in finished:
        for said in everything_said(span):
            for leak in leaks:
                assert leak.lower() not in said.lower(), (span.name, said)


async def test_tracing_is_off_by_default(api: Api, db: Database) -> None:
    assert not tracing.on()
    assert not tracing.wanted({})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})
    assert not tracing.wanted({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"})
    with pytest.raises(tracing.TracingConfigError, match="OTEL_TRACES_EXPORTER"):
        tracing.wanted({"OTEL_TRACES_EXPORTER": "zipkin"})


async def test_a_callers_traceparent_is_continued(api: Api, spans: InMemorySpanExporter) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    await api.post(
        "{ __typename }",
        headers={
            "Authorization": f"Bearer {api.token}",
            "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
        },
    )
    request = next(s for s in spans.get_finished_spans() if s.name == "POST /graphql")
    assert format(request.context.trace_id, "032x") == trace_id
