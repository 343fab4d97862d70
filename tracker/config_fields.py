"""The field checks and the strict model base that the configuration's sections (tracker/config.py) share
with the platforms' settings (tracker/platforms/): values as tracker.toml writes them, each refused with a
one-line reason."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r}") from None
    return value


def check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials; put secrets in the environment")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query string or fragment")
    return value.rstrip("/")


def check_cron(value: str | None, field: str = "crawl_cron") -> str | None:
    """A cron expression (as the scheduler reads it, in UTC) that fires within the next 8 years:
    ``0 0 31 2 *`` never does, and is refused with the entry that holds it."""
    if value is None:
        return value
    from datetime import UTC, datetime, timedelta

    from apscheduler.triggers.cron import CronTrigger

    fields = value.split()
    if len(fields) not in (5, 6):
        raise ValueError(
            f"{field} {value!r} must have five fields (minute hour day month weekday), "
            "or six with a leading seconds field"
        )
    second = fields.pop(0) if len(fields) == 6 else "0"
    now = datetime.now(UTC)
    try:
        trigger = CronTrigger(
            second=second, minute=fields[0], hour=fields[1], day=fields[2], month=fields[3],
            day_of_week=fields[4], timezone="UTC", end_date=now + timedelta(days=8 * 366),
        )  # fmt: skip
    except ValueError as exc:
        raise ValueError(f"{field} {value!r} is not a valid cron expression: {exc}") from None
    if trigger.get_next_fire_time(None, now) is None:
        raise ValueError(f"{field} {value!r} never fires (no such date in the next 8 years)")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DocumentHost(str):
    """A host that bill documents may be downloaded from: ``name`` or ``name:port``."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(_check_document_host, core_schema.str_schema())


def _check_document_host(value: str) -> str:
    text = value.strip().lower()
    try:
        parts = urlsplit(f"//{text}")
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"document_hosts entries are 'host' or 'host:port', got {value!r}") from None
    host = parts.hostname or ""
    if (
        not host
        or "*" in text
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or not re.fullmatch(r"[a-z0-9.:-]+", host)
    ):
        raise ValueError(f"document_hosts entries are 'host' or 'host:port' (no wildcards), got {value!r}")
    return text
