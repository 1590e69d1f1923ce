"""Structured logs: one JSON object per line, for machines to collect and people to grep.

Only what a record carries on purpose is written: its message, logger, level, time and the
`extra` fields the code gives. An exception is written as its type and traceback (file, line,
function), never its message, which may quote data such as a client's name.

Every line written while a request is served carries that request's `request_id` (and the
caller's, when given): the request's middleware binds a RequestTag to a context variable,
which follows the request into every coroutine and thread it starts, and the formatter
writes it on whatever line is logged there, by whichever logger."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


@dataclass
class RequestTag:
    """What ties a request's log lines together; `error_ids` collects the ids of the
    internal errors it met, for its request line."""

    request_id: str
    caller_request_id: str | None = None
    error_ids: list[str] = field(default_factory=list)


_request: ContextVar[RequestTag | None] = ContextVar("cmgraph_request", default=None)


def bind_request(tag: RequestTag) -> Token[RequestTag | None]:
    """Tag every line logged from here on, in this context, with the request's ids."""
    return _request.set(tag)


def unbind_request(token: Token[RequestTag | None]) -> None:
    _request.reset(token)


def note_error_id(error_id: str) -> None:
    """Remember an internal error's id on the request being served (none: nothing to do)."""
    tag = _request.get()
    if tag is not None:
        tag.error_ids.append(error_id)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        tag = _request.get()
        if tag is not None:
            line["request_id"] = tag.request_id
            if tag.caller_request_id is not None:
                line["caller_request_id"] = tag.caller_request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, tb = record.exc_info
            line["error_type"] = kind.__name__
            line["traceback"] = "".join(traceback.format_tb(tb))
        return json.dumps(line, default=str)


def configure(level: int = logging.INFO) -> None:
    """JSON lines on stderr for cmgraph, uvicorn and everything else."""
    # A line carries none of a record's source file, thread or process (JsonFormatter): not
    # worked out for every record (the logging HOWTO's "Optimization"). The request line
    # cost about 0.1 ms of a one-client request's 2 ms of CPU, some of it finding these.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # uvicorn's access log prints each request line with its query string (a GET's query
    # text and variables, a token put in the URL); cmgraph.request logs each request
    # instead. uvicorn writes access lines only when that logger has a handler, so it gets
    # none, even from the root, whoever configured logging before (a worker runs this after
    # uvicorn has).
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    access.disabled = True
