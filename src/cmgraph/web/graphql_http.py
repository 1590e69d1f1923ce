"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/), as the graphql-http
audits check it, for one POST endpoint behind a bearer token.

- POST with a JSON body ({query, variables, operationName, extensions}) only: GET is refused
  (no queries nor mutations over GET), a batch (a JSON array) is refused, and so is a body
  above the size limit (413) or of another media type (415).
- Answers in application/graphql-response+json when the client accepts it, else in
  application/json; anything else is 406.
- A request error (a document that does not parse or validate, variables that do not
  coerce, a query above the limits) is 400 without `data` in application/graphql-response+json
  and 200 with `"data": null` in application/json, as the spec says. An unreadable request
  (not JSON, no query, a batch) is 400 in both. A denied role is 403 without `data` in both,
  like the 401 of a missing token. Once execution starts, the answer is 200 with `data`.
- The database unavailable (db.faults.is_unavailable), whether authenticating the caller or
  running the operation: 503 with one error, `extensions.code` UNAVAILABLE, no `data` (an
  interrupted write is rolled back with its transaction) and Retry-After, in both media
  types. This is the one place that answer is made. When a write of the request had
  committed, or its COMMIT was cut (the outcome unknown), the 503's code is OUTCOME_UNKNOWN
  instead: "nothing was written" would not be true. A write that kept losing races with
  concurrent writes (WRITE_CONFLICT) is answered the same way, with its own code.
- An Idempotency-Key header on a mutation: the first final answer is stored and replayed
  (web.idempotency, services.idempotency); on anything else, the key is only validated.
- A query whose client disconnects before its answer is stopped at its next await
  (web.departure) and logged `client_gone` with status 499; a mutation runs to its end.
- Anything else that fails outside the operation (the idempotency store, say) is the masked
  JSON 500 INTERNAL_ERROR with an errorId in the log, never the server's plain-text page.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from cmgraph.api import direct
from cmgraph.api.context import Context
from cmgraph.api.cost import HEAVY_REPORT_WORK
from cmgraph.api.document import analyzed
from cmgraph.api.errors import (
    OUTCOME_UNKNOWN,
    OUTCOME_UNKNOWN_MESSAGE,
    UNAVAILABLE,
    UNAVAILABLE_MESSAGE,
    WRITE_CONFLICT,
    WRITE_CONFLICT_MESSAGE,
)
from cmgraph.api.guard import FORBIDDEN
from cmgraph.api.schema import INTERNAL_ERROR, Schema
from cmgraph.config import Settings
from cmgraph.db.faults import is_unavailable
from cmgraph.observability import metrics
from cmgraph.services.access import Principal
from cmgraph.services.idempotency import (
    Claim,
    Conflict,
    IdempotencyStore,
    KeyedRequest,
    Replay,
    request_hash,
)
from cmgraph.web import idempotency
from cmgraph.web.auth import Authenticator
from cmgraph.web.budget import Budget, caller
from cmgraph.web.departure import Departure
from cmgraph.web.pages import graphiql_response
from cmgraph.web.reports import ReportTurns
from cmgraph.web.requests import RequestLog, request_log
from cmgraph.web.trusted_documents import TrustedDocuments

log = logging.getLogger("cmgraph.web")

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
BAD_REQUEST = "BAD_REQUEST"
UNAUTHENTICATED = "UNAUTHENTICATED"
UNKNOWN_DOCUMENT = "PERSISTED_DOCUMENT_NOT_FOUND"
UNTRUSTED_DOCUMENT = "DOCUMENT_NOT_TRUSTED"
RETRY_AFTER_SECONDS = "5"
RATE_LIMITED = "RATE_LIMITED"
TIMEOUT = "TIMEOUT"
CLIENT_GONE = "CLIENT_GONE"
CLIENT_CLOSED_REQUEST = 499  # nginx's status for it: logged, never delivered


class RequestError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        code: str = BAD_REQUEST,
    ):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}
        self.code = code


