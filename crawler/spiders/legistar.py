"""The Legistar Web API spider: one spider for every Legistar jurisdiction of a crawl.

Wire format (../shared/portal-samples/README.md): bare JSON arrays of at most 1000 rows, paged with
``$top``/``$skip`` under a stable ``$orderby``; a short page is the last one (``[crawl] page_size``).

Modes:

- ``full``: list every matter and fetch each one's histories, sponsors and attachments.
- ``incremental``: ask the API only for matters with any of several date fields after the watermark
  (``MatterLastModifiedUtc`` alone misses status changes and new agenda dates), then fetch those.
- ``sweep``: list every matter (one request per thousand) and fetch the ones whose status or row version
  differ from what is stored, or whose dates moved past the watermark. It catches the changes that leave
  every date untouched, and lets the import mark matters that left the portal as vanished.

Meetings (docs/meetings.md, "Legistar Web API"), in every mode but ``track``, in shard 0 only: the events
of the window (``[crawl] meetings_back_days`` before the city's local today to ``meetings_ahead_days``
after it, paged like matters), each listed event's items unless the event is unchanged since the crawl
that read them (:func:`~tracker.platforms.legistar.event_stamp`), the roll calls of the items of held
meetings that have none stored (or whose tally changed), and the office records once. A failed or garbage
answer for any of them never fails the bills: it adds a line to ``job.warnings`` (the crawl is partial), and
a listing not read completely leaves ``job.meetings_window`` None, so no stored meeting is marked gone.

The spider only makes the requests: each matter's payloads are staged with the parser that reads them
(tracker/platforms/legistar.py ``bill_of`` / ``attachments_of`` / ``meeting_of`` / ``member_of``), which the
stage pipeline runs, so that a parser's error on one record rejects that record alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.attachments import TitleTriage
from crawler.handlers import TOKEN_ENV_META
from crawler.jobs import CrawlJob
from crawler.middlewares import JSON_META
from crawler.spiders.base import PortalSpider
from tracker.contract import name_key
from tracker.errors import DataError
from tracker.platforms.legistar import (
    Settings,
    attachments_of,
    bill_of,
    bill_without_sponsors,
    event_held,
    event_stamp,
    events_window,
    group_office_records,
    meeting_of,
    member_of,
)
from tracker.sanitize import clean_text

# Date fields ORed into the incremental filter (python-legistar-scraper does the same); local dates are
# compared with the watermark's local calendar date, the UTC stamp with the UTC instant.
LOCAL_DATE_FIELDS = ("MatterIntroDate", "MatterAgendaDate", "MatterPassedDate", "MatterEnactmentDate")
UTC_FIELDS = ("MatterLastModifiedUtc",)

PRIORITY_PAGE = 100  # pages first, so the queue of matters to fetch fills early
PRIORITY_SUB = {"histories": 1, "sponsors": 2, "attachments": 3}  # finish started matters first
PRIORITY_MEETINGS = 50  # the meetings' listing pages; their items and roll calls at 0
MEETINGS_META = "legistar_meetings"  # what a meetings request reads (its failure is a warning)
_KEEP_WARNINGS = 20


@dataclass
class _Meetings:
    """What the crawl of one city read of its meetings so far."""

    window: tuple[datetime, datetime]
    first_day: str
    after_day: str
    complete: bool = True  # every listing page read, every row valid
    unchanged: int = 0  # listed meetings whose items were not read again
    seen: set[str] = field(default_factory=set)
    office_records: list[Any] = field(default_factory=list)
    # the ids the listing pages gave so far (a page that gives none new: the portal ignores $skip)
    paged_events: set[str] = field(default_factory=set)
    office_record_ids: set[str] = field(default_factory=set)


@dataclass
class _RollCalls:
    """One meeting's items waiting for the roll calls being read."""

    event: dict[str, Any]
    items: list[Any]
    stamp: str | None
    votes: dict[str, Any]
    left: int
    complete: bool = True


