"""The Legistar InSite spider (platform ``legistar-web``): one spider for every InSite city of a crawl.

For clients whose Web API is off or lags, it reads the public web pages (docs/platform-legistar-web.md):

1. ``GET Legislation.aspx``, switching to the advanced search when the page opens on the simple one;
2. the search, an ASP.NET WebForms postback: the form's own fields (``__VIEWSTATE``,
   ``__EVENTVALIDATION``... copied from the previous answer), ``__EVENTTARGET`` = the search button, and
   the years and max-results drop-downs set through their ``..._ClientState`` JSON;
3. the results grid, paged by posting back the target of the link after ``a.rgCurrentPage``
   (``javascript:__doPostBack('...')``), each page's answer checked to be the page asked for;
4. ``LegislationDetail.aspx?ID=..&GUID=..`` of each bill to fetch: every listed bill on a full crawl; on
   incremental crawls and sweeps only bills that are new, whose results row changed (its fingerprint is
   stored as the bill's row version), that show a date inside the watermark window, or that are tracked.
   Bills fetched by id alone (track mode, tracked bills the search did not list) go through the
   ``Gateway.aspx?M=L&ID=..`` permalink, whose redirect names the page with its GUID;
5. on incremental crawls and sweeps (``calendar = true``), once the searches are done: ``Calendar.aspx``,
   its years drop-down posted back for each year of the window [last crawl - ``calendar_days``, today]
   and its grid paged like the search, then the ``MeetingDetail.aspx`` page of each meeting in the window,
   and the page of every bill on those agendas that the crawl has not asked for yet (a bill acted on at a
   meeting although the search lags or its row did not change);
6. with ``meetings = true``, in every mode but track (shard 0 only): the calendar's meetings of the
   ``[crawl]`` meetings window, read in the same calendar chains (one per year of either window, "Next
   Year" included), staged with the agenda items of their ``MeetingDetail.aspx`` page (one request per
   meeting that has one).
   A chain or meeting page read for the meetings only never fails the crawl: a warning, and the window is
   not recorded as read (docs/meetings.md, "Legistar web pages");
7. with the meetings: the ``HistoryDetail.aspx`` page (roll call) of each voted agenda item of a bill the
   attachments' title triage picks (crawler/attachments.py), once (never for an item whose roll call is
   stored or whose action details were read before), the meeting staged when they are read; and, on full
   crawls and sweeps, ``People.aspx`` (the members) and the ``PersonDetail.aspx`` page of each member it
   links (their bodies and terms: one request per listed member per full crawl or sweep, none on
   incremental crawls). Any of them failing is a warning.

A search is a chain of postbacks in one ASP.NET session: the spider keeps each search's session cookies
itself and sends them with the next postback of that search. (Scrapy's cookie middleware stays off, as for
every spider: it would download the public suffix list from the internet on first use, and the bill pages
need no session.) Pages are parsed by
:mod:`tracker.platforms.legistar_web`: a page whose layout changed fails the city's crawl naming the URL;
one bad record is rejected (skipped and named); InSite's error answers (a redirect to ``Error.aspx``, an
empty body) are retried ``[crawl] retries`` times, then fail the city.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from itertools import pairwise
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from scrapy.http import FormRequest, Request, Response, TextResponse
from twisted.python.failure import Failure

from crawler.attachments import TitleTriage
from crawler.jobs import CrawlJob
from crawler.middlewares import JOB_META
from crawler.spiders.base import OPTIONAL_META, PortalSpider
from tracker.contract import NormalizedMember, name_key
from tracker.errors import DataError, LayoutChanged
from tracker.platforms.legistar_web import (
    SEARCH_TARGET,
    AgendaRow,
    GridRow,
    Meeting,
    RollCall,
    Settings,
    agenda_items,
    calendar_overrides,
    check_calendar_year,
    detail_id,
    form_fields,
    history_url,
    is_advanced,
    meeting_url,
    normalize_meeting,
    page_problem,
    parse_agenda,
    parse_calendar_page,
    parse_detail,
    parse_history_detail,
    parse_html,
    parse_meeting_page,
    parse_people,
    parse_person_detail,
    parse_search_page,
    person_url,
    postback,
    public_url,
    read_stamp,
    search_overrides,
    switch_button,
    voted,
)
from tracker.redact import redact_url
from tracker.safe_output import ascii_digits
from tracker.sanitize import clean_text

T = TypeVar("T")

PRIORITY_SEARCH = 100  # finish listing first: a search is a chain of postbacks that cannot run in parallel
PRIORITY_GATEWAY = 99
PRIORITY_MEETING = 98
PRIORITY_DETAIL = 0
ATTEMPT_META = "insite_attempt"
REDIRECTS = (301, 302, 303, 307, 308)
# a request made only for the meetings (docs/meetings.md): its failure is a warning, not the crawl's failure
MEETINGS_META = "insite_meetings"
# ... and, among those, an action's details read for its roll call, and the people listing
ROLL_META = "insite_roll_call"
PEOPLE_META = "insite_people"
PERSON_META = "insite_person"
OWN_META = {
    JOB_META,
    ATTEMPT_META,
    OPTIONAL_META,
    MEETINGS_META,
    ROLL_META,
    PEOPLE_META,
    PERSON_META,
    "is_detail",
    "handle_httpstatus_list",
}
MAX_WARNINGS = 5


@dataclass
class _Search:
    """One search chain of a city (one years value): its ASP.NET session cookies and what it read."""

    year: str
    cookies: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    total: int = 0
    # a calendar chain: the text the years drop-down must show, and the bills' window's first day (None:
    # the chain reads meetings only)
    shown: str = ""
    first: date | None = None
    # ... the first day of either window (paging stops before it), whether the chain serves the bills
    # (its failure fails the crawl) and the meetings window (its failure is a warning)
    lower: date | None = None
    bills: bool = True
    meets: bool = False
    # the chain (or a meeting's agenda) read something it could not use: its listing is not complete
    broken: bool = False
    done: bool = False
    # a meeting's page read for the meeting's record: its calendar row, agenda rows and statuses
    cal: Meeting | None = None
    agenda: list[AgendaRow] = field(default_factory=list)
    statuses: dict[str, str | None] = field(default_factory=dict)
    # its roll calls (HistoryDetail.aspx) read by this crawl, by item id; the HistoryDetail ID read for
    # each item; how many are still being read
    calls: dict[str, RollCall] = field(default_factory=dict)
    read: dict[str, str] = field(default_factory=dict)
    left: int = 0

    def remember(self, response: Response) -> None:
        """Keep the cookies an answer sets (``ASP.NET_SessionId``, the load balancer's, InSite's
        ``Setting-*``): the next postback of the chain must carry them."""
        for header in response.headers.getlist(b"Set-Cookie"):
            name, sep, value = header.decode("latin-1").split(";", 1)[0].partition("=")
            if not sep or not name.strip():
                continue
            if value.strip():
                self.cookies[name.strip()] = value.strip()
            else:
                self.cookies.pop(name.strip(), None)

    def headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}


@dataclass
class _Window:
    """A city's meetings window in local days, and how its calendar chains went."""

    first: date
    last: date
    zone: ZoneInfo
    open: int = 0
    complete: bool = True
    # the last day the site lists (its years drop-down offers no "Next Year")
    clip: date | None = None

    def bounds(self) -> tuple[datetime, datetime]:
        last = min(self.last, self.clip) if self.clip else self.last
        return (
            datetime.combine(self.first, time(0), tzinfo=self.zone),
            datetime.combine(last, time(23, 59, 59), tzinfo=self.zone),
        )


