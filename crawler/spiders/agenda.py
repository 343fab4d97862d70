"""The base of the agenda-platform spiders (PrimeGov, CivicClerk): one spider for every city of a platform.

A crawl of an agenda platform lists the meetings in the city's window, reads the agenda of each, and turns
every item it saw into an :class:`~tracker.platforms.agenda.Appearance`. A bill is the sum of its item's
appearances across meetings, so nothing is staged until every agenda of the city has been read: the spider
counts the requests of each city in flight, and the callback (or errback) that brings the count to zero
stages that city's bills (each source id once).

Every mode reads the whole window (the outcome of a past meeting is recorded when its minutes are published,
often weeks later, and no listing says which agendas changed): ``full``, ``incremental`` and ``sweep`` crawl
the same requests; a ``track`` crawl reads them too and stages only the bills it was asked for.

Errors follow the Legistar spider: a request that fails for good (after the retries) fails the city with a
one-line message naming the URL; so does a page whose layout is not the one the platform's parser reads
(:class:`~tracker.errors.LayoutChanged`): a changed portal must never look like a city with fewer items. One
meeting's agenda is the record of its own request, as a matter is on the Legistar Web API: an agenda request
that fails for good (an error answer after the retries, an answer that is not the JSON or HTML page it should
be) is rejected and named (``meeting ID not read: ...``, :meth:`PortalSpider.unread_matter`), the
meeting keeps its stored items, the bills that agenda may hold are kept as stored
(:func:`~tracker.platforms.agenda.kept_as_stored`), the others are staged and the crawl is partial; a crawl
that could read no agenda at all fails (:meth:`CrawlJob.settle_unread`). Until 2026-12-07 one agenda that
answered 500 failed the whole city's crawl, every time. A track crawl still fails on it. One
malformed record (a meeting with a garbled date, an item with an impossible number) is rejected and named;
the rest is staged and the crawl is partial. The parsers (tracker/platforms/<platform>.py) read each item
inside :func:`tracker.platforms.agenda.read_one`, so an exception a parser was not written for (a field of an
unexpected type or size, raising a ``TypeError`` or ``ValueError``) rejects that item alone, like a
:class:`~tracker.errors.DataError`; only a :class:`~tracker.errors.LayoutChanged` (the page as a whole is not
what the parser reads) or an error outside the items fails the city.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.jobs import CrawlJob
from crawler.spiders.base import PortalSpider
from tracker.contract import NormalizedMeeting
from tracker.errors import DataError, LayoutChanged
from tracker.platforms.agenda import (
    AgendaSettings,
    Appearance,
    build_bills,
    build_meetings,
    kept_as_stored,
    local_window,
)
from tracker.redact import redact_url

logger = logging.getLogger(__name__)

# An agenda request's meeting: (its source id, where it sorts among appearances: agenda.meeting_order).
AGENDA_META = "agenda_of"


class UnreadablePage(Exception):
    """An agenda's answer that is not a page at all (another content type, an empty body): that meeting is
    not read, like an agenda request that failed for good (a page in another layout is a LayoutChanged)."""


@dataclass
class CityState:
    """What the spider keeps for one city while its agendas are read."""

    today: date
    first_day: date
    last_day: date | None  # None: no upper bound (the portal's own list of upcoming meetings)
    pending: int = 0
    meetings: set[str] = field(default_factory=set)
    appearances: list[Appearance] = field(default_factory=list)
    finished: bool = False
    # the listed meetings as records (their items are added once every agenda is read), the meetings one
    # of whose agenda items was rejected, and whether every row of the listings was read
    records: dict[str, NormalizedMeeting] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)
    listing_complete: bool = True
    # meetings whose agenda request failed for good, with where they sort (agenda.meeting_order)
    unread: dict[str, tuple[Any, ...]] = field(default_factory=dict)


def settles(method: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    """Wrap a callback: a :class:`LayoutChanged` fails the city (naming the URL), a :class:`DataError`
    rejects one record, and the request is counted as done whatever happened, so the city's bills are staged
    once its last request is answered."""

    @functools.wraps(method)
    def wrapper(self: AgendaSpider[Any], response: Response, slug: str, **kwargs: Any) -> list[Any]:
        job = self.jobs[slug]
        out: list[Any] = []
        try:
            if job.fatal is None:
                out = method(self, response, slug, **kwargs)
        except UnreadablePage as exc:
            self.unread_agenda(job, response.meta, f"{exc} at {redact_url(response.url)}")
        except LayoutChanged as exc:
            job.fail(f"{slug}: {exc} at {redact_url(response.url)}")
            self.logger.error("%s: %s at %s", slug, exc, redact_url(response.url))
        except DataError as exc:
            job.reject(f"{slug}: {exc}")
        finally:
            out = out + self._settle(slug)
        return out

    return wrapper


A = TypeVar("A", bound=AgendaSettings)


class AgendaSpider(PortalSpider[A]):
    """Shared plumbing; a platform spider implements :meth:`window_end` and :meth:`first_requests`."""

    platform = ""

    def __init__(self, jobs: list[CrawlJob], **kwargs: Any) -> None:
        super().__init__(jobs, **kwargs)
        self.cities: dict[str, CityState] = {}

    # -- the window -------------------------------------------------------------------------------------
    def window_end(self, job: CrawlJob, today: date) -> date | None:
        """The last meeting day read (None: whatever the portal lists as upcoming)."""
        return None

    def city(self, job: CrawlJob) -> CityState:
        state = self.cities.get(job.slug)
        if state is None:
            j = self.jurisdiction(job)
            today = datetime.now(j.zone).date()
            first = today - timedelta(days=j.lookback_days)
            state = CityState(today=today, first_day=first, last_day=self.window_end(job, today))
            self.cities[job.slug] = state
        return state

    def in_window(self, job: CrawlJob, day: date) -> bool:
        state = self.city(job)
        return state.first_day <= day and (state.last_day is None or day <= state.last_day)

    # -- requests ---------------------------------------------------------------------------------------
    def city_request(
        self,
        job: CrawlJob,
        url: str,
        callback: Callable[..., Any],
        *,
        expect: str | None = None,
        accept: str = "application/json",
        priority: int = 0,
        agenda_of: tuple[str, tuple[Any, ...]] | None = None,
        **cb_kwargs: Any,
    ) -> Request:
        """A request of this city (counted until answered). ``agenda_of``: the request reads that meeting's
        agenda (its source id and :func:`~tracker.platforms.agenda.meeting_order`), so that failing for good
        it fails only that meeting (:meth:`unread_agenda`)."""
        self.city(job).pending += 1
        return self.request(
            job,
            url,
            callback,
            expect=expect,
            accept=accept,
            priority=priority,
            meta=None if agenda_of is None else {AGENDA_META: agenda_of},
            cb_kwargs={"slug": job.slug, **cb_kwargs},
        )

    def first_requests(self, job: CrawlJob) -> list[Request]:
        raise NotImplementedError

    async def start(self) -> Any:
        for job in self.jobs.values():
            if job.fatal is not None:
                continue
            self.city(job)
            for request in self.first_requests(job):
                yield request

    # -- bookkeeping ------------------------------------------------------------------------------------
    def meetings_last_day(self, job: CrawlJob, state: CityState) -> date:
        """The last day of the meetings window (whose listing a complete crawl read in full): the window's
        own end, or ``[crawl] meetings_ahead_days`` ahead when the portal's upcoming list has no end."""
        if state.last_day is not None:
            return state.last_day
        return state.today + timedelta(days=job.settings.meetings_ahead_days)

    def ahead_days(self, job: CrawlJob, own: int) -> int:
        """How far ahead a window reaches: the platform's own setting, or ``[crawl] meetings_ahead_days``
        when that is further (so that hearings that far ahead are seen)."""
        return max(own, job.settings.meetings_ahead_days)

    def add_record(self, job: CrawlJob, record: NormalizedMeeting) -> None:
        """A listed meeting, staged with its items when the city's agendas are all read."""
        self.city(job).records[record.source_id] = record

    def listing_problem(self, job: CrawlJob, message: str) -> None:
        """A row of a meetings listing is rejected: the listing is not read completely, so no stored meeting
        may be marked as gone by this crawl."""
        job.reject(message)
        self.city(job).listing_complete = False

    def add_meeting(self, job: CrawlJob, meeting_id: str) -> bool:
        """Whether a listed meeting is new to this crawl (the archive and upcoming lists can overlap)."""
        state = self.city(job)
        if meeting_id in state.meetings:
            return False
        state.meetings.add(meeting_id)
        return True

    def _settle(self, slug: str) -> list[Any]:
        state = self.cities[slug]
        state.pending -= 1
        if state.pending > 0 or state.finished:
            return []
        state.finished = True
        return self.finish(self.jobs[slug], state)

    def finish(self, job: CrawlJob, state: CityState) -> list[dict[str, Any]]:
        """Every agenda of the city is read: its bills, each source id once."""
        job.settle_unread()  # not one agenda could be read: the crawl fails with the first failure
        if job.fatal is not None:
            return []
        if not state.meetings and job.rejected:
            # the portal listed meetings, every one of them invalid: say so, with the first problem
            job.fail(
                f"{job.slug}: every meeting the portal listed was invalid ({job.rejected} rejected); "
                f"first problem: {(job.problems or ['no detail kept'])[0]}"
            )
            return []
        if not state.meetings and job.mode == "full" and not job.jurisdiction.allow_empty:
            end = state.last_day.isoformat() if state.last_day else "the upcoming meetings"
            job.fail(
                f"{job.slug}: the portal listed no meetings from {state.first_day.isoformat()} to {end} "
                "(set allow_empty = true if that is expected)"
            )
            return []
        if state.meetings and not state.appearances and job.rejected:
            # meetings read, every agenda item on them rejected: the items were invalid, not missing
            job.fail(
                f"{job.slug}: read {len(state.meetings)} meeting{'s' if len(state.meetings) != 1 else ''}: "
                f"every agenda item the portal listed was invalid ({job.rejected} rejected); "
                f"first problem: {(job.problems or ['no detail kept'])[0]}"
            )
            return []
        if state.meetings and not state.appearances and job.mode != "track":
            # meetings read, not one agenda item: a changed agenda layout or unpublished agendas, never a
            # healthy "succeeded, 0 bills" (the crawl is recorded as partial and `tracker status` says it)
            job.warnings.append(
                f"read {len(state.meetings)} meeting{'s' if len(state.meetings) != 1 else ''} but found no "
                "agenda items in them (agendas not published yet, or a page layout this tracker does not "
                "read)"
            )
        problems: list[str] = []
        bills = build_bills(state.appearances, self.platform, job.jurisdiction.stages, problems)
        for problem in problems:
            job.reject(f"{job.slug}: {problem}")
        if job.mode == "track":
            bills = [b for b in bills if b.source_id in job.only]
        held = kept_as_stored(state.appearances, state.unread, job.known, job.known_actions)
        if held:
            bills = [b for b in bills if b.source_id not in held]
            self.logger.warning(
                "%s: %d bills not staged (kept as stored): an agenda not read may hold them (%s)",
                job.slug,
                len(held),
                ", ".join(sorted(held)[:5]) + (", ..." if len(held) > 5 else ""),
            )
        for bill in bills:
            job.listed.add(bill.source_id)
        self.logger.info(
            "%s: %d meetings, %d agenda items, %d bills",
            job.slug,
            len(state.meetings),
            len(state.appearances),
            len(bills),
        )
        out: list[dict[str, Any]] = [{"slug": job.slug, "bill": bill} for bill in bills]
        if job.mode != "track" and job.shard[0] == 0:
            out += self.stage_meetings(job, state)
        return out

    def stage_meetings(self, job: CrawlJob, state: CityState) -> list[dict[str, Any]]:
        """The city's meetings with their items (docs/meetings.md); the window is recorded only when every
        row of the listings was read."""
        meetings = build_meetings(state.records, state.appearances, state.incomplete)
        job.meetings_listed |= set(state.records)
        if state.listing_complete:
            zone = job.jurisdiction.zone
            job.meetings_window = local_window(state.first_day, self.meetings_last_day(job, state), zone)
        return [{"slug": job.slug, "meeting": m} for m in meetings]

    def unread_agenda(self, job: CrawlJob, meta: Mapping[str, Any], detail: str) -> None:
        """A meeting's agenda request failed for good: that meeting is rejected and named, and the bills its
        agenda may hold are kept as stored (:meth:`finish`). Any other request, or any request of a track
        crawl, fails the city."""
        meeting = meta.get(AGENDA_META)
        if meeting is None or job.mode == "track":
            job.fail(f"{job.slug}: {detail}")
            self.logger.error("%s: %s", job.slug, detail)
            return
        meeting_id, order = meeting
        self.city(job).unread[meeting_id] = order
        self.unread_matter(job, meeting_id, detail, "meeting")

    def on_error(self, failure: Failure) -> list[Any]:
        failed = self.failure(failure)
        if failed.job is None:
            self.fail_city(failed)
            return []
        self.unread_agenda(failed.job, failed.request.meta, failed.detail)
        return self._settle(failed.job.slug)


def html_page(response: Response) -> None:
    """A page must be HTML; anything else (JSON, a PDF, an empty body) is not a page this adapter can read:
    :class:`UnreadablePage` (that agenda alone is not read; a crawl that can read none fails)."""
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    if "html" not in ctype:
        raise UnreadablePage(f"expected an HTML page, got content type {ctype or 'none'!r}")
    if not response.body.strip():
        raise UnreadablePage("expected an HTML page, got an empty body")
