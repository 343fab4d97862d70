"""Click parameters shared by the commands: a day of the week (typed in more than one spelling), text that
may not be empty (a filter), the range of a ``--limit`` and the hidden ``--now`` of the commands that act
at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from db.types import utcnow

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Weekday(click.ParamType[str]):
    """A day of the week, in full or short, any case (``monday``, ``Mon``, ``MON``): its short name
    (``mon``). Anything else is a usage error (exit status 2) listing the choices."""

    name = "weekday"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[mon|tue|...|sun]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().lower()
        if text in WEEKDAYS:
            return text
        if text in _FULL:
            return WEEKDAYS[_FULL.index(text)]
        self.fail(
            f"{str(value)[:40]!r} is not a day of the week: one of {', '.join(_FULL)} "
            f"(or {', '.join(WEEKDAYS)})",
            param,
            ctx,
        )


WEEKDAY = Weekday()


class NonEmpty(click.ParamType[str]):
    """Text that says something: an empty or blank value (``--jurisdiction ""``) is a usage error, where it
    would otherwise read as "no filter" and list everything."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not text.strip():
            self.fail("must not be empty", param, ctx)
        return text


NON_EMPTY = NonEmpty()

#: The most a ``--limit`` may ask for: far past any real use, and well within the integers every database
#: driver binds (a bigger number was an OverflowError on SQLite and "bigint out of range" on PostgreSQL).
MAX_LIMIT = 1_000_000
LIMIT = click.IntRange(1, MAX_LIMIT)


NOW_OPTION = click.option(
    "--now", "now_text", metavar="ISO", hidden=True, help="Act as if it were this time (tests, replays)."
)


def parse_now(value: str | None) -> datetime:
    """The time ``--now`` names (UTC if it has no offset), else the current time."""
    if not value:
        return utcnow()
    from tracker.crawl import parse_iso

    return parse_iso(value)
