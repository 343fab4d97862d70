"""JSON writing where it costs: a crawl's stage lines and content hashes, and the database's JSON columns.

orjson writes JSON several times faster than the standard library; what it does not write (integers beyond
64 bits, strings with lone surrogates, keys that are not strings, types it does not know) falls back to
``json.dumps``, which writes it or refuses it as before. Dates, datetimes and times are written by
``isoformat`` (orjson's own format drops the seconds of a historical UTC offset).

Only writing: ``orjson.loads`` reads an integer beyond 64 bits as a float, so JSON is read with the standard
library everywhere (a portal's numbers, however absurd, are read as they are written).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

import orjson

# Dates to iso_default; dataclasses too, which json.dumps refuses (orjson would write them).
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_SORTED = _OPTIONS | orjson.OPT_SORT_KEYS


def iso_default(value: Any) -> Any:
    """``default=`` for both libraries: dates, datetimes and times as ISO 8601 text."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON (no spaces), non-ASCII characters as they are: one stage line, one JSON column value.
    Parses to what ``json.dumps(value, default=iso_default, sort_keys=sort_keys)`` parses to, except NaN and
    infinities, written as ``null`` (json.dumps writes ``NaN``, which is not JSON and PostgreSQL refuses)."""
    try:
        return orjson.dumps(value, default=iso_default, option=_SORTED if sort_keys else _OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(
            value, default=iso_default, sort_keys=sort_keys, ensure_ascii=False, separators=(",", ":")
        )


def canonical(value: Any) -> str:
    """Exactly ``json.dumps(value, default=iso_default, sort_keys=True, separators=(",", ":"))``: ASCII,
    keys sorted, compact. The text content hashes are taken of, which must not change with the library that
    writes it (a stored hash that changed would make every stored bill look changed): orjson writes it when
    it is plain ASCII (the two agree there), the standard library when a character needs its escape."""
    try:
        text = orjson.dumps(value, default=iso_default, option=_SORTED).decode()
    except orjson.JSONEncodeError:
        pass
    else:
        if text.isascii() and "\x7f" not in text:
            return text
    return json.dumps(value, default=iso_default, sort_keys=True, separators=(",", ":"))