class LegistarWebSpider(PortalSpider[Settings]):
    name = "legistar-web"

    def __init__(self, jobs: list[CrawlJob], **kwargs: Any) -> None:
        super().__init__(jobs, **kwargs)
        # source ids of each city already asked for in this crawl (never staged twice)
        self._queued: dict[str, set[str]] = {slug: set() for slug in self.jobs}
        self._open_searches: dict[str, int] = {slug: 0 for slug in self.jobs}
        self._rows_listed: dict[str, int] = {slug: 0 for slug in self.jobs}
        # listed rows of each city not fetched (source id -> (GUID, fingerprint, file number)): a bill the
        # calendar finds on an agenda is fetched with its listed row's fingerprint as its row version
        self._unfetched: dict[str, dict[str, GridRow]] = {slug: {} for slug in self.jobs}
        # meetings of each city asked for (or staged) in this crawl
        self._meetings: dict[str, set[str]] = {slug: set() for slug in self.jobs}
        # each city's meetings window (None: this crawl stores no meetings)
        self._window: dict[str, _Window | None] = {slug: None for slug in self.jobs}
        # which agenda items' roll calls are read: the attachments' title triage (crawler/attachments.py)
        self._triage = TitleTriage()

    # -- requests -------------------------------------------------------------------------------------
    def _base(self, job: CrawlJob) -> str:
        return self.jurisdiction(job).base

    def _form(self, job: CrawlJob, search: _Search) -> Request:
        return self.request(
            job,
            f"{self._base(job)}/Legislation.aspx",
            self.parse_form,
            accept=None,
            priority=PRIORITY_SEARCH,
            cb_kwargs={"slug": job.slug, "search": search, "switched": False},
        )

    def _post(self, job: CrawlJob, search: _Search, fields: list[tuple[str, str]], **cb: Any) -> Request:
        callback = self.parse_results if "page" in cb else self.parse_form
        return self.request(
            job,
            f"{self._base(job)}/Legislation.aspx",
            callback,
            request_class=FormRequest,
            accept=None,
            formdata=fields,
            headers=search.headers(),
            priority=PRIORITY_SEARCH,
            cb_kwargs={"slug": job.slug, "search": search, **cb},
        )

    def _detail(
        self,
        job: CrawlJob,
        key: str,
        guid: str,
        *,
        row_version: str | None,
        identifier: str | None,
        optional: bool,
    ) -> Request:
        job.fetched += 1
        return self.request(
            job,
            public_url(self._base(job), key, guid),
            self.parse_detail,
            accept=None,
            optional=optional,
            meta={"is_detail": True},
            priority=PRIORITY_DETAIL,
            cb_kwargs={
                "slug": job.slug,
                "key": key,
                "guid": guid,
                "row_version": row_version,
                "identifier": identifier,
                "optional": optional,
            },
        )

    def _gateway(self, job: CrawlJob, key: str, *, optional: bool) -> Request:
        """A bill by id alone: InSite's permalink redirects to its page (with the GUID) if it is public."""
        return self.request(
            job,
            f"{self._base(job)}/Gateway.aspx?M=L&ID={key}",
            self.parse_gateway,
            accept=None,
            optional=optional,
            meta={"handle_httpstatus_list": [302]},
            priority=PRIORITY_GATEWAY,
            cb_kwargs={"slug": job.slug, "key": key, "optional": optional},
        )

    async def start(self) -> AsyncIterator[Request]:
        for job in self.jobs.values():
            if job.fatal is not None:
                continue
            if job.mode == "track":
                for key in sorted(job.only):
                    if not ascii_digits(key):
                        job.reject(f"{job.slug}: {key[:40]!r} is not an InSite bill id (the ID of its page)")
                        continue
                    self._queued[job.slug].add(key)
                    yield self._gateway(job, key, optional=False)
                continue
            j = self.jurisdiction(job)
            years = j.incremental_years if job.mode == "incremental" else j.search_years
            self._open_searches[job.slug] = len(years)
            for year in years:
                yield self._form(job, _Search(year))

    # -- reading answers -------------------------------------------------------------------------------
    @staticmethod
    def _text(response: Response) -> str:
        if isinstance(response, TextResponse):
            return response.text
        return response.body.decode("utf-8", "replace")

    def _page(self, response: Response, job: CrawlJob, *, optional: bool = False) -> Any:
        """The parsed page, or a list (requests or nothing) when the answer is not a page to parse."""
        text = self._text(response)
        problem = page_problem(response.body, text)
        url = redact_url(response.url)
        if problem == "empty body":
            return self._again(response.request, job, f"empty answer from {url}")
        if problem is not None and response.meta.get(MEETINGS_META):
            return self._lost(job, response.request, f"the portal answered {problem!r} at {url}")
        if problem is not None:
            what = (
                "the portal says the record no longer exists"
                if problem == "record gone"
                else "the portal answered 'Invalid parameters!'"
            )
            if optional:
                self._note(job, f"{job.slug}: tracked bill gone: {what} at {url}")
            elif response.meta.get("is_detail"):
                job.reject(f"{job.slug}: {what} at {url}")
            else:
                job.fail(f"{job.slug}: {what} at {url}")
            return []
        try:
            return parse_html(text)
        except LayoutChanged as exc:
            if response.meta.get(MEETINGS_META):
                return self._lost(job, response.request, f"layout changed: {exc} at {url}")
            return self._layout(job, exc, response)

    def _meeting_page(self, response: Response, job: CrawlJob, parse: Callable[[Any], T]) -> T | list[Any]:
        """A page read for the meetings (an action's roll call, a member's terms) parsed by ``parse``, or the
        list :meth:`_lost` returns when the answer, its layout or its data cannot be used."""
        doc = self._page(response, job)
        if isinstance(doc, list):
            return doc
        url = redact_url(response.url)
        try:
            return parse(doc)
        except LayoutChanged as exc:
            return self._lost(job, response.request, f"layout changed: {exc} at {url}")
        except DataError as exc:
            return self._lost(job, response.request, f"{exc} at {url}")

    def _again(self, request: Request | None, job: CrawlJob, reason: str) -> list[Any]:
        """Retry an answer InSite gives when it is broken (Error.aspx, an empty body), then give up."""
        if request is None:
            job.fail(f"{job.slug}: {reason}")
            return []
        attempt = request.meta.get(ATTEMPT_META, 0) + 1
        if attempt > job.settings.retries:
            if request.meta.get(MEETINGS_META):
                return self._lost(job, request, f"{reason} (gave up after {attempt} attempts)")
            if request.meta.get("is_detail") and not request.meta.get(OPTIONAL_META):
                # a bill's page: that bill alone is left out (until 2026-12-07 it failed the city's crawl)
                reason = f"{reason} (gave up after {attempt} attempts)"
                return self.unread_matter(job, request.cb_kwargs.get("key"), reason)
            job.fail(f"{job.slug}: {reason} (gave up after {attempt} attempts)")
            return []
        self.logger.info("%s: retry %d/%d: %s", job.slug, attempt, job.settings.retries, reason)
        # only this spider's own meta keys: Scrapy's (download_latency...) must not be carried over
        meta = {k: v for k, v in request.meta.items() if k in OWN_META}
        return [
            request.replace(
                dont_filter=True, priority=request.priority + 1, meta={**meta, ATTEMPT_META: attempt}
            )
        ]

    def _layout(self, job: CrawlJob, exc: Exception, response: Response) -> list[Any]:
        job.fail(f"{job.slug}: layout changed: {exc} at {redact_url(response.url)}")
        return []

    def _note(self, job: CrawlJob, message: str) -> None:
        job.problems.append(message)
        self.logger.warning("%s", message)

    # -- the search ------------------------------------------------------------------------------------
    # Callbacks return lists, not generators (see crawler/spiders/legistar.py).
    def parse_form(self, response: Response, slug: str, search: _Search, switched: bool) -> list[Any]:
        job = self.jobs[slug]
        if job.fatal:
            return []
        search.remember(response)
        doc = self._page(response, job)
        if isinstance(doc, list):
            return doc
        try:
            if not is_advanced(doc):
                if switched:
                    raise LayoutChanged("the advanced search did not open after the switch")
                name, value = switch_button(doc)
                fields = postback(form_fields(doc), "", {name: value})
                return [self._post(job, search, fields, switched=True)]
            overrides = search_overrides(doc, self._text(response), search.year)
            fields = postback(
                form_fields(doc), SEARCH_TARGET, {**overrides, SEARCH_TARGET: "Search Legislation"}
            )
        except LayoutChanged as exc:
            return self._layout(job, exc, response)
        except DataError as exc:
            job.fail(f"{slug}: {exc} at {redact_url(response.url)}")
            return []
        return [self._post(job, search, fields, page=1)]

    def parse_results(self, response: Response, slug: str, search: _Search, page: int) -> list[Any]:
        job = self.jobs[slug]
        if job.fatal:
            return []
        search.remember(response)
        doc = self._page(response, job)
        if isinstance(doc, list):
            return doc
        url = redact_url(response.url)
        try:
            found = parse_search_page(doc)
            fields = form_fields(doc) if found.next_target else []
        except LayoutChanged as exc:
            return self._layout(job, exc, response)
        except DataError as exc:
            job.fail(f"{slug}: {exc} on page {page} of the {search.year!r} search at {url}")
            return []
        if found.page != page:
            job.fail(
                f"{slug}: asked for page {page} of the {search.year!r} search, got page {found.page} at {url}"
            )
            return []
        for problem in found.rejected:
            job.reject(f"{slug}: page {page} of the {search.year!r} search: {problem}")
        search.rows += len(found.rows) + len(found.rejected)
        search.total = found.total
        out: list[Any] = []
        if found.next_target:
            out.append(self._post(job, search, postback(fields, found.next_target), page=page + 1))
        for row in found.rows:
            request = self._row(job, row)
            if request is not None:
                out.append(request)
        if found.next_target is None:
            out += self._search_done(job, search, url)
        return out

    def _row(self, job: CrawlJob, row: GridRow) -> Request | None:
        job.listed.add(row.source_id)
        self._rows_listed[job.slug] += 1
        if row.source_id in self._queued[job.slug]:
            return None
        if not self._wanted(job, row):
            self._unfetched[job.slug][row.source_id] = row
            return None
        self._queued[job.slug].add(row.source_id)
        if row.guid is None:
            return self._gateway(job, row.source_id, optional=False)
        return self._detail(
            job,
            row.source_id,
            row.guid,
            row_version=row.fingerprint,
            identifier=row.identifier,
            optional=False,
        )

    def _wanted(self, job: CrawlJob, row: GridRow) -> bool:
        """Whether to fetch a listed bill's page: always on a full crawl; otherwise when it is new, tracked,
        its results row changed (status, dates, title... all in the fingerprint), or it shows a date inside
        the watermark window (its page may have gained a history row that changed nothing in the row)."""
        if job.mode == "full" or row.source_id in job.tracked:
            return True
        stored = job.known.get(row.source_id)
        if stored is None or stored[0] != row.fingerprint:
            return True
        return self._recent(job, row.dates)

    @staticmethod
    def _recent(job: CrawlJob, dates: list[date]) -> bool:
        if job.since is None:
            return True
        zone = job.jurisdiction.zone
        first = job.since.astimezone(zone).date()
        today = datetime.now(UTC).astimezone(zone).date()
        return any(first <= d <= today for d in dates)

    def _search_done(self, job: CrawlJob, search: _Search, url: str) -> list[Request]:
        if search.rows != search.total:
            job.reject(
                f"{job.slug}: the {search.year!r} search announced {search.total} rows but "
                f"{search.rows} were read (rows moved while paging?) at {url}"
            )
        self._open_searches[job.slug] -= 1
        if self._open_searches[job.slug] > 0:
            return []
        # Every search of the city is done.
        if self._rows_listed[job.slug] == 0 and job.rejected:
            job.fail(
                f"{job.slug}: every record the portal listed was invalid ({job.rejected} rejected); "
                f"first problem: {(job.problems or ['no detail kept'])[0]}"
            )
            return []
        if job.mode == "full" and self._rows_listed[job.slug] == 0 and not job.jurisdiction.allow_empty:
            job.fail(
                f"{job.slug}: the legislation search listed nothing at {url} "
                "(set allow_empty = true if that is expected)"
            )
            return []
        out: list[Request] = self._calendar(job)
        out += self._people(job)
        for key in sorted(job.tracked - self._queued[job.slug]):
            self._queued[job.slug].add(key)
            out.append(self._gateway(job, key, optional=True))
        return out

    # -- the calendar ----------------------------------------------------------------------------------
    def _meetings_window(self, job: CrawlJob, today: date) -> _Window | None:
        """The city's meetings window ([crawl] meetings_back_days before its local today to
        meetings_ahead_days after it), when this crawl stores meetings: ``meetings = true``, not a track
        crawl, shard 0 of a split crawl."""
        j = self.jurisdiction(job)
        back, ahead = job.settings.meetings_back_days, job.settings.meetings_ahead_days
        if not j.meetings or job.mode == "track" or job.shard[0] != 0 or (back == 0 and ahead == 0):
            return None
        return _Window(today - timedelta(days=back), today + timedelta(days=ahead), j.zone)

    def _calendar(self, job: CrawlJob) -> list[Request]:
        """The calendar chains, one per year ("This Year", "Last Year", "Next Year", older years by
        number) of the union of two windows: the bills' window [last crawl - calendar_days, today] of
        incremental crawls and sweeps (``calendar = true``: the agendas of the meetings held in it name bills
        to fetch), and the meetings window (``meetings = true``: the meetings to store)."""
        j = self.jurisdiction(job)
        zone = j.zone
        today = datetime.now(UTC).astimezone(zone).date()
        first = None
        if job.mode in ("incremental", "sweep") and j.calendar and job.since is not None:
            first = job.since.astimezone(zone).date() - timedelta(days=j.calendar_days)
        window = self._window[job.slug] = self._meetings_window(job, today)
        if first is None and window is None:
            return []
        lower = min(d for d in (first, window.first if window else None) if d is not None)
        upper = max(today, window.last) if window else today
        out = []
        for year in range(min(lower.year, today.year), upper.year + 1):
            value = {today.year: "This Year", today.year - 1: "Last Year", today.year + 1: "Next Year"}.get(
                year, str(year)
            )
            bills = first is not None and first.year <= year <= today.year
            meets = window is not None and window.first.year <= year <= window.last.year
            if window is not None and meets:
                window.open += 1
            out.append(
                self.request(
                    job,
                    f"{self._base(job)}/Calendar.aspx",
                    self.parse_calendar_form,
                    accept=None,
                    meta={} if bills else {MEETINGS_META: True},
                    priority=PRIORITY_SEARCH,
                    cb_kwargs={
                        "slug": job.slug,
                        "search": _Search(
                            value, first=first if bills else None, lower=lower, bills=bills, meets=meets
                        ),
                    },
                )
            )
        return out

    def _calendar_post(
        self, job: CrawlJob, search: _Search, fields: list[tuple[str, str]], page: int
    ) -> Request:
        return self.request(
            job,
            f"{self._base(job)}/Calendar.aspx",
            self.parse_calendar,
            request_class=FormRequest,
            accept=None,
            formdata=fields,
            headers=search.headers(),
            meta={} if search.bills else {MEETINGS_META: True},
            priority=PRIORITY_SEARCH,
            cb_kwargs={"slug": job.slug, "search": search, "page": page},
        )

    def parse_calendar_form(self, response: Response, slug: str, search: _Search) -> list[Any]:
        job = self.jobs[slug]
        if job.fatal:
            return []
        search.remember(response)
        doc = self._page(response, job)
        if isinstance(doc, list):
            return doc
        url = redact_url(response.url)
        try:
            shown, overrides = calendar_overrides(doc, self._text(response), search.year)
            fields = postback(form_fields(doc), overrides.pop("__EVENTTARGET"), overrides)
        except LayoutChanged as exc:
            if not search.bills:
                return self._lost(job, response.request, f"layout changed: {exc} at {url}")
            return self._layout(job, exc, response)
        except DataError as exc:
            if search.year == "Next Year":
                # the site lists nothing after this year: the window ends on 31 December
                self._note(job, f"{slug}: calendar: {exc} at {url}")
                window = self._window[slug]
                if window is not None:
                    window.clip = date(window.last.year - 1, 12, 31)  # the chain is next year's
                self._chain_done(job, search, complete=True)
                return []
            if search.year not in ("This Year", "Last Year"):
                # an older year the drop-down does not offer: the site has no meeting in it
                self._note(job, f"{slug}: calendar: {exc} at {url}")
                self._chain_done(job, search, complete=True)
                return []
            if not search.bills:
                return self._lost(job, response.request, f"{exc} at {url}")
            job.fail(f"{slug}: {exc} at {url}")
            return []
        search.shown = shown
        return [self._calendar_post(job, search, fields, 1)]

    def parse_calendar(self, response: Response, slug: str, search: _Search, page: int) -> list[Any]:
        job = self.jobs[slug]
        if job.fatal:
            return []
        search.remember(response)
        doc = self._page(response, job)
        if isinstance(doc, list):
            return doc
        url = redact_url(response.url)
        try:
            found = parse_calendar_page(doc, self._base(job))
            check_calendar_year(found, search.shown)
            fields = form_fields(doc) if found.next_target else []
        except LayoutChanged as exc:
            if not search.bills:
                return self._lost(job, response.request, f"layout changed: {exc} at {url}")
            return self._layout(job, exc, response)
        except DataError as exc:
            if not search.bills:
                return self._lost(job, response.request, f"{exc} at {url}")
            job.fail(f"{slug}: {exc} at {url}")
            return []
        if found.page != page:
            message = f"asked for page {page} of the {search.year!r} calendar, got page {found.page} at {url}"
            if not search.bills:
                return self._lost(job, response.request, message)
            job.fail(f"{slug}: {message}")
            return []
        for problem in found.rejected:
            job.reject(f"{slug}: page {page} of the {search.year!r} calendar: {problem}")
        if found.rejected:
            search.broken = True  # a row that could not be read may be a meeting of the window
        search.rows += len(found.meetings) + len(found.rejected)
        today = datetime.now(UTC).astimezone(job.jurisdiction.zone).date()
        window = self._window[slug] if search.meets else None
        out: list[Any] = []
        for meeting in found.meetings:
            bills = search.first is not None and search.first <= meeting.date <= today
            meets = window is not None and window.first <= meeting.date <= window.last
            if not (bills or meets):
                continue
            key = meeting.event_id
            if meets:
                if key is None:
                    self._note(
                        job, f"{slug}: calendar: the meeting of {meeting.body!r} on {meeting.date} has no id"
                    )
                    search.broken = True
                else:
                    job.meetings_listed.add(key)
            if key is None or key in self._meetings[slug]:
                continue
            if meeting.source_id is None or meeting.guid is None:
                # not published (no meeting page): stored from the calendar, its agenda not read
                if meets:
                    self._meetings[slug].add(key)
                    out.append(self._stage(job, meeting, None))
                continue
            self._meetings[slug].add(key)
            out.append(
                self._meeting(
                    job, meeting.source_id, meeting.guid, bills=bills, cal=meeting if meets else None
                )
            )
        dates = [m.date for m in found.meetings]
        newest_first = all(a >= b for a, b in pairwise(dates))
        if (
            found.next_target
            and newest_first
            and dates
            and search.lower is not None
            and dates[-1] < search.lower
        ):
            # InSite lists the newest first: the next pages are older than the windows
            self._chain_done(job, search, complete=not search.broken)
            return out
        if found.next_target:
            out.append(self._calendar_post(job, search, postback(fields, found.next_target), page + 1))
            return out
        if search.rows != found.total:
            job.reject(
                f"{slug}: the {search.year!r} calendar announced {found.total} meetings but "
                f"{search.rows} were read (rows moved while paging?) at {url}"
            )
            search.broken = True
        self._chain_done(job, search, complete=not search.broken)
        return out

    def _chain_done(self, job: CrawlJob, search: _Search, *, complete: bool) -> None:
        """A calendar chain of the meetings window ended: when the last one ends and every one read its
        year completely, the window's listing is complete (meetings missing from it are gone)."""
        window = self._window[job.slug]
        if window is None or not search.meets or search.done:
            return
        search.done = True
        window.open -= 1
        window.complete = window.complete and complete
        if window.open == 0 and window.complete:
            job.meetings_window = window.bounds()

    def _warn(self, job: CrawlJob, message: str) -> None:
        """Meetings that could not be read: the bills' crawl goes on (partial, with this warning)."""
        message = message[:400]
        if len(job.warnings) < MAX_WARNINGS and message not in job.warnings:
            job.warnings.append(message)
        self.logger.warning("%s", message)

    def _lost(self, job: CrawlJob, request: Request | None, reason: str) -> list[Any]:
        """A request made only for the meetings failed for good: a meeting's page (the meeting is stored
        from its calendar row, its stored agenda kept) or a calendar chain (the window's listing is not
        complete: no meeting is marked gone). Never fails the bills' crawl."""
        search = request.cb_kwargs.get("search") if request is not None else None
        if request is not None and request.meta.get(ROLL_META) and isinstance(search, _Search):
            # the meeting is stored with the roll calls read and stored; this one is read again next time
            eid = search.cal.event_id if search.cal else search.year
            hid = request.cb_kwargs.get("history_id")
            self._warn(job, f"{job.slug}: meeting {eid}: the roll call of action {hid} not read: {reason}")
            return self._call_done(job, search)
        if request is not None and request.meta.get(PEOPLE_META):
            self._warn(job, f"{job.slug}: members not read: {reason}")
            return []
        if request is not None and request.meta.get(PERSON_META):
            # the member is stored by name as People.aspx lists them; their stored terms are kept
            member = request.cb_kwargs["member"]
            self._warn(job, f"{job.slug}: member {member.source_id}'s bodies and terms not read: {reason}")
            return self._member(job, member, read=False)
        if isinstance(search, _Search) and search.cal is not None:
            self._warn(job, f"{job.slug}: meeting {search.cal.event_id}'s agenda not read: {reason}")
            if search.done:
                return []
            search.done = True
            return [self._stage(job, search.cal, None)]
        self._warn(job, f"{job.slug}: meetings not read: {reason}")
        if isinstance(search, _Search):
            self._chain_done(job, search, complete=False)
        return []

    def _stage(self, job: CrawlJob, meeting: Meeting, agenda: _Search | None) -> dict[str, Any]:
        """The meeting's record, parsed in the pipeline (a bad one is rejected alone)."""
        j = self.jurisdiction(job)
        parse = partial(
            normalize_meeting,
            meeting,
            zone=j.timezone,
            base=self._base(job),
            slug=job.slug,
            statuses=agenda.statuses if agenda is not None else None,
            rows=agenda.agenda if agenda is not None else None,
            complete=agenda is not None and not agenda.broken,
            roll_calls=agenda.calls if agenda is not None else None,
            stored=job.known_votes,
            # what was read before stays read, whether or not this crawl read the agenda
            read={
                **read_stamp(job.known_meetings.get(meeting.event_id or "")),
                **(agenda.read if agenda is not None else {}),
            },
        )
        return {"slug": job.slug, "parse": parse, "record": "meeting", "source_id": meeting.event_id}

    def _meeting(
        self,
        job: CrawlJob,
        key: str,
        guid: str,
        search: _Search | None = None,
        fields: Any = None,
        page: int = 1,
        *,
        bills: bool = True,
        cal: Meeting | None = None,
    ) -> Request:
        url = meeting_url(self._base(job), key, guid)
        if search is None:
            search = _Search(key)
            search.cal = cal
        cb = {"slug": job.slug, "key": key, "guid": guid, "search": search, "page": page, "bills": bills}
        meta: dict[str, Any] = {"is_detail": True}
        if not bills:
            meta[MEETINGS_META] = True
        if fields is None:
            return self.request(
                job, url, self.parse_meeting, accept=None, meta=meta, priority=PRIORITY_MEETING, cb_kwargs=cb
            )
        return self.request(
            job,
            url,
            self.parse_meeting,
            request_class=FormRequest,
            accept=None,
            meta=meta,
            formdata=fields,
            headers=search.headers(),
            priority=PRIORITY_MEETING + 1,
            cb_kwargs=cb,
        )

    def parse_meeting(
        self,
        response: Response,
        slug: str,
        key: str,
        guid: str,
        search: _Search,
        page: int,
        bills: bool = True,
    ) -> list[Any]:
        job = self.jobs[slug]
        if job.fatal:
            return []
        search.remember(response)
        doc = self._page(response, job)
        if isinstance(doc, list):
            return doc
        url = redact_url(response.url)
        try:
            found = parse_meeting_page(doc, key) if bills else None
            agenda = parse_agenda(doc, key) if search.cal is not None else None
            listing = found or agenda
            assert listing is not None  # a meeting's page is read for its bills, its record or both
            fields = form_fields(doc) if listing.next_target else []
        except LayoutChanged as exc:
            if not bills:
                return self._lost(job, response.request, f"layout changed: {exc} at {url}")
            return self._layout(job, exc, response)
        except DataError as exc:
            if not bills:
                return self._lost(job, response.request, f"{exc} at {url}")
            job.reject(f"{slug}: {exc} at {url}")
            if search.cal is None or search.done:
                return []
            search.done = True  # the meeting is stored from its calendar row, its stored agenda kept
            return [self._stage(job, search.cal, None)]
        if listing.page != page:
            message = f"asked for page {page} of meeting {key}'s agenda, got page {listing.page} at {url}"
            if not bills:
                return self._lost(job, response.request, message)
            job.fail(f"{slug}: {message}")
            return []
        out: list[Any] = []
        if listing.next_target:
            out.append(
                self._meeting(
                    job, key, guid, search, postback(fields, listing.next_target), page + 1, bills=bills
                )
            )
        if agenda is not None:
            for problem in agenda.rejected:
                job.reject(f"{slug}: {problem} at {url}")
            search.agenda += agenda.rows
            search.statuses = agenda.statuses
            search.rows += len(agenda.rows) + len(agenda.rejected)
            search.broken = search.broken or bool(agenda.rejected)
            if not listing.next_target and search.cal is not None and not search.done:
                search.broken = search.broken or search.rows != agenda.total
                search.done = True
                out += self._roll_calls(job, search)
        if found is None:
            return out
        for problem in found.rejected:
            job.reject(f"{slug}: {problem} at {url}")
        for item in found.items:
            if item.source_id in self._queued[slug]:
                continue
            self._queued[slug].add(item.source_id)
            job.listed.add(item.source_id)
            listed = self._unfetched[slug].pop(item.source_id, None)
            stored = job.known.get(item.source_id)
            # its listed row's fingerprint; not listed: its row is as stored
            version = listed.fingerprint if listed is not None else stored[0] if stored else None
            if item.guid is None:
                out.append(self._gateway(job, item.source_id, optional=False))
                continue
            out.append(
                self._detail(
                    job,
                    item.source_id,
                    item.guid,
                    row_version=version,
                    identifier=item.identifier,
                    optional=False,
                )
            )
        return out

    # -- roll calls and members (docs/meetings.md, "Legistar web pages") -----------------------------
    def _roll_calls(self, job: CrawlJob, search: _Search) -> list[Any]:
        """A meeting whose agenda was read: its record staged now, or once the roll calls it still needs
        are read. An item's roll call is read (its ``HistoryDetail.aspx``, one request) only when the item
        is a bill's with a vote (an "Action details" link and an action or result), the bill's title is one
        the attachments' triage picks (a term of the matching rules, or an opaque title), and neither a roll
        call is stored for the item nor were these action details read before."""
        cal = search.cal
        assert cal is not None and cal.event_id is not None
        eid = cal.event_id
        before = read_stamp(job.known_meetings.get(eid))
        wanted = []
        for row, item in zip(search.agenda, agenda_items(search.agenda), strict=True):
            if not voted(row) or row.history is None:
                continue
            hid, guid = row.history
            if (eid, item.source_id) in job.known_votes or before.get(item.source_id) == hid:
                continue
            if not self._triage.needs_documents(row.title, row.cells.get("Name")):
                continue
            wanted.append((item.source_id, hid, guid))
        if not wanted:
            return [self._stage(job, cal, search)]
        search.left = len(wanted)
        return [
            self.request(
                job,
                history_url(self._base(job), hid, guid),
                self.parse_roll_call,
                accept=None,
                meta={MEETINGS_META: True, ROLL_META: True},
                priority=PRIORITY_MEETING,
                cb_kwargs={"slug": job.slug, "search": search, "item_id": item_id, "history_id": hid},
            )
            for item_id, hid, guid in wanted
        ]

    def _call_done(self, job: CrawlJob, search: _Search) -> list[Any]:
        search.left -= 1
        if search.left > 0 or search.cal is None:
            return []
        return [self._stage(job, search.cal, search)]

    def parse_roll_call(
        self, response: Response, slug: str, search: _Search, item_id: str, history_id: str
    ) -> list[Any]:
        job = self.jobs[slug]
        if job.fatal:
            return []
        call = self._meeting_page(response, job, lambda doc: parse_history_detail(doc, history_id))
        if isinstance(call, list):
            return call
        search.calls[item_id] = call
        search.read[item_id] = history_id
        return self._call_done(job, search)

    def _people(self, job: CrawlJob) -> list[Request]:
        """``People.aspx``, once, on the full crawls and sweeps of a crawl that stores meetings; then the
        ``PersonDetail.aspx`` page of each member it links, once each (their terms can change without the
        people list changing, and the stored terms are not dated: reading every listed member's page on each
        full crawl and sweep is the cheapest rule that keeps them current; incremental crawls read none)."""
        if self._window[job.slug] is None or job.mode not in ("full", "sweep"):
            return []
        return [
            self.request(
                job,
                f"{self._base(job)}/People.aspx",
                self.parse_people,
                accept=None,
                meta={MEETINGS_META: True, PEOPLE_META: True},
                priority=PRIORITY_MEETING,
                cb_kwargs={"slug": job.slug},
            )
        ]

    def parse_people(self, response: Response, slug: str) -> list[Any]:
        job = self.jobs[slug]
        if job.fatal:
            return []
        doc = self._page(response, job)
        if isinstance(doc, list):
            return doc
        url = redact_url(response.url)
        try:
            found = parse_people(doc)
        except (LayoutChanged, DataError) as exc:
            return self._lost(job, response.request, f"{exc} at {url}")
        for problem in found.rejected:
            job.reject(f"{slug}: {problem} at {url}")
        if found.pages > 1:
            self._warn(
                job,
                f"{slug}: members: {url} lists {found.total} people on {found.pages} pages; "
                "only the first page was read",
            )
        out: list[Any] = []
        for member in found.members:
            if member.source_id is None:
                out += self._member(job, member, read=False)
                continue
            out.append(
                self.request(
                    job,
                    person_url(self._base(job), member.source_id, found.guids.get(member.source_id)),
                    self.parse_person,
                    accept=None,
                    meta={MEETINGS_META: True, PERSON_META: True},
                    priority=PRIORITY_MEETING,
                    cb_kwargs={"slug": slug, "member": member},
                )
            )
        return out

    def parse_person(self, response: Response, slug: str, member: NormalizedMember) -> list[Any]:
        """A member's ``PersonDetail.aspx``: their memberships grid gives their bodies and terms."""
        job = self.jobs[slug]
        if job.fatal:
            return []
        found = self._meeting_page(response, job, lambda doc: parse_person_detail(doc, member))
        if isinstance(found, list):
            return found
        return self._member(job, found, read=True)

    @staticmethod
    def _member(job: CrawlJob, member: NormalizedMember, *, read: bool) -> list[Any]:
        """A member staged when it is new, or (its page read) when its terms differ from the stored ones.
        A member staged without terms keeps its stored terms (tracker.meetings.MeetingImporter)."""
        stored = job.known_members.get(name_key(member.name))
        if stored is None:
            return [{"slug": job.slug, "member": member}]
        terms = frozenset((t.body_name, t.title, t.start, t.end) for t in member.terms)
        if not read or not member.terms or terms == stored:
            return []
        return [{"slug": job.slug, "member": member}]

    # -- bills -----------------------------------------------------------------------------------------
    def parse_gateway(self, response: Response, slug: str, key: str, optional: bool) -> list[Any]:
        job = self.jobs[slug]
        if job.fatal:
            return []
        url = redact_url(response.url)
        if response.status != 302:
            message = f"{slug}: bill {key} has no public page ({url} does not lead to one)"
            if optional:
                self._note(job, message)
            else:
                job.reject(message)
            return []
        location = (response.headers.get(b"Location") or b"").decode("latin-1")
        target = urljoin(response.url, location)
        if "error.aspx" in urlsplit(target).path.lower():
            return self._again(
                response.request, job, f"the portal redirected to its error page (Error.aspx) from {url}"
            )
        found = detail_id(target)
        same_site = urlsplit(target).hostname == urlsplit(self._base(job)).hostname
        if found is None or found[0] != key or found[1] is None or not same_site:
            job.fail(
                f"{slug}: layout changed: {url} redirects to {redact_url(target)[:200]}, "
                f"not to bill {key}'s page"
            )
            return []
        job.listed.add(key)
        stored = job.known.get(key)
        return [
            self._detail(
                job,
                key,
                found[1],
                row_version=stored[0] if stored else None,  # not listed: its row is as stored
                identifier=None,
                optional=optional,
            )
        ]

    def parse_detail(
        self,
        response: Response,
        slug: str,
        key: str,
        guid: str,
        row_version: str | None,
        identifier: str | None,
        optional: bool,
    ) -> list[Any]:
        job = self.jobs[slug]
        if job.fatal:
            return []
        doc = self._page(response, job, optional=optional)
        if isinstance(doc, list):
            return doc
        j = job.jurisdiction
        try:
            bill = parse_detail(
                doc,
                source_id=key,
                guid=guid,
                base=self._base(job),
                slug=slug,
                stage_overrides=j.stages,
                row_version=row_version,
                listed_identifier=identifier,
            )
        except LayoutChanged as exc:
            return self._layout(job, exc, response)
        except DataError as exc:
            job.reject(f"{exc} at {redact_url(response.url)}")
            return []
        except Exception as exc:  # the parser fails on this one odd page: that bill alone is rejected
            problem = clean_text(f"{slug} bill {key}: could not be read ({type(exc).__name__}: {exc})") or ""
            problem = problem[:400]
            self.logger.warning("rejected: %s at %s", problem, redact_url(response.url))
            job.reject(f"{problem} at {redact_url(response.url)}")
            return []
        return [{"slug": slug, "bill": bill}]

    # -- failures --------------------------------------------------------------------------------------
    def on_error(self, failure: Failure) -> list[Any]:
        failed = self.failure(failure)
        request, job, response = failed.request, failed.job, failed.response
        url = redact_url(request.url)
        if response is not None and response.status in REDIRECTS:
            location = (response.headers.get(b"Location") or b"").decode("latin-1")
            if job is not None and "error.aspx" in location.lower():
                return self._again(
                    request, job, f"the portal redirected to its error page (Error.aspx) from {url}"
                )
            failed.detail = (
                f"unexpected redirect (HTTP {response.status}) to {redact_url(location)[:200]} from {url}"
            )
        if job is not None and request.meta.get(MEETINGS_META):
            return self._lost(job, request, failed.detail)
        gone = response is not None and response.status in (404, 410)
        if job is not None and gone and request.meta.get(OPTIONAL_META):
            self._note(job, f"{failed.slug}: tracked bill gone: {failed.detail}")
            return []
        if job is not None and request.meta.get("is_detail") and not request.meta.get(OPTIONAL_META):
            # a bill's page failed for good: that bill alone is left out (a changed layout still fails)
            return self.unread_matter(job, request.cb_kwargs.get("key"), failed.detail)
        self.fail_city(failed)
        return []
