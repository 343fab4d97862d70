"""The Chicago eLMS spider: one spider for every eLMS jurisdiction of a crawl (docs/platform-elms.md).

Wire format (../shared/portal-samples/README.md, "Chicago eLMS"):
``GET /matter?filter=...&sort=...&top=N&skip=N`` answers the envelope ``{"facets", "data", "meta": {skip,
top, count, pages}}`` whose rows leave ``actions``, ``sponsors`` and ``attachments`` null;
``GET /matter/{matterId}`` answers one matter with all three. So a crawl pages through the list (one page at
a time, until ``meta.count``) and fetches the detail of each matter it wants. The API refuses a ``skip`` past
``max_offset`` (100000): the listing then restarts at ``skip=0`` with a cursor condition on its sort field
(``recordCreateDate``), as scrapers-us-municipal chicago/base.py does.

Modes:

- ``full``: list every matter and fetch each one.
- ``incremental``: list only matters with an action, an introduction, a final action or a record created after
  the watermark, and fetch each one; bills tracked by link are fetched whatever their dates.
- ``sweep``: list every matter and fetch those that are new, or whose ``status`` or ``lastPublicationDate``
  differs from what is stored; the import marks matters no longer listed as vanished.
- ``track``: fetch exactly the matters of ``job.only``.

Meetings (docs/meetings.md, every mode but ``track``, shard 0 of a sharded crawl): ``GET /meeting?filter=date
ge {start} and date lt {end}&sort=date asc&top=N&skip=N``, the same envelope, paged the same way, over the
window of ``[crawl] meetings_back_days`` back and ``meetings_ahead_days`` ahead of the city's local today. A
meetings listing that fails or is not the envelope is a warning (the crawl is partial, its bills are stored,
no stored meeting is marked as gone); the window is recorded only when every page was read. The listing's
``agenda`` is null: each meeting of the window is read again with ``GET /meeting-agenda/{meetingId}`` (one
request per meeting) for its agenda items, unless it is listed with the stamp it had when its items were read
(:func:`~tracker.platforms.elms.meeting_stamp`; a held meeting whose items were read after it was held is
not read again). A failed or garbage agenda answer is a warning: that meeting is stored as listed, its stored
items left as they are.

Roll calls (docs/meetings.md, "Chicago eLMS"): a matter's actions carry them (``votes[]``, the action naming
its ``meetingId``). The agenda requests are held until the spider is first idle (every matter read), then
each meeting is staged with the roll calls of the matters fetched on its items; a meeting of the window not
read again whose roll call came with a matter of this crawl is read once more for it.

Split crawls (a full crawl over ``[crawl] processes``): every shard lists every matter page and fetches the
matters it owns (``CrawlJob.owns``); shard 0 alone reads meetings. Another shard stages each roll call of its
matters as a part of its meeting (:func:`~tracker.platforms.elms.roll_call_part`), which the import folds into
the meeting shard 0 staged (:func:`tracker.meetings.merge_parts`): no request is added.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.jobs import CrawlJob
from crawler.middlewares import JSON_META
from crawler.spiders.base import PortalSpider
from tracker.contract import NormalizedMeeting
from tracker.errors import DataError, PortalError
from tracker.platforms.agenda import local_window
from tracker.platforms.elms import (
    RollCall,
    Settings,
    detail_url,
    instant,
    meeting_agenda_url,
    meeting_id,
    meeting_stamp,
    meetings_filter,
    normalize_matter,
    normalize_meeting,
    parse_envelope,
    read_agenda,
    roll_call_part,
    roll_calls,
    with_agenda,
    with_roll_calls,
)
from tracker.platforms.legistar import ITEMS_STAMP_KEY
from tracker.redact import redact_url
from tracker.sanitize import clean_text

SORT_FIELD = "recordCreateDate"
SORT = f"{SORT_FIELD} asc"
# What an incremental crawl asks for (scrapers-us-municipal chicago/bills.py ORs the first three; the
# final action date is one of the API's filter fields too).
INCREMENTAL_TERMS = (
    "actions/any(a: a/actionDate gt {since})",
    "introductionDate gt {since}",
    "recordCreateDate gt {since}",
    "finalActionDate gt {since}",
)

PRIORITY_PAGE = 100  # the next page first, so the listing goes on while details are fetched
MEETINGS_META = "elms_meetings"  # a request of the meetings listing: its failure is a warning, not fatal
MEETINGS_SORT = "date asc"
AGENDA_META = "elms_agenda"  # a meeting's agenda: its failure is a warning, the meeting is stored as listed
_KEEP_WARNINGS = 20

Window = tuple[datetime, datetime]


def incremental_filter(since: datetime) -> str:
    stamp = since.astimezone(UTC).isoformat(timespec="seconds")
    return " or ".join(term.format(since=stamp) for term in INCREMENTAL_TERMS)


def list_filter(base: str | None, cursor: str | None) -> str | None:
    """The ``filter`` of a list request: the mode's own, and past the offset limit the cursor condition."""
    if cursor is None:
        return base
    after = f"{SORT_FIELD} gt {cursor} or {SORT_FIELD} eq {cursor}"
    return f"({base}) and ({after})" if base else after