@dataclass
class Params:
    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = field(default=None)
    document_id: str | None = None  # the query was named by a trusted document's id


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def media_type(accept: str | None) -> str | None:
    """The media type to answer in, or None when the client accepts neither."""
    if not accept:
        return JSON
    offered = []
    for part in accept.split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            offered.append(kind.lower())
    if GRAPHQL_RESPONSE in offered:
        return GRAPHQL_RESPONSE
    if any(k in (JSON, "application/*", "*/*") for k in offered):
        return JSON
    return None


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"The request body is larger than {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise RequestError(413, f"The request body is larger than {limit} bytes.")
    return bytes(body)


def parse_params(content_type: str, body: bytes) -> Params:
    kind, *params = (p.strip() for p in content_type.split(";"))
    if not kind:
        raise RequestError(415, "Send the request as Content-Type: application/json.")
    if kind.lower() != JSON:
        raise RequestError(415, f"Unsupported media type {kind!r}: send application/json.")
    for p in params:
        name, _, value = p.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise RequestError(415, "The request body must be UTF-8.")
    if not body:
        raise RequestError(400, "The request has no body.")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise RequestError(400, "The request body is not JSON (or nests too deep).") from None
    if isinstance(data, list):
        raise RequestError(400, "Batched operations are not supported: send one at a time.")
    if not isinstance(data, dict):
        raise RequestError(400, "The request body must be a JSON object.")
    query = data.get("query")
    document = data.get("documentId")
    if query is None and document is not None:
        if not isinstance(document, str):
            raise RequestError(400, "`documentId` must be a string.")
        query = ""  # the endpoint looks the document up
    elif not isinstance(query, str) or not query.strip():
        raise RequestError(400, "The request needs a `query` string (or a `documentId`).")
    variables: Any = data.get("variables")
    operation_name: Any = data.get("operationName")
    extensions: Any = data.get("extensions")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be an object.")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "`operationName` must be a string.")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be an object.")
    return Params(query, variables, operation_name, extensions, document)


def _codes(errors: list[GraphQLError]) -> set[str]:
    return {str((e.extensions or {}).get("code")) for e in errors}


class Outcome(StrEnum):
    """How a request ended, as its log line says (web.requests)."""

    OK = "ok"
    ERRORS = "errors"  # executed, with errors in the answer
    UNAUTHENTICATED = "unauthenticated"
    BAD_REQUEST = "bad_request"
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"
    OUTCOME_UNKNOWN = "outcome_unknown"
    WRITE_CONFLICT = "write_conflict"
    INTERNAL_ERROR = "internal_error"
    REPLAYED = "replayed"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    CLIENT_GONE = "client_gone"  # the client disconnected before its query's answer


def outcome_of(errors: list[GraphQLError]) -> Outcome:
    codes = _codes(errors)
    if OUTCOME_UNKNOWN in codes:
        return Outcome.OUTCOME_UNKNOWN
    if UNAVAILABLE in codes:
        return Outcome.UNAVAILABLE
    if WRITE_CONFLICT in codes:
        return Outcome.WRITE_CONFLICT
    if INTERNAL_ERROR in codes:
        return Outcome.INTERNAL_ERROR
    if FORBIDDEN in codes:
        return Outcome.FORBIDDEN
    return Outcome.ERRORS if errors else Outcome.OK


@dataclass(frozen=True)
class Answer:
    response: Response
    final: bool = False
    """The operation ran to this answer (data, with or without userErrors), so the same
    request would get it again: an Idempotency-Key stores it. Not a request error (nothing
    ran; a corrected request may reuse the key), nor UNAVAILABLE, WRITE_CONFLICT or an
    internal error (a retry must run)."""


