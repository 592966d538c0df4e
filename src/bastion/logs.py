"""Structured logging: one JSON object per line, secrets redacted before they are written.

Hand-written because it is twenty lines on top of the standard library and it keeps
every library's log records (uvicorn, SQLAlchemy, httpx) in the same shape.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

#: The id of the HTTP request being served (set by `bastion.web.context`), carried by every log line.
request_id: ContextVar[str] = ContextVar("bastion_request_id", default="")

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api[_-]?key|authorization|cookie|totp", re.I)
_SECRET_VALUES = [
    re.compile(r"bst_[0-9a-f]{8}_[A-Za-z0-9_\-]+"),  # Bastion API keys
    re.compile(r"(?<=://)([^:/@\s]+):([^@\s]+)@"),  # passwords in URLs
]


def redact(value: Any, key: str = "") -> Any:
    """Mask a value if its key names a secret, or if it contains something shaped like one."""
    if key and _SECRET_KEYS.search(key):
        return "**********"
    if isinstance(value, str):
        value = _SECRET_VALUES[0].sub("bst_**********", value)
        return _SECRET_VALUES[1].sub(r"\1:**********@", value)
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request it was written for, so one failure's lines can be found."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current and not hasattr(record, "request_id"):
            record.request_id = current
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = redact(value, key)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    """Human-readable lines for a terminal, redacted the same way."""

    def format(self, record: logging.LogRecord) -> str:
        return str(redact(super().format(record)))


def configure(level: str = "INFO", json_lines: bool = True) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
