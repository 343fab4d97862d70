"""Digest periods: when a subscription's digest is due, and the key of the period it stands for.

A period is the unit of "one digest": the outbox holds at most one digest per subscription and period.

- ``daily``: the subscriber's local date whose ``at`` time has passed, e.g. ``2026-11-02``;
- ``weekly``: the ISO week of the last ``weekday`` at ``at`` that has passed, e.g. ``2026-W45``;
- ``immediate``: the UTC minute that starts the current ``immediate_every_minutes`` window, e.g.
  ``2026-11-02T10:05Z``.

The key depends only on the subscription's schedule and the time, so two senders running at once compute
the same key and the outbox's unique constraint lets only one of them record the digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Slot:
    period: str
    at: datetime  # UTC


def parse_at(value: str) -> time:
    """``HH:MM`` (24-hour clock) → a time; raises ValueError with a readable message."""
    try:
        hours, minutes = value.split(":")
        if len(hours) not in (1, 2) or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"--at must be a 24-hour time HH:MM, got {value!r}") from None


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def latest_slot(
    frequency: str, at_time: str, weekday: int, timezone: str, now: datetime, immediate_minutes: int = 5
) -> Slot:
    """The most recent scheduled instant at or before ``now`` and its period key."""
    now = now.astimezone(UTC)
    if frequency == "immediate":
        start = now.replace(second=0, microsecond=0)
        start -= timedelta(minutes=(start.hour * 60 + start.minute) % immediate_minutes)
        return Slot(start.strftime("%Y-%m-%dT%H:%MZ"), start)
    zone = ZoneInfo(timezone)
    at = parse_at(at_time)
    day = now.astimezone(zone).date()
    if frequency == "daily":
        when = _local(day, at, zone)
        if when > now:
            day -= timedelta(days=1)
            when = _local(day, at, zone)
        return Slot(day.isoformat(), when)
    if frequency == "weekly":
        day -= timedelta(days=(day.weekday() - weekday) % 7)
        when = _local(day, at, zone)
        if when > now:
            day -= timedelta(days=7)
            when = _local(day, at, zone)
        year, week, _ = day.isocalendar()
        return Slot(f"{year}-W{week:02d}", when)
    raise ValueError(f"unknown frequency {frequency!r}")


def digest_trigger(frequency: str, at_time: str, weekday: int, timezone: str) -> CronTrigger:
    """The scheduler's trigger for a daily or weekly digest, in the subscriber's time zone."""
    at = parse_at(at_time)
    day_of_week = WEEKDAYS[weekday] if frequency == "weekly" else "*"
    return CronTrigger(hour=at.hour, minute=at.minute, day_of_week=day_of_week, timezone=ZoneInfo(timezone))


def next_run(
    frequency: str, at_time: str, weekday: int, timezone: str, now: datetime, immediate_minutes: int = 5
) -> datetime:
    """The next scheduled instant after ``now`` (UTC)."""
    if frequency == "immediate":
        return latest_slot(frequency, at_time, weekday, timezone, now, immediate_minutes).at + timedelta(
            minutes=immediate_minutes
        )
    fire: datetime = digest_trigger(frequency, at_time, weekday, timezone).get_next_fire_time(None, now)
    return fire.astimezone(UTC)
