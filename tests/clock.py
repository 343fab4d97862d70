"""The tests' one clock: every test that depends on the date or the time takes it from here.

* :data:`FIXED_NOW` — a fixed instant, for code that takes its clock as an argument (``now=``, ``--now``, the
  demo portal's clock). Prefer it: such a test gives the same answer at any time of day.
* :func:`utc_now` and :func:`local_today` — the machine's clock, for the tests of child processes that read
  it themselves (a crawl counts its window back from the jurisdiction's local date; Legistar's incremental
  ``since`` filter is the machine's time). The expectation must be computed the way the product computes
  it: the *jurisdiction's* date (``local_today(tz)``), never ``date.today()``, which is the machine's date
  and differs from the portal's every day between midnight UTC and midnight in the jurisdiction.
* :class:`LocalDay` — the local date on both sides of a crawl, for the few expectations that change with the
  date (which archive years a window spans): a crawl that straddles local midnight may have read either day.
* :func:`wait_for` — wait for something to happen (a server received a request, a child process wrote a
  file) by polling a condition with a bounded wait, never with a bare ``sleep``: a sleep is too short on a
  loaded machine and wasted on a quiet one.

bench/flake_check.sh runs the date-sensitive tests under libfaketime at several times of day and the
timing-sensitive ones under CPU load (docs/testing.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from typing import TypeVar
from zoneinfo import ZoneInfo

from tracker.demo import DEMO_NOW

T = TypeVar("T")

# The demo portal's clock (2026-11-01T12:00Z): a fixed instant for code that takes ``now`` as an argument.
FIXED_NOW: datetime = DEMO_NOW


def utc_now(*, seconds: bool = True) -> datetime:
    """The machine's time (what a child process's ``datetime.now(UTC)`` reads), to the second unless
    ``seconds=False``."""
    now = datetime.now(UTC)
    return now.replace(microsecond=0) if seconds else now


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def local_today(tz: str | tzinfo) -> date:
    """The jurisdiction's date now, as the crawler computes it (its window is in local days)."""
    return datetime.now(_zone(tz)).date()


class LocalDay:
    """The jurisdiction's date before and after an operation that reads the clock itself::

        day = LocalDay("America/Los_Angeles")
        result = crawl(cfg)
        assert got in day.expect(lambda today: years_of_the_window(today))

    Almost always one date, so the assertion is exact; when the operation straddled local midnight, it is
    right for either day it may have read, and for no other.
    """

    def __init__(self, tz: str | tzinfo) -> None:
        self.tz = _zone(tz)
        self.first = local_today(self.tz)

    def days(self) -> list[date]:
        return sorted({self.first, local_today(self.tz)})

    def expect(self, expectation: Callable[[date], T]) -> list[T]:
        return [expectation(d) for d in self.days()]


def wait_for(
    condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.02, *, what: str | None = None
) -> T:
    """Poll ``condition`` until it returns something true and return that; fail after ``timeout`` seconds
    (generous: the bound only matters when the thing never happens) with a message naming what never
    happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            name = what or getattr(condition, "__name__", repr(condition))
            raise AssertionError(f"timed out after {timeout:g} s waiting for {name}")
        time.sleep(interval)