class GraphQLEndpoint:
    """The ASGI endpoint of /graphql."""

    def __init__(
        self,
        schema: Schema,
        settings: Settings,
        authenticator: Authenticator,
        make_context: Callable[[Request, Principal, Claim | None], Awaitable[Context]],
        idempotency_store: IdempotencyStore,
    ) -> None:
        self.schema, self.settings = schema, settings
        self.authenticator, self.make_context = authenticator, make_context
        self.idempotency = idempotency_store
        self.trusted = TrustedDocuments.of_ui()
        # queries answered without Strawberry's execution where they can be (api.direct)
        self.guard = schema.guard if direct.serves(schema) else None
        limits = settings.limits
        self.budget = (
            Budget(limits.requests_per_minute, limits.cost_per_minute, limits.max_cost)
            if limits.requests_per_minute > 0 and limits.cost_per_minute > 0
            else None
        )
        self.reports = ReportTurns(limits.concurrent_reports)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        response = await self.respond(request, request_log(scope))
        await response(scope, receive, send)

    async def respond(self, request: Request, entry: RequestLog) -> Response:
        try:
            return await self._respond(request, entry)
        except Exception as exc:
            if not is_unavailable(exc):
                return self._internal_error(request, entry, exc)
            return self._unavailable(request, entry, exc)

    async def _respond(self, request: Request, entry: RequestLog) -> Response:
        if self._wants_ide(request):
            # The IDE page holds no data; its queries come back with the token it is given.
            return graphiql_response()  # vendored assets: works without the internet
        answer_in = media_type(request.headers.get("accept"))
        principal = await self.authenticator.principal(request.headers.get("authorization", ""))
        if principal is None:
            entry.outcome = Outcome.UNAUTHENTICATED
            return self._json(
                error_body(
                    "Authentication required: Authorization: Bearer <token>.", UNAUTHENTICATED
                ),
                401,
                answer_in or JSON,
                {"WWW-Authenticate": 'Bearer realm="cmgraph"'},
            )
        entry.principal = principal
        try:
            if request.method != "POST":
                raise RequestError(405, "Queries and mutations go over POST.", {"Allow": "POST"})
            if answer_in is None:
                raise RequestError(406, f"Accept {GRAPHQL_RESPONSE} or {JSON}.")
            body = await read_body(request, self.settings.limits.max_body_bytes)
            params = parse_params(request.headers.get("content-type", ""), body)
            self._trusted_query(params, principal)
            key = idempotency.key_of(request.headers)
        except idempotency.InvalidKey as exc:
            entry.outcome = Outcome.BAD_REQUEST
            return self._json(error_body(str(exc), BAD_REQUEST), 400, answer_in or JSON)
        except RequestError as exc:
            entry.outcome = Outcome.BAD_REQUEST
            return self._json(
                error_body(exc.message, exc.code), exc.status, answer_in or JSON, exc.headers
            )
        if self.budget is None:
            return await self._answer(request, principal, params, answer_in, entry, key)
        who, cost = caller(principal), self._cost(params)
        standing = self.budget.spend(who, cost)
        if not standing.admitted:
            entry.outcome = Outcome.RATE_LIMITED
            headers = standing.headers()
            message = f"{standing.reason} Retry after {headers['Retry-After']} s."
            return self._json(error_body(message, RATE_LIMITED), 429, answer_in, headers)
        try:
            response = await self._answer(request, principal, params, answer_in, entry, key)
        finally:
            self.budget.done(who, cost)
        response.headers.update(standing.headers())
        return response

    def _cost(self, params: Params) -> int:
        """What the operation would cost (api.cost), from the document's one analysis; 0
        when it does not parse or names no operation (nothing will run)."""
        limits = self.settings.limits
        try:
            analysis = analyzed(self.schema._schema, params.query, limits.max_tokens)
            operation = analysis.operation(params.operation_name)
            if operation is None:
                return 0
            cost = operation.cost.cost(
                params.variables,
                self.settings.max_page_size,
                limits.list_cost_factor,
                limits.max_report_days,
            )
            return min(cost, limits.max_cost)  # above it, refused: nothing more is spent
        except (GraphQLError, TypeError, ValueError):
            return 0  # refused by parsing or by the variables' coercion, before anything runs

    async def _answer(
        self,
        request: Request,
        principal: Principal,
        params: Params,
        answer_in: str,
        entry: RequestLog,
        key: str | None,
    ) -> Response:
        # Parsed here only when a key came, so requests without one cost nothing more.
        fields = (
            idempotency.mutation_fields(
                self.schema._schema,
                params.query,
                params.operation_name,
                self.settings.limits.max_tokens,
            )
            if key is not None
            else frozenset()
        )
        if key is not None and fields & idempotency.SECRET_ANSWERS:
            entry.outcome = Outcome.BAD_REQUEST
            return self._json(
                error_body(
                    "createApiToken answers with a secret that is never stored, so it takes "
                    "no Idempotency-Key: send it without one.",
                    BAD_REQUEST,
                ),
                400,
                answer_in,
            )
        if key is not None and fields:
            return await self._execute_once(request, principal, params, answer_in, entry, key)
        answer = await self._execute(request, principal, params, answer_in, entry)
        return answer.response

    def _trusted_query(self, params: Params, principal: Principal) -> None:
        """Put a named trusted document's text in params; refuse a person's free query when
        only trusted documents may run."""
        if params.document_id is not None:
            text = self.trusted.text_of(params.document_id)
            if text is None:
                raise RequestError(
                    400, "No trusted document has this documentId.", code=UNKNOWN_DOCUMENT
                )
            params.query = text
        elif (
            self.settings.trusted_documents_only
            and principal.is_person
            and not self.trusted.trusts(params.query)
        ):
            raise RequestError(
                403,
                "Only the reference UI's documents may run when signed in as a person "
                "(CMGRAPH_TRUSTED_DOCUMENTS=only); integrations use an API token.",
                code=UNTRUSTED_DOCUMENT,
            )

    async def _execute_once(
        self,
        request: Request,
        principal: Principal,
        params: Params,
        answer_in: str,
        entry: RequestLog,
        key: str,
    ) -> Response:
        """A mutation under an Idempotency-Key: runs at most once per key; a final answer is
        stored and replayed, anything else gives the key back for a retry."""
        reserved = await self.idempotency.reserve(
            KeyedRequest(
                principal.organization_id,
                principal.actor,
                key,
                request_hash(params.query, params.operation_name, params.variables),
            )
        )
        if isinstance(reserved, Replay):
            entry.outcome = Outcome.REPLAYED
            response = Response(reserved.body, reserved.status)
            response.headers["content-type"] = f"{answer_in}; charset=utf-8"
            response.headers[idempotency.REPLAYED_HEADER] = "true"
            return response
        if isinstance(reserved, Conflict):
            entry.outcome = Outcome.IDEMPOTENCY_CONFLICT
            conflict = idempotency.CONFLICTS[reserved.code]
            return self._json(
                error_body(conflict.message, reserved.code),
                conflict.status,
                answer_in,
                conflict.headers,
            )
        try:
            answer = await self._execute(request, principal, params, answer_in, entry, reserved)
        except BaseException:  # cancelled too (a stop's deadline): the retry must run
            await self._settle(reserved, self.idempotency.release(reserved))
            raise
        response = answer.response
        if answer.final:
            await self._settle(
                reserved,
                self.idempotency.complete(
                    reserved, response.status_code, bytes(response.body).decode()
                ),
            )
        elif entry.outcome in (Outcome.UNAVAILABLE, Outcome.OUTCOME_UNKNOWN):
            # The database just failed: releasing now would wait on it once more (a stall's
            # whole deadline again) before the 503 goes out. Released once it is back.
            self.idempotency.release_later(reserved)
        else:
            await self._settle(reserved, self.idempotency.release(reserved))
        return response

    async def _settle(self, claim: Claim, step: Awaitable[None]) -> None:
        """Storing or releasing a key must not replace the answer the caller is owed. When
        it fails (the database, usually), the key is released in the background as soon as
        the database takes it, so that the retry runs."""
        try:
            await step
        except Exception as exc:
            log.warning("idempotency key not settled", extra={"error_type": type(exc).__name__})
            self.idempotency.release_later(claim)

    async def _execute(
        self,
        request: Request,
        principal: Principal,
        params: Params,
        answer_in: str,
        entry: RequestLog,
        claim: Claim | None = None,
    ) -> Answer:
        context = await self.make_context(request, principal, claim)
        try:
            return await self._execute_in(context, request, params, answer_in, entry)
        except Exception as exc:
            if context.scope.journal.committed and is_unavailable(exc):
                return Answer(self._outcome_unknown(request, entry, answer_in))
            raise

    async def _execute_in(
        self,
        context: Context,
        request: Request,
        params: Params,
        answer_in: str,
        entry: RequestLog,
    ) -> Answer:
        stoppable = self._stoppable(params)
        budget = asyncio.timeout(self._time_budget(stoppable))
        departure = None
        queued = stoppable and self.reports.limited and self._heavy(params)
        started = False
        try:
            async with budget:
                departure = Departure(request.receive, budget) if stoppable else None
                try:
                    async with self.reports.turn(queued):
                        started = True
                        result = await self._run(params, context)
                finally:
                    if departure is not None:
                        departure.stop()
        except TimeoutError:
            if not budget.expired():
                raise  # a wait on the database gave up (db.faults): answered unavailable
            if departure is not None and departure.gone:
                entry.outcome = Outcome.CLIENT_GONE
                message = "The client disconnected before the answer: the query was stopped."
                return Answer(
                    self._json(error_body(message, CLIENT_GONE), CLIENT_CLOSED_REQUEST, answer_in)
                )
            entry.outcome = Outcome.TIMEOUT
            seconds = self.settings.limits.request_seconds
            if queued and not started:  # it waited its whole budget for its turn
                message = (
                    f"Other heavy reports kept this one waiting for its turn for its whole time "
                    f"budget ({seconds:g} s), so it did not start: send it again later."
                )
                retry = {"Retry-After": RETRY_AFTER_SECONDS}
                return Answer(self._json(error_body(message, TIMEOUT), 503, answer_in, retry))
            return Answer(
                self._json(
                    error_body(
                        f"The query ran out of its time budget ({seconds:g} s) and was stopped: "
                        "ask for less (a shorter window, a smaller page).",
                        TIMEOUT,
                    ),
                    503,
                    answer_in,
                )
            )
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError) as exc:
            entry.outcome = Outcome.BAD_REQUEST
            message = (
                "Subscriptions are not served here."
                if isinstance(exc, InvalidOperationTypeError)
                else "No operation to run: `operationName` must name one of the document's "
                "operations, and is needed when it has several."
            )
            status = 400 if answer_in == GRAPHQL_RESPONSE else 200
            return Answer(self._json(error_body(message, BAD_REQUEST), status, answer_in))
        finally:
            await context.reader.close()
            context.release()
            # the selected operation's name (api.guard), never the caller's operationName as
            # given: one that names no operation is refused above and logs none
            entry.operation = context.operation_name
            entry.metric_operation = metrics.operation_label(
                context.operation_name, context.operation_validated
            )
        errors = list(result.errors or [])
        outcome = entry.outcome = outcome_of(errors)
        if outcome is Outcome.UNAVAILABLE and context.scope.journal.committed:
            outcome = Outcome.OUTCOME_UNKNOWN  # a write committed before the failure
        if outcome is Outcome.OUTCOME_UNKNOWN:
            return Answer(self._outcome_unknown(request, entry, answer_in))
        if outcome is Outcome.UNAVAILABLE:
            return Answer(self._unavailable(request, entry, None))
        if outcome is Outcome.WRITE_CONFLICT:
            return Answer(
                self._json(
                    error_body(WRITE_CONFLICT_MESSAGE, WRITE_CONFLICT),
                    503,
                    answer_in,
                    {"Retry-After": RETRY_AFTER_SECONDS},
                )
            )
        body: dict[str, Any] = {}
        # No `data` and no error with a path: the request never reached a resolver (parse,
        # validation, variables, limits, roles). That is a request error.
        request_error = result.data is None and all(e.path is None for e in errors) and errors
        if request_error:
            status = 400 if answer_in == GRAPHQL_RESPONSE else 200
            if FORBIDDEN in _codes(errors):
                status = 403
            elif answer_in == JSON:
                body["data"] = None  # as application/json clients have always had it
        else:
            body["data"] = result.data
            status = 200
        if errors:
            body["errors"] = [e.formatted for e in errors]
        final = outcome in (Outcome.OK, Outcome.ERRORS) and result.data is not None
        return Answer(self._json(body, status, answer_in), final)

    async def _run(self, params: Params, context: Context) -> ExecutionResult:
        """The operation, by the direct path where it serves (api.direct), else Strawberry's."""
        data = (
            await direct.answer(
                self.schema,
                self.guard(),
                params.query,
                params.variables,
                params.operation_name,
                params.extensions,
                context,
            )
            if self.guard is not None
            else None
        )
        return (
            ExecutionResult(data=data, errors=None)
            if data is not None
            else await self.schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=(OperationType.QUERY, OperationType.MUTATION),
                operation_extensions=params.extensions,
            )
        )

    def _stoppable(self, params: Params) -> bool:
        """Whether the operation may be stopped before its end (past its time budget, or
        when its client disconnects): a query may; a mutation is not cut short: stopped
        while it commits, whether it was done would be unknown (an Idempotency-Key retry
        could do it twice), and its work is bounded by its input."""
        try:
            analysis = analyzed(self.schema._schema, params.query, self.settings.limits.max_tokens)
        except GraphQLError:
            return True
        operation = analysis.operation(params.operation_name)
        return not (operation is not None and operation.is_mutation)

    def _heavy(self, params: Params) -> bool:
        """Whether the query holds a heavy report, which waits its turn (web.reports)."""
        limits = self.settings.limits
        try:
            analysis = analyzed(self.schema._schema, params.query, limits.max_tokens)
            operation = analysis.operation(params.operation_name)
            if operation is None:
                return False
            work = operation.cost.report_work(params.variables, limits.max_report_days)
        except (GraphQLError, TypeError, ValueError):
            return False  # refused before anything runs
        return work >= HEAVY_REPORT_WORK

    def _time_budget(self, stoppable: bool) -> float | None:
        """Seconds a query may run; None for a mutation (see _stoppable)."""
        seconds = self.settings.limits.request_seconds
        return seconds if stoppable and seconds > 0 else None

    def _unavailable(
        self, request: Request, entry: RequestLog, error: BaseException | None
    ) -> Response:
        if error is not None:  # raised outside a resolver: authentication, closing the session
            log.warning("database unavailable", extra={"error_type": type(error).__name__})
        entry.outcome = Outcome.UNAVAILABLE
        return self._json(
            error_body(UNAVAILABLE_MESSAGE, UNAVAILABLE),
            503,
            media_type(request.headers.get("accept")) or JSON,
            {"Retry-After": RETRY_AFTER_SECONDS},
        )

    def _outcome_unknown(self, request: Request, entry: RequestLog, answer_in: str) -> Response:
        entry.outcome = Outcome.OUTCOME_UNKNOWN
        return self._json(
            error_body(OUTCOME_UNKNOWN_MESSAGE, OUTCOME_UNKNOWN),
            503,
            answer_in,
            {"Retry-After": RETRY_AFTER_SECONDS},
        )

    def _internal_error(self, request: Request, entry: RequestLog, error: Exception) -> Response:
        """Masked like an error inside the operation (api.schema.MaskWithId): an id to quote,
        the log line with the type and traceback, never the message (it may quote data)."""
        error_id = uuid.uuid4().hex[:12]
        log.error(
            "internal error",
            extra={
                "error_id": error_id,
                "error_type": type(error).__name__,
                "traceback": "".join(traceback.format_tb(error.__traceback__)),
            },
        )
        entry.outcome = Outcome.INTERNAL_ERROR
        body = error_body("Internal error.", INTERNAL_ERROR)
        body["errors"][0]["extensions"]["errorId"] = error_id
        return self._json(body, 500, media_type(request.headers.get("accept")) or JSON)

    def _json(
        self,
        body: dict[str, Any],
        status: int,
        answer_in: str,
        headers: dict[str, str] | None = None,
    ) -> Response:
        # orjson: a page of 50 clients is tens of kilobytes, and the json module spent
        # several times longer than orjson on them.
        return Response(
            orjson.dumps(body),
            status,
            headers,
            media_type=f"{answer_in}; charset=utf-8",
        )

    def _wants_ide(self, request: Request) -> bool:
        return (
            self.settings.development
            and request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
        )
