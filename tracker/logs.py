"""Logging for the CLI and the scheduler: one handler on stderr, every record passed through the
secret-redacting filter (tokens in URLs, values of the configured secret environment variables)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

from tracker.redact import RedactingFilter


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception, when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("jurisdiction", "event"):
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        if record.exc_text:
            doc["exception"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False)


# The arguments of the last setup_logging call, so that a crawl's worker processes log the same way.
LAST_SETUP: dict[str, Any] = {}


def setup_logging(verbosity: int = 0, *, secret_env: Iterable[str] = (), json_lines: bool = False) -> None:
    LAST_SETUP.update(verbosity=verbosity, secret_env=list(secret_env), json_lines=json_lines)
    secret_env = LAST_SETUP["secret_env"]
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    # The level sits on the handler: Scrapy resets its own loggers to DEBUG when a crawl starts.
    handler.setLevel(level)
    handler.addFilter(RedactingFilter(secret_env))
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
