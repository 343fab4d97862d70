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

The spider only makes the requests: each matter's payloads are staged with the parser that reads them
(tracker/platforms/legistar.py ``bill_of`` / ``attachments_of``), which the stage pipeline runs, so that a
parser's error on one matter rejects that matter alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from scrapy.http import Request, Response

from crawler.handlers import TOKEN_ENV_META
from crawler.jobs import CrawlJob
from crawler.middlewares import JSON_META
from crawler.spiders.base import PortalSpider
from tracker.platforms.legistar import Settings, attachments_of, bill_of
from tracker.sanitize import clean_text

# Date fields ORed into the incremental filter (python-legistar-scraper does the same); local dates are
# compared with the watermark's local calendar date, the UTC stamp with the UTC instant.
LOCAL_DATE_FIELDS = ("MatterIntroDate", "MatterAgendaDate", "MatterPassedDate", "MatterEnactmentDate")
UTC_FIELDS = ("MatterLastModifiedUtc",)

PRIORITY_PAGE = 100  # pages first, so the queue of matters to fetch fills early
PRIORITY_SUB = {"histories": 1, "sponsors": 2, "attachments": 3}  # finish started matters first


def _odata_datetime(dt: datetime) -> str:
    return "datetime'" + dt.strftime("%Y-%m-%dT%H:%M:%S") + "'"


def incremental_filter(since: datetime, zone: Any) -> str:
    utc = since.astimezone(UTC)
    local_day = since.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    terms = [f"{f} gt {_odata_datetime(utc)}" for f in UTC_FIELDS]
    terms += [f"{f} ge {_odata_datetime(local_day)}" for f in LOCAL_DATE_FIELDS]
    return " or ".join(terms)


def _query(params: list[tuple[str, str | int]]) -> str:
    return "&".join(f"{k}={quote(str(v), safe=chr(39) + '(),:')}" for k, v in params)


class LegistarApiSpider(PortalSpider[Settings]):
    name = "legistar"
    message_keys = ("Message",)  # Legistar puts its error text in a JSON ``Message`` field

    # -- requests -------------------------------------------------------------------------------------
    def _request(self, job: CrawlJob, url: str, expect: str, callback: Any, **kw: Any) -> Request:
        token_env = job.jurisdiction.token_env
        meta = {TOKEN_ENV_META: token_env} if token_env else None
        return self.request(job, url, callback, expect=expect, meta=meta, **kw)

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
                # The attachments budget is spent in listing order, i.e. newest matters first.
                with_attachments = job.take_attachment_slot()
                out.append(
                    self._sub(
                        job, matter, "histories", with_attachments=with_attachments, probe=wanted == "probe"
                    )
                )
            elif key in job.attachments_pending and job.take_attachment_slot():
                out.append(self._sub(job, matter, "attachments", only_attachments=True))
        return out

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
        self, response: Response, slug: str, matter: dict[str, Any], with_attachments: bool, probe: bool
    ) -> list[Request]:
        job = self.jobs[slug]
        if probe:
            ids = frozenset(str(row.get("MatterHistoryId")) for row in response.meta[JSON_META])
            if ids == job.known_actions.get(str(matter["MatterId"]), frozenset()):
                job.probed_unchanged += 1
                return []  # nothing new: the stored bill stands
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