def _odata_datetime(dt: datetime) -> str:
    return "datetime'" + dt.strftime("%Y-%m-%dT%H:%M:%S") + "'"


def incremental_filter(since: datetime, zone: Any) -> str:
    utc = since.astimezone(UTC)
    local_day = since.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    terms = [f"{f} gt {_odata_datetime(utc)}" for f in UTC_FIELDS]
    terms += [f"{f} ge {_odata_datetime(local_day)}" for f in LOCAL_DATE_FIELDS]
    return " or ".join(terms)


def _repeats(rows: list[Any], key: str, seen: set[str]) -> bool:
    """Whether a full listing page gives no id the earlier pages did not (a portal that ignores ``$skip``
    answers its first page for every one); the ids it gives join ``seen``. A page with no valid id at all
    is left to the record checks."""
    ids = {
        str(v)
        for r in rows
        if isinstance(r, dict) and isinstance(v := r.get(key), int) and not isinstance(v, bool)
    }
    if ids and ids <= seen:
        return True
    seen |= ids
    return False


def _query(params: list[tuple[str, str | int]]) -> str:
    return "&".join(f"{k}={quote(str(v), safe=chr(39) + '(),:')}" for k, v in params)


class LegistarApiSpider(PortalSpider[Settings]):
    name = "legistar"
    message_keys = ("Message",)  # Legistar puts its error text in a JSON ``Message`` field

    def __init__(self, jobs: list[CrawlJob], **kwargs: Any) -> None:
        super().__init__(jobs, **kwargs)
        self._meetings: dict[str, _Meetings] = {}  # by slug: what the crawl read of the city's meetings
        self._triage = TitleTriage()  # which titles need their attachment lists now (full crawls)
        self._paged: dict[str, set[str]] = {}  # by slug: the MatterIds the listing pages gave so far

    # -- requests -------------------------------------------------------------------------------------
    def _request(self, job: CrawlJob, url: str, expect: str, callback: Any, **kw: Any) -> Request:
        token_env = job.jurisdiction.token_env
        meta = {TOKEN_ENV_META: token_env} if token_env else {}
        meta.update(kw.pop("meta", None) or {})
        return self.request(job, url, callback, expect=expect, meta=meta or None, **kw)

    def _matters_url(self, job: CrawlJob, skip: int) -> str:
        j = self.jurisdiction(job)
        params: list[tuple[str, str | int]] = []
        if job.mode == "incremental":
            assert job.since is not None
            params.append(("$filter", incremental_filter(job.since, j.zone)))
        # Newest first, so the attachments budget goes to the matters that matter now.
        params += [("$orderby", "MatterId desc"), ("$top", job.settings.page_size), ("$skip", skip)]
        return f"{j.api_base}/{j.client}/matters?{_query(params)}"

    def _page(self, job: CrawlJob, skip: int) -> Request:
        return self._request(
            job,
            self._matters_url(job, skip),
            "list",
            self.parse_matters,
            priority=PRIORITY_PAGE,
            cb_kwargs={"slug": job.slug, "skip": skip},
        )

    def _sub(self, job: CrawlJob, matter: dict[str, Any], what: str, **cb: Any) -> Request:
        j = self.jurisdiction(job)
        url = f"{j.api_base}/{j.client}/matters/{matter['MatterId']}/{what}"
        callback = getattr(self, f"parse_{what}")
        return self._request(
            job,
            url,
            "list",
            callback,
            priority=PRIORITY_SUB[what],
            cb_kwargs={"slug": job.slug, "matter": matter, **cb},
        )

    def _matter(self, job: CrawlJob, key: str, *, optional: bool) -> Request:
        """One matter by id: a bill tracked by link. ``optional``: a tracked bill fetched by an
        incremental crawl; if it is gone (404), the crawl goes on and says so."""
        j = self.jurisdiction(job)
        return self._request(
            job,
            f"{j.api_base}/{j.client}/matters/{quote(key)}",
            "object",
            self.parse_matter,
            optional=optional,
            priority=PRIORITY_PAGE - 1,
            cb_kwargs={"slug": job.slug, "key": key},
        )

    async def start(self) -> AsyncIterator[Request]:
        for job in self.jobs.values():
            if job.fatal is not None:
                continue
            if job.mode == "track":
                for key in sorted(job.only):
                    yield self._matter(job, key, optional=False)
                continue
            yield self._page(job, 0)
            for request in self._start_meetings(job):
                yield request
            if job.mode == "incremental":
                # Tracked bills are fetched whatever their dates (full crawls and sweeps list them anyway).
                for key in sorted(job.tracked):
                    yield self._matter(job, key, optional=True)

    # -- callbacks -------------------------------------------------------------------------------------
    def parse_matter(self, response: Response, slug: str, key: str) -> list[Request]:
        job = self.jobs[slug]
        matter: dict[str, Any] = response.meta[JSON_META]
        if str(matter.get("MatterId")) != key:
            job.reject(f"{slug}: matter {key} answered with MatterId {matter.get('MatterId')!r}")
            return []
        if key in job.listed:
            return []  # also on a listing page of this crawl: fetched from there
        if matter.get("MatterRestrictViewViaWeb") is True:
            job.skipped_restricted += 1
            return []
        job.listed.add(key)
        job.fetched += 1
        return [self._sub(job, matter, "histories", with_attachments=job.take_attachment_slot(), probe=False)]

    # Callbacks return lists, not generators: Scrapy inspects the source of every generator callback it
    # calls (to warn about `return` values), which costs more than the callback itself.
    def parse_matters(self, response: Response, slug: str, skip: int) -> list[Request]:
        job = self.jobs[slug]
        rows: list[dict[str, Any]] = response.meta[JSON_META]
        out: list[Request] = []
        if len(rows) >= job.settings.page_size:
            if _repeats(rows, "MatterId", self._paged.setdefault(slug, set())):
                # a portal that ignores $skip answers the first page again and again: without this the
                # crawl would page on until its time limit, holding up every other city of the run
                message = (
                    f"{slug}: the matters listing repeats itself at $skip={skip} (every matter on the page "
                    "was listed already): the portal ignores $skip, so the listing cannot be read"
                )
                job.fail(message)
                if job.shard[0] == 0:  # every process of a split crawl reads the listing: one line
                    self.logger.error("%s", message)
                return []
            out.append(self._page(job, skip + len(rows)))
        for matter in rows:
            mid = matter.get("MatterId")
            if isinstance(mid, bool) or not isinstance(mid, int):
                job.reject(f"{slug}: a matter on page skip={skip} has no valid MatterId ({mid!r})")
                continue
            key = str(mid)
            if key in job.listed:
                continue  # pages shifted under us: already handled
            if matter.get("MatterRestrictViewViaWeb") is True:
                job.skipped_restricted += 1
                continue
            job.listed.add(key)
            if not job.owns(key):
                continue  # another worker process of this crawl fetches it
            wanted = self._wanted(job, key, matter)
            if wanted:
                job.fetched += 1
                with_attachments, with_sponsors = self._subresources_now(job, matter)
                out.append(
                    self._sub(
                        job,
                        matter,
                        "histories",
                        with_attachments=with_attachments,
                        probe=wanted == "probe",
                        with_sponsors=with_sponsors,
                    )
                )
            elif key in job.attachments_pending and job.take_attachment_slot():
                out.append(self._sub(job, matter, "attachments", only_attachments=True))
        return out

    def _subresources_now(self, job: CrawlJob, matter: dict[str, Any]) -> tuple[bool, bool]:
        """Whether a fetched matter's attachment list, and its sponsors, are fetched with it.

        The attachments budget is spent in listing order, i.e. newest matters first; in a full crawl with
        ``attachments_by_title``, only on titles that may need their documents (crawler/attachments.py):
        the others join the backlog the sweeps work off. A backfill with ``sponsors_by_title``
        (``job.defer_sponsors``) leaves the sponsors of those other titles to the sweeps too."""
        by_title = job.mode == "full" and (job.settings.attachments_by_title or job.defer_sponsors)
        needs = True
        if by_title:
            title, name = matter.get("MatterTitle"), matter.get("MatterName")
            needs = self._triage.needs_documents(
                title if isinstance(title, str) else None, name if isinstance(name, str) else None
            )
        if not needs and job.settings.attachments_by_title:
            with_attachments = False
        else:
            with_attachments = job.take_attachment_slot()
        return with_attachments, needs or with_attachments or not job.defer_sponsors

    def _wanted(self, job: CrawlJob, key: str, matter: dict[str, Any]) -> str | None:
        """Whether to fetch a listed matter's histories, sponsors and attachments: "fetch", "probe" or None.

        A full crawl fetches everything. Incremental crawls and sweeps fetch a matter that is new or whose
        row version or status differs from what is stored (the row version moves with every change of the
        matter's row, even when Legistar leaves MatterLastModifiedUtc alone). A quiet matter with an
        intro, agenda, passed or enactment date inside the watermark window may have new history rows that
        touched nothing else: its histories are *probed* (one request), and only new ids lead on to the
        rest. A date in the future alone (an agenda set for next month) counts for nothing.
        """
        if job.mode == "full":
            return "fetch"
        row_version = matter.get("MatterRowVersion")
        stored = job.known.get(key)
        if stored is None or stored != (row_version, clean_text(matter.get("MatterStatusName"))):
            return "fetch"
        if key in job.sponsors_pending and job.take_sponsors_slot():
            return "fetch"  # a sweep works off the sponsors backlog of a backfill, newest first
        if row_version is None and self._recent(job, matter, UTC_FIELDS):
            return "fetch"  # no row version to trust: a recent modification stamp decides
        return "probe" if self._recent(job, matter, LOCAL_DATE_FIELDS) else None

    @staticmethod
    def _recent(job: CrawlJob, matter: dict[str, Any], fields: tuple[str, ...]) -> bool:
        """Whether one of ``fields`` lies in the watermark window (up to now, not in the future)."""
        if job.since is None:
            return True
        now = datetime.now(UTC)
        if fields is UTC_FIELDS:
            low = job.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
            high = now.strftime("%Y-%m-%dT%H:%M:%S")
            return any(isinstance(v, str) and low < v[:19] <= high for v in map(matter.get, fields))
        first_day = job.since.astimezone(job.jurisdiction.zone).strftime("%Y-%m-%d")
        today = now.astimezone(job.jurisdiction.zone).strftime("%Y-%m-%d")
        return any(isinstance(v, str) and first_day <= v[:10] <= today for v in map(matter.get, fields))

    def parse_histories(
        self,
        response: Response,
        slug: str,
        matter: dict[str, Any],
        with_attachments: bool,
        probe: bool,
        with_sponsors: bool = True,
    ) -> list[Request | dict[str, Any]]:
        job = self.jobs[slug]
        if probe:
            ids = frozenset(str(row.get("MatterHistoryId")) for row in response.meta[JSON_META])
            if ids == job.known_actions.get(str(matter["MatterId"]), frozenset()):
                job.probed_unchanged += 1
                return []  # nothing new: the stored bill stands
        if not with_sponsors:
            # A backfill's bill whose title needs no documents: stored now, its sponsors and attachment
            # list join the backlogs the sweeps work off.
            return [self._item(job, matter, bill_without_sponsors, response.meta[JSON_META])]
        return [
            self._sub(
                self.jobs[slug],
                matter,
                "sponsors",
                histories=response.meta[JSON_META],
                with_attachments=with_attachments,
            )
        ]

    def parse_sponsors(
        self,
        response: Response,
        slug: str,
        matter: dict[str, Any],
        histories: list[Any],
        with_attachments: bool,
    ) -> list[Request | dict[str, Any]]:
        job = self.jobs[slug]
        sponsors = response.meta[JSON_META]
        if with_attachments:
            return [self._sub(job, matter, "attachments", histories=histories, sponsors=sponsors)]
        # Over the budget: the bill is stored now, its attachments join the backlog.
        return [self._item(job, matter, bill_of, histories, sponsors, None)]

    def parse_attachments(
        self,
        response: Response,
        slug: str,
        matter: dict[str, Any],
        histories: list[Any] | None = None,
        sponsors: list[Any] | None = None,
        only_attachments: bool = False,
    ) -> list[dict[str, Any]]:
        job = self.jobs[slug]
        if only_attachments:
            return [self._item(job, matter, attachments_of, response.meta[JSON_META])]
        return [self._item(job, matter, bill_of, histories, sponsors, response.meta[JSON_META])]

    @staticmethod
    def _item(job: CrawlJob, matter: dict[str, Any], parse: Any, *payloads: Any) -> dict[str, Any]:
        """A matter's raw payloads, parsed by the pipeline (so that a parser's error rejects this record)."""
        return {
            "slug": job.slug,
            "record": "matter",
            "source_id": matter.get("MatterId"),
            "parse": partial(parse, job.jurisdiction, matter, *payloads),
        }

    # -- meetings ---------------------------------------------------------------------------------------
    def _start_meetings(self, job: CrawlJob) -> list[Request]:
        s = job.settings
        if job.shard[0] != 0 or (s.meetings_ahead_days == 0 and s.meetings_back_days == 0):
            return []
        zone = job.jurisdiction.zone
        first, after = events_window(zone, job.started_at, s.meetings_back_days, s.meetings_ahead_days)
        # every start on the window's local days (a second before the next day's midnight at the latest)
        start = datetime.combine(first, time(0, 0), tzinfo=zone)
        end = datetime.combine(after, time(0, 0), tzinfo=zone) - timedelta(seconds=1)
        self._meetings[job.slug] = _Meetings(
            window=(start.astimezone(UTC), end.astimezone(UTC)),
            first_day=first.isoformat() + "T00:00:00",
            after_day=after.isoformat() + "T00:00:00",
        )
        return [self._events_page(job, 0), self._office_records_page(job, 0)]

    def _meeting_request(
        self,
        job: CrawlJob,
        what: str,
        path: str,
        params: list[tuple[str, str | int]],
        callback: Any,
        **kw: Any,
    ) -> Request:
        j = self.jurisdiction(job)
        query = f"?{_query(params)}" if params else ""
        return self._request(
            job, f"{j.api_base}/{j.client}/{path}{query}", "list", callback, meta={MEETINGS_META: what}, **kw
        )

    def _events_page(self, job: CrawlJob, skip: int) -> Request:
        read = self._meetings[job.slug]
        params: list[tuple[str, str | int]] = [
            (
                "$filter",
                f"EventDate ge datetime'{read.first_day}' and EventDate lt datetime'{read.after_day}'",
            ),
            ("$orderby", "EventId"),
            ("$top", job.settings.page_size),
            ("$skip", skip),
        ]
        return self._meeting_request(
            job,
            "events",
            "events",
            params,
            self.parse_events,
            priority=PRIORITY_MEETINGS,
            cb_kwargs={"slug": job.slug, "skip": skip},
        )

    def _office_records_page(self, job: CrawlJob, skip: int) -> Request:
        read = self._meetings[job.slug]
        params: list[tuple[str, str | int]] = [
            ("$filter", f"OfficeRecordEndDate ge datetime'{read.first_day}'"),
            ("$orderby", "OfficeRecordId"),
            ("$top", job.settings.page_size),
            ("$skip", skip),
        ]
        return self._meeting_request(
            job,
            "officerecords",
            "officerecords",
            params,
            self.parse_office_records,
            priority=PRIORITY_MEETINGS,
            cb_kwargs={"slug": job.slug, "skip": skip},
        )

    def _held(self, job: CrawlJob, event: dict[str, Any]) -> bool:
        try:
            return event_held(job.jurisdiction.zone, event, job.slug, job.started_at)
        except DataError:
            return False  # the parser rejects the event when it is staged

    def parse_events(self, response: Response, slug: str, skip: int) -> list[Request | dict[str, Any]]:
        job = self.jobs[slug]
        read = self._meetings[slug]
        rows: list[dict[str, Any]] = response.meta[JSON_META]
        out: list[Request | dict[str, Any]] = []
        last = len(rows) < job.settings.page_size
        if not last and _repeats(rows, "EventId", read.paged_events):
            read.complete = False  # no stored meeting is marked gone
            self._warn(
                job, f"meetings not read completely: the events listing repeats itself at $skip={skip}"
            )
            return []
        if not last:
            out.append(self._events_page(job, skip + len(rows)))
        for event in rows:
            eid = event.get("EventId")
            if isinstance(eid, bool) or not isinstance(eid, int):
                job.reject(f"{slug}: an event on page skip={skip} has no valid EventId ({eid!r:.40})")
                read.complete = False  # a stored meeting may hide behind it: none is marked gone
                continue
            key = str(eid)
            if key in read.seen:
                continue  # pages shifted under us: already handled
            read.seen.add(key)
            job.meetings_listed.add(key)
            stamp = event_stamp(event, self._held(job, event))
            if stamp is not None and job.known_meetings.get(key) == stamp:
                read.unchanged += 1  # nothing of it changed since its items were read
                continue
            out.append(
                self._meeting_request(
                    job,
                    "eventitems",
                    f"events/{eid}/eventitems",
                    [("AgendaNote", 1), ("MinutesNote", 1)],
                    self.parse_event_items,
                    cb_kwargs={"slug": slug, "event": event, "stamp": stamp},
                )
            )
        if last:
            self.logger.info(
                "%s: %d meetings listed, %d unchanged since their items were read%s",
                slug,
                len(read.seen),
                read.unchanged,
                "" if read.complete else " (the listing was not read completely)",
            )
            if read.complete:
                job.meetings_window = read.window
        return out

    def parse_event_items(
        self, response: Response, slug: str, event: dict[str, Any], stamp: str | None
    ) -> list[Request | dict[str, Any]]:
        job = self.jobs[slug]
        items: list[Any] = response.meta[JSON_META]
        eid = str(event["EventId"])
        votes: dict[str, Any] = {}
        wanted: list[str] = []
        if self._held(job, event):
            for row in items:
                iid = row.get("EventItemId")
                if row.get("EventItemRollCallFlag") != 1 or isinstance(iid, bool) or not isinstance(iid, int):
                    continue
                known = job.known_votes.get((eid, str(iid)))
                if known is not None and known[1] and known[0] == clean_text(row.get("EventItemTally")):
                    votes[str(iid)] = known[1]  # read before, and the tally is the same
                else:
                    wanted.append(str(iid))
        if not wanted:
            return [self._meeting_item(job, event, items, votes, stamp)]
        calls = _RollCalls(event=event, items=items, stamp=stamp, votes=votes, left=len(wanted))
        return [
            self._meeting_request(
                job,
                "votes",
                f"eventitems/{iid}/votes",
                [],
                self.parse_votes,
                cb_kwargs={"slug": slug, "calls": calls, "item_id": iid},
            )
            for iid in wanted
        ]

    def parse_votes(
        self, response: Response, slug: str, calls: _RollCalls, item_id: str
    ) -> list[dict[str, Any]]:
        calls.votes[item_id] = response.meta[JSON_META]
        return self._roll_call_done(self.jobs[slug], calls)

    def _roll_call_done(self, job: CrawlJob, calls: _RollCalls) -> list[dict[str, Any]]:
        calls.left -= 1
        if calls.left > 0:
            return []
        stamp = calls.stamp if calls.complete else None  # a roll call not read: the next crawl reads it
        return [self._meeting_item(job, calls.event, calls.items, calls.votes, stamp)]

    def _meeting_item(
        self,
        job: CrawlJob,
        event: dict[str, Any],
        items: list[Any] | None,
        votes: dict[str, Any],
        stamp: str | None,
    ) -> dict[str, Any]:
        """A meeting's raw payloads, parsed by the pipeline (a parser's error rejects this meeting alone)."""
        return {
            "slug": job.slug,
            "record": "meeting",
            "source_id": event.get("EventId"),
            "parse": partial(meeting_of, self.jurisdiction(job), event, items, votes, stamp),
        }

    def parse_office_records(
        self, response: Response, slug: str, skip: int
    ) -> list[Request | dict[str, Any]]:
        job = self.jobs[slug]
        read = self._meetings[slug]
        rows: list[Any] = response.meta[JSON_META]
        if len(rows) >= job.settings.page_size and _repeats(rows, "OfficeRecordId", read.office_record_ids):
            self._warn(job, f"members not read: the office records listing repeats itself at $skip={skip}")
            return []
        read.office_records.extend(rows)
        if len(rows) >= job.settings.page_size:
            return [self._office_records_page(job, skip + len(rows))]
        out: list[Request | dict[str, Any]] = []
        for group in group_office_records(read.office_records):
            parse = partial(member_of, self.jurisdiction(job), group)
            try:
                member = parse()
            except DataError:
                member = None  # staged to be rejected by the pipeline, named
            if member is not None:
                terms = frozenset((t.body_name, t.title, t.start, t.end) for t in member.terms)
                if job.known_members.get(name_key(member.name)) == terms:
                    continue  # stored with the same terms
            out.append(
                {
                    "slug": slug,
                    "record": "member",
                    "source_id": next((r.get("OfficeRecordId") for r in group if isinstance(r, dict)), None),
                    "parse": parse,
                }
            )
        return out

    def on_error(self, failure: Failure) -> list[Any]:
        what = failure.request.meta.get(MEETINGS_META)  # type: ignore[attr-defined]  # set on an errback's failure
        matter = failure.request.cb_kwargs.get("matter")  # type: ignore[attr-defined]
        if what is None and isinstance(matter, dict):
            # One matter's histories, sponsors or attachment list failed for good (an error answer, a
            # redirect, garbage, no answer after the retries): that bill is kept as stored and named, the
            # others are imported, and the crawl is partial (the watermark stays, so the next crawl asks
            # again). Until 2026-12-07 it failed the whole city's crawl, every time.
            failed = self.failure(failure)
            if failed.job is None:
                return []
            return self.unread_matter(failed.job, matter.get("MatterId"), failed.detail)
        if what is None:
            return super().on_error(failure)
        failed = self.failure(failure)
        job = failed.job
        if job is None:
            return []
        kw = failed.request.cb_kwargs
        read = self._meetings.get(job.slug)
        if what == "events" and read is not None:
            read.complete = False  # the listing was not read: no stored meeting is marked gone
            self._warn(job, f"meetings not read completely: {failed.detail}")
            return []
        if what == "officerecords":
            self._warn(job, f"members not read: {failed.detail}")
            return []
        if what == "eventitems":
            self._warn(job, f"agenda items of a meeting not read: {failed.detail}")
            # the meeting as listed, with its stored items left as they are
            return [self._meeting_item(job, kw["event"], None, {}, None)]
        self._warn(job, f"a roll call not read: {failed.detail}")
        calls: _RollCalls = kw["calls"]
        calls.complete = False
        known = job.known_votes.get((str(calls.event["EventId"]), kw["item_id"]))
        if known is not None and known[1]:
            calls.votes[kw["item_id"]] = known[1]  # the stored roll call stands
        return self._roll_call_done(job, calls)

    def _warn(self, job: CrawlJob, message: str) -> None:
        self.logger.warning("%s: %s", job.slug, message)
        if message not in job.warnings and len(job.warnings) < _KEEP_WARNINGS:
            job.warnings.append(message)