def _query(params: list[tuple[str, str | int]]) -> str:
    return "&".join(f"{k}={quote(str(v), safe='(),:/')}" for k, v in params)


class ElmsSpider(PortalSpider[Settings]):
    name = "elms"
    message_keys = ("message", "title", "Message", "error")

    def __init__(self, jobs: list[CrawlJob], **kwargs: Any) -> None:
        super().__init__(jobs, **kwargs)
        # per city: the meetings staged (a row listed on two pages is staged once), and whether a row
        # without an id made the listing incomplete
        self.meetings_seen: dict[str, set[str]] = {}
        self.meetings_incomplete: set[str] = set()
        # per city: meetings listed with the stamp their items were read with (not read again)
        self.meetings_unchanged: dict[str, int] = {}
        # per city: the roll calls on the matters fetched, by meeting id; the agenda reads held until every
        # matter is read (the spider's first idle), so each meeting is staged with its roll calls; the
        # meetings of the window listed and not read again
        self.roll_calls: dict[str, dict[str, list[RollCall]]] = {}
        self.held: list[Request] = []
        self.agenda_asked: dict[str, set[str]] = {}
        self.not_reread: dict[str, dict[str, tuple[NormalizedMeeting, str]]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ElmsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider

    def on_idle(self) -> None:
        """Every matter is read: the held agenda reads go out, and a meeting not read again whose roll call
        came with a matter of this crawl is read again (once) to be staged with it."""
        held, self.held = self.held, []
        for slug, meetings in self.not_reread.items():
            calls = self.roll_calls.get(slug, {})
            for mid, (record, stamp) in sorted(meetings.items()):
                if mid in calls and mid not in self.agenda_asked.setdefault(slug, set()):
                    held.append(self._agenda_request(self.jobs[slug], record, stamp))
        self.not_reread = {}
        if not held:
            return
        assert self.crawler.engine is not None
        for request in held:
            self.crawler.engine.crawl(request)
        raise DontCloseSpider

    # -- requests -------------------------------------------------------------------------------------
    def _request(self, job: CrawlJob, url: str, expect: str, callback: Any, **kw: Any) -> Request:
        return self.request(job, url, callback, expect=expect, **kw)

    def _page(self, job: CrawlJob, skip: int, cursor: str | None) -> Request:
        j = self.jurisdiction(job)
        base = None
        if job.mode == "incremental":
            assert job.since is not None
            base = incremental_filter(job.since)
        params: list[tuple[str, str | int]] = []
        condition = list_filter(base, cursor)
        if condition:
            params.append(("filter", condition))
        params += [("sort", SORT), ("top", j.page_size), ("skip", skip)]
        return self._request(
            job,
            f"{j.api_base}/matter?{_query(params)}",
            "object",
            self.parse_page,
            priority=PRIORITY_PAGE,
            cb_kwargs={"slug": job.slug, "skip": skip, "cursor": cursor},
        )

    def _detail(self, job: CrawlJob, key: str, origin: str) -> Request:
        """One matter: ``origin`` is "listed" (claimed from a list page), "tracked" (a bill tracked by link,
        fetched by an incremental crawl; gone is not fatal) or "track" (a track crawl)."""
        j = self.jurisdiction(job)
        return self._request(
            job,
            detail_url(j.api_base, key),
            "object",
            self.parse_detail,
            optional=origin == "tracked",
            cb_kwargs={"slug": job.slug, "key": key, "origin": origin},
        )

    def meetings_window(self, job: CrawlJob) -> Window:
        """From ``meetings_back_days`` before the city's local today to ``meetings_ahead_days`` after it."""
        zone = self.jurisdiction(job).zone
        today = datetime.now(zone).date()
        first = today - timedelta(days=job.settings.meetings_back_days)
        return local_window(first, today + timedelta(days=job.settings.meetings_ahead_days), zone)

    def _meetings_page(self, job: CrawlJob, skip: int, window: Window) -> Request:
        j = self.jurisdiction(job)
        params: list[tuple[str, str | int]] = [
            ("filter", meetings_filter(*window)),
            ("sort", MEETINGS_SORT),
            ("top", j.page_size),
            ("skip", skip),
        ]
        return self._request(
            job,
            f"{j.api_base}/meeting?{_query(params)}",
            "object",
            self.parse_meetings,
            priority=PRIORITY_PAGE,
            meta={MEETINGS_META: True},
            cb_kwargs={"slug": job.slug, "skip": skip, "window": window},
        )

    async def start(self) -> AsyncIterator[Request]:
        for job in self.jobs.values():
            if job.fatal is not None:
                continue
            if job.mode == "track":
                for key in sorted(job.only):
                    yield self._detail(job, key, "track")
                continue
            yield self._page(job, 0, None)
            if job.shard[0] == 0:
                yield self._meetings_page(job, 0, self.meetings_window(job))
            if job.mode == "incremental":
                # Tracked bills are fetched whatever their dates (full crawls and sweeps list them anyway).
                for key in sorted(job.tracked):
                    yield self._detail(job, key, "tracked")

    # -- callbacks (they return lists: see crawler/spiders/legistar.py) -------------------------------------
    def parse_page(self, response: Response, slug: str, skip: int, cursor: str | None) -> list[Request]:
        job = self.jobs[slug]
        url = redact_url(response.url)
        try:
            page = parse_envelope(response.meta[JSON_META])
            if page.skip != skip:
                raise PortalError(f"meta.skip is {page.skip} where {skip} was asked")
        except PortalError as exc:
            job.fail(f"{slug}: the eLMS list answer from {url} is not as expected: {exc}")
            return []
        out: list[Request] = []
        j = self.jurisdiction(job)
        for n, row in enumerate(page.rows):
            mid = row.get("matterId")
            if isinstance(mid, bool) or not isinstance(mid, str | int) or not str(mid).strip():
                job.reject(f"{slug}: row {n} of {url} has no valid matterId ({mid!r})")
                continue
            key = str(mid).strip()
            if key in job.listed:
                continue  # listed again (a page overlap, the cursor's boundary row) or fetched as tracked
            job.listed.add(key)
            if not job.owns(key):
                continue  # another shard of this split crawl fetches it
            if self._wanted(job, key, row):
                job.fetched += 1
                out.append(self._detail(job, key, "listed"))
        following = skip + len(page.rows)
        if following >= page.count:
            return out
        if not page.rows:
            job.fail(f"{slug}: the eLMS listing ended at skip {skip} before its count {page.count} ({url})")
            return out
        if following <= j.max_offset:
            out.append(self._page(job, following, cursor))
            return out
        # Past the offset limit: restart after the last sort value seen (rows with that very value are listed
        # again and skipped above).
        stamps = [(instant(r.get(SORT_FIELD)), r.get(SORT_FIELD)) for r in page.rows]
        # a stamp instant() reads is a str
        known = [(at, raw) for at, raw in stamps if at is not None and isinstance(raw, str)]
        if len(known) != len(stamps):
            job.fail(f"{slug}: a row of {url} has no valid {SORT_FIELD}; cannot page past skip {skip}")
            return out
        following_cursor = max(known)[1].strip()
        if following_cursor == cursor:
            job.fail(
                f"{slug}: more than {j.max_offset} matters share {SORT_FIELD} {cursor}; "
                f"cannot page past them ({url})"
            )
            return out
        out.append(self._page(job, 0, following_cursor))
        return out

    def _wanted(self, job: CrawlJob, key: str, row: dict[str, Any]) -> bool:
        """Full and incremental crawls fetch every matter they list (the incremental filter already chose
        them); a sweep fetches the new ones and those whose status or publication stamp moved."""
        if job.mode != "sweep":
            return True
        stored = job.known.get(key)
        if stored is None:
            return True
        stamp, status = stored
        if clean_text(row.get("status")) != status:
            return True
        listed_stamp = clean_text(row.get("lastPublicationDate"))
        return listed_stamp is not None and listed_stamp[:64] != stamp

    def parse_detail(self, response: Response, slug: str, key: str, origin: str) -> list[dict[str, Any]]:
        job = self.jobs[slug]
        matter: dict[str, Any] = response.meta[JSON_META]
        if str(matter.get("matterId", "")).strip() != key:
            job.reject(f"{slug}: matter {key} answered with matterId {matter.get('matterId')!r}")
            return []
        if origin != "listed":
            if key in job.listed:
                return []  # also on a list page of this crawl: fetched from there
            job.listed.add(key)
            job.fetched += 1
        j = self.jurisdiction(job)
        try:
            bill = normalize_matter(
                matter,
                slug=slug,
                api_base=j.api_base,
                web_base=j.web_base,
                zone=j.zone,
                stage_overrides=j.stages,
            )
        except DataError as exc:
            job.reject(str(exc))
            return []
        except Exception as exc:  # the parser fails on this one odd record: it alone is rejected
            text = f"{slug}: matter {key}: could not be read ({type(exc).__name__}: {exc})"
            problem = (clean_text(text) or "")[:500]
            self.logger.warning("rejected: %s", problem)
            job.reject(problem)
            return []
        try:
            calls = roll_calls(bill, f"{slug} matter {key}")
        except DataError as exc:  # the bill is stored; only its roll calls are not
            self._warn(job, f"roll calls not read: {exc}")
            calls = {}
        out: list[dict[str, Any]] = [{"slug": slug, "bill": bill}]
        if job.shard[0] != 0:
            # this shard reads no meetings: each roll call is staged as a part of its meeting, folded at
            # the import into the meeting staged by shard 0 (dropped when that meeting is not staged)
            for mid, call in sorted(calls.items()):
                out.append({"slug": slug, "meeting": roll_call_part(mid, [call], j.timezone)})
            return out
        found = self.roll_calls.setdefault(slug, {})
        for mid, call in calls.items():
            found.setdefault(mid, []).append(call)
        return out

    def parse_meetings(self, response: Response, slug: str, skip: int, window: Window) -> list[Any]:
        """One page of the meetings listing: its meetings staged, the next page asked for, and the window
        recorded once the last page is read with every row's id."""
        job = self.jobs[slug]
        url = redact_url(response.url)
        try:
            page = parse_envelope(response.meta[JSON_META])
            if page.skip != skip:
                raise PortalError(f"meta.skip is {page.skip} where {skip} was asked")
        except PortalError as exc:
            self._meetings_not_read(job, f"the eLMS meeting list from {url} is not as expected: {exc}")
            return []
        j = self.jurisdiction(job)
        seen = self.meetings_seen.setdefault(slug, set())
        out: list[Any] = []
        for n, row in enumerate(page.rows):
            mid = meeting_id(row)
            if mid is None:
                job.reject(f"{slug}: meeting row {n} of {url} has no valid meetingId")
                self.meetings_incomplete.add(slug)
                continue
            if mid in seen:
                continue
            seen.add(mid)
            try:
                record = normalize_meeting(row, slug=slug, web_base=j.web_base, timezone=j.timezone)
            except Exception as exc:  # this row alone is rejected; listed, so it is not marked as gone
                job.meetings_listed.add(mid)
                detail = str(exc) if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
                job.reject((clean_text(f"{slug}: meeting {mid}: {detail}") or "")[:500])
                continue
            assert record.starts_at is not None
            if not window[0] <= record.starts_at < window[1]:
                continue  # the API answered more than was asked: not this crawl's window
            job.meetings_listed.add(mid)
            out.extend(self._agenda(job, row, record))
        following = skip + len(page.rows)
        if following < page.count:
            if not page.rows:
                self._meetings_not_read(job, f"the meeting list ended at skip {skip} before {page.count}")
            elif following > j.max_offset:
                self._meetings_not_read(job, f"more than {j.max_offset} meetings in the window")
            else:
                out.append(self._meetings_page(job, following, window))
            return out
        if slug not in self.meetings_incomplete:
            job.meetings_window = window
        self.logger.info(
            "%s: %d meetings listed, %d unchanged since their agenda items were read",
            slug,
            len(seen),
            self.meetings_unchanged.get(slug, 0),
        )
        return out

    def _agenda(self, job: CrawlJob, row: dict[str, Any], record: NormalizedMeeting) -> list[Any]:
        """A listed meeting of the window: its agenda asked for, unless nothing of it changed since its
        items were read (then nothing is staged: the stored meeting stands)."""
        assert record.starts_at is not None
        held = record.starts_at <= job.started_at
        stamp = meeting_stamp(row, held)
        known = job.known_meetings.get(record.source_id)
        if known == stamp:
            self.meetings_unchanged[job.slug] = self.meetings_unchanged.get(job.slug, 0) + 1
            self.not_reread.setdefault(job.slug, {})[record.source_id] = (record, stamp)
            return []
        if held and known is not None and known.endswith("|held"):
            # held, and its items read since: what the listing shows now is stored, its items stay as read
            self.meetings_unchanged[job.slug] = self.meetings_unchanged.get(job.slug, 0) + 1
            kept = with_agenda(record, None, None)
            kept.raw[ITEMS_STAMP_KEY] = known
            self.not_reread.setdefault(job.slug, {})[record.source_id] = (record, stamp)
            return [{"slug": job.slug, "meeting": kept}]
        self.held.append(self._agenda_request(job, record, stamp))
        return []

    def _agenda_request(self, job: CrawlJob, record: NormalizedMeeting, stamp: str) -> Request:
        j = self.jurisdiction(job)
        self.agenda_asked.setdefault(job.slug, set()).add(record.source_id)
        return self._request(
            job,
            meeting_agenda_url(j.api_base, record.source_id),
            "object",
            self.parse_agenda,
            meta={AGENDA_META: True},
            cb_kwargs={"slug": job.slug, "record": record, "stamp": stamp},
        )

    def _with_roll_calls(self, job: CrawlJob, meeting: NormalizedMeeting) -> NormalizedMeeting:
        calls = self.roll_calls.get(job.slug, {}).get(meeting.source_id, [])
        return with_roll_calls(meeting, calls, job.known_votes)

    def parse_agenda(
        self, response: Response, slug: str, record: NormalizedMeeting, stamp: str
    ) -> list[dict[str, Any]]:
        """A ``GET /meeting-agenda/{meetingId}`` answer: the listed meeting with its agenda items."""
        job = self.jobs[slug]
        where = f"{slug} meeting {record.source_id}"
        try:
            items = read_agenda(response.meta[JSON_META], record.source_id, where)
        except DataError as exc:
            self._warn(job, f"agenda items of a meeting not read: {exc} ({redact_url(response.url)})")
            return [{"slug": slug, "meeting": self._with_roll_calls(job, with_agenda(record, None, None))}]
        # no agenda published yet: stored as listed, and read again by the next crawl
        meeting = with_agenda(record, items, None if items is None else stamp)
        return [{"slug": slug, "meeting": self._with_roll_calls(job, meeting)}]

    def _warn(self, job: CrawlJob, message: str) -> None:
        message = (clean_text(message) or "")[:500]
        self.logger.warning("%s: %s", job.slug, message)
        if message not in job.warnings and len(job.warnings) < _KEEP_WARNINGS:
            job.warnings.append(message)

    def _meetings_not_read(self, job: CrawlJob, reason: str) -> None:
        """The meetings listing failed: the crawl's bills are stored, and no stored meeting is marked gone."""
        self.meetings_incomplete.add(job.slug)
        job.meetings_window = None
        job.warnings.append(f"meetings not read completely: {reason}"[:500])
        self.logger.warning("%s: meetings not read completely: %s", job.slug, reason)

    def on_error(self, failure: Failure) -> list[Any]:
        failed = self.failure(failure)
        if failed.job is not None and failed.request.meta.get(MEETINGS_META):
            self._meetings_not_read(failed.job, failed.detail)
            return []
        if failed.job is not None and failed.request.meta.get(AGENDA_META):
            self._warn(failed.job, f"agenda items of a meeting not read: {failed.detail}")
            # the meeting as listed, with its stored items left as they are
            record: NormalizedMeeting = failed.request.cb_kwargs["record"]
            kept = self._with_roll_calls(failed.job, with_agenda(record, None, None))
            return [{"slug": failed.job.slug, "meeting": kept}]
        if failed.job is not None and failed.request.cb_kwargs.get("origin") == "listed":
            key = failed.request.cb_kwargs.get("key")
            if failed.gone:
                # listed a moment ago, gone now: this matter is skipped and named, the rest is imported
                reason = f"matter {key} is listed but its detail is gone"
                failed.job.reject(f"{failed.slug}: {reason}: {failed.detail}")
                self.logger.error("%s: %s", failed.slug, failed.detail)
                return []
            # its detail failed for good (an error answer, garbage, no answer after the retries): that
            # bill is kept as stored and named, the others are imported, the crawl is partial
            # (until 2026-12-07 it failed the whole city's crawl)
            return self.unread_matter(failed.job, key, failed.detail)
        return super().on_error(failure)
