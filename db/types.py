"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every engine.

    PostgreSQL stores ``timestamptz``; SQLite stores the UTC wall time. Naive datetimes are refused on the
    way in, so a local time can never be stored as if it were UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where an aware UTC time is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """An aware time moved to UTC. A ValueError, not an OverflowError, when it falls outside the years 1 to
    9999 once there (``0001-01-01T00:00:00+14:00``, ``9999-12-31T23:59:59-12:00``): the parsers of the
    times users type (``tracker changes --since``, the API's ``since``) refuse those as bad input."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"out of range once in UTC (years 1 to 9999): {value.isoformat()}") from None
