"""The field checks and the strict model base that the configuration's sections (tracker/config.py) share
with the platforms' settings (tracker/platforms/): values as tracker.toml writes them, each refused with a
one-line reason."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


#: Files of the time zone database that are not zones a person means: the host's own zone (it changes with
#: the machine the tracker runs on) and the database's internals.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def check_timezone(value: str) -> str:
    """An IANA time zone name (``America/Chicago``, ``UTC``); anything else is "unknown timezone" (a name
    longer than any zone, or one the operating system cannot even look up, included)."""
    shown = repr(value) if len(value) <= 64 else repr(value[:48]) + f"... ({len(value)} characters)"
    if len(value) > 64 or value in _NOT_ZONES or value.split("/", 1)[0] in ("posix", "right"):
        raise ValueError(f"unknown timezone {shown}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown timezone {shown}") from None
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


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_WEEKDAY_ITEM = re.compile(r"^(?:(\*)|(\d+)(?:-(\d+))?)(?:/(\d+))?$")


def crontab_weekdays(field: str) -> str:
    """A cron weekday field as crontab reads it, written for APScheduler 3, which reads weekday *numbers*
    differently (0 = Monday there, Sunday in crontab, where 7 is Sunday too): numbers, ranges and steps
    become day names (``1-5`` -> ``mon,tue,wed,thu,fri``; ``*/2`` -> ``sun,tue,thu,sat``); names and ``*``
    are left as they are. A number past 7 is a ValueError."""
    if not any(c.isdigit() for c in field):
        return field
    out: list[str] = []
    for item in field.split(","):
        m = _WEEKDAY_ITEM.match(item)
        if m is None:  # names, possibly with a step ("mon-fri/2"): APScheduler reads those as crontab does
            out.append(item)
            continue
        star, low, high, step = m.groups()
        first, last = (0, 6) if star else (int(low), int(high) if high else (6 if step else int(low)))
        if last > 7:
            raise ValueError(f"weekday {item!r} is not within 0-7 (0 and 7 are Sunday)")
        if first > last:
            wrap = f"{low}-7" + ("" if last == 0 else ",1" if last == 1 else f",1-{last}")  # 7 is Sunday
            raise ValueError(f"weekday range {item!r} runs backwards: write it as '{wrap}'")
        days = sorted({d % 7 for d in range(first, last + 1, int(step or 1))})
        out.extend(_DAY_NAMES[d] for d in days if _DAY_NAMES[d] not in out)
    return ",".join(out)


def crontab_trigger(expression: str, end_date: datetime | None = None) -> BaseTrigger:
    """A five-field crontab expression (minute hour day month weekday), or six with a leading seconds field,
    as an APScheduler trigger in UTC, read as crontab reads it: weekday numbers as :func:`crontab_weekdays`
    says, and when both the day of the month and the weekday are restricted (neither starts with ``*``),
    a day that matches *either* fires (``0 3 1,15 * mon``: the 1st, the 15th and every Monday), where a
    CronTrigger alone would need both. A ValueError when it is not one."""
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) not in (5, 6):
        raise ValueError(
            "it must have five fields (minute hour day month weekday), or six with a leading seconds field"
        )
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, weekday = fields

    def cron(day: str, weekday: str) -> CronTrigger:
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month,
            day_of_week=crontab_weekdays(weekday), timezone="UTC", end_date=end_date,
        )  # fmt: skip

    if day.startswith("*") or weekday.startswith("*"):
        return cron(day, weekday)
    return OrTrigger([cron(day, "*"), cron("*", weekday)])


def check_cron(value: str | None, field: str = "crawl_cron") -> str | None:
    """A cron expression (as the scheduler reads it, in UTC) that fires within the next 8 years:
    ``0 0 31 2 *`` never does, and is refused with the entry that holds it."""
    if value is None:
        return value
    from datetime import UTC, timedelta

    now = datetime.now(UTC)
    try:
        trigger = crontab_trigger(value, end_date=now + timedelta(days=8 * 366))
    except ValueError as exc:
        raise ValueError(f"{field} {value!r} is not a valid cron expression: {exc}") from None
    if trigger.get_next_fire_time(None, now) is None:
        raise ValueError(f"{field} {value!r} never fires (no such date in the next 8 years)")
    return value


class Strict(BaseModel):
    # strict: a value of the wrong TOML type is refused, not coerced (``retries = true`` was 1, and
    # ``per_host_concurrency = "8"`` 8); inf and nan are refused as numbers (not named by a bound).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


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
