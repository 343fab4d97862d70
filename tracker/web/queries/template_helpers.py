"""What the pages' templates call as ``h.<name>(...)``: labels, times in the display zone, evidence marks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.labels import category_label, direction_label, stage_label
from tracker.matcher import CATEGORY_CODES, DIRECTIONS
from tracker.read_model import safe_url
from tracker.review import decision_seen
from tracker.signals import EVIDENCE_LEGEND, evidence_what
from tracker.web.queries.filters import QUEUE_ORDERS, QUEUE_STATES, SEARCH_STATES, STAGES
from tracker.web.queries.renderings import highlight_html

DISPLAY_ZONE: ZoneInfo = ZoneInfo("UTC")  # set by create_app from the configuration (display_timezone)


def set_display_zone(name: str) -> None:
    global DISPLAY_ZONE
    DISPLAY_ZONE = ZoneInfo(name)


def when(value: datetime | date | str | None) -> str:
    """A time in the display zone with its abbreviation (``2026-11-25 06:49 CST``; stored naive times are
    UTC; an ISO string is read first), a date as ISO, nothing as "-"."""
    if value is None:
        return "-"
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        value = parsed
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        local = aware.astimezone(DISPLAY_ZONE)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    return value.isoformat()


def local_time(value: datetime | None, zone: str | None, timed: bool = True) -> str:
    """A meeting's start in its own time zone, as people read it: ``Tue 14 Jan 2027, 10:00 PST``; without
    ``timed`` (the portal gave no time), its date: ``Tue 14 Jan 2027, time not announced``."""
    if value is None:
        return "time not given"
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        local = aware.astimezone(ZoneInfo(zone)) if zone else aware
    except (ZoneInfoNotFoundError, ValueError):
        local = aware
    if not timed:
        return f"{local:%a %d %b %Y}, time not announced"
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"


def local_day(value: datetime | None, zone: str | None) -> str:
    """A meeting's start as its local date (``2027-01-14``), for lists."""
    if value is None:
        return "-"
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        local = aware.astimezone(ZoneInfo(zone)) if zone else aware
    except (ZoneInfoNotFoundError, ValueError):
        local = aware
    return local.date().isoformat()


def category_labels(codes: Iterable[str]) -> str:
    return ", ".join(category_label(c) for c in codes)


class TemplateHelpers:
    """What the pages' templates call as ``h.<name>(...)`` (labels, times, evidence marks)."""

    category = staticmethod(category_label)
    cats = staticmethod(category_labels)
    direction = staticmethod(direction_label)
    stage = staticmethod(stage_label)
    when = staticmethod(when)
    local_time = staticmethod(local_time)
    local_day = staticmethod(local_day)
    highlight = staticmethod(highlight_html)
    safe_url = staticmethod(safe_url)
    decision_seen = staticmethod(decision_seen)
    stages = STAGES
    categories = CATEGORY_CODES
    search_states = SEARCH_STATES
    queue_states = QUEUE_STATES
    directions = DIRECTIONS
    queue_orders = QUEUE_ORDERS
    evidence_what = staticmethod(evidence_what)
    evidence_legend = EVIDENCE_LEGEND
    uncertain_help = (
        "Uncertain: the model's probability is near its decision boundary, so it could go either way. "
        "Deciding this bill teaches the model the most."
    )
    near_miss_help = (
        "Near miss: the matcher did not put this bill on the list, but the model's probability is just "
        "below its boundary. Confirm adds it to the list; reject teaches the model."
    )


HELPERS = TemplateHelpers()
