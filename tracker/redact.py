"""Secrets never reach logs: URLs lose their token, and known secret values are masked."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable

_TOKEN_PARAM = re.compile(r"(?i)([?&](?:token|api_key|apikey|key|password)=)[^&#\s'\"<>]*")
MASK = "***"


def redact_url(text: str) -> str:
    return _TOKEN_PARAM.sub(lambda m: m.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites every record with secrets masked."""

    def __init__(self, secret_env: Iterable[str] = ()) -> None:
        super().__init__()
        self.secret_env = list(secret_env)

    def _secrets(self) -> list[str]:
        values = (os.environ.get(name) for name in self.secret_env)
        return [v for v in values if v and len(v) >= 4]

    def redact(self, text: str) -> str:
        text = redact_url(text)
        for secret in self._secrets():
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg, record.args = clean, None
        return True
