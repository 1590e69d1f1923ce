"""Structured logs: one JSON object per line, for machines to collect and people to grep.

Only what a record carries on purpose is written: its message, logger, level, time and the
`extra` fields the code gives. An exception is written as its type and traceback (file, line,
function), never its message, which may quote data such as a client's name."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
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
