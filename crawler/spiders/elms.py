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
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.jobs import CrawlJob
from crawler.middlewares import JSON_META
from crawler.spiders.base import PortalSpider
from tracker.errors import DataError, PortalError
from tracker.platforms.elms import Settings, detail_url, instant, normalize_matter, parse_envelope
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

    async def start(self) -> AsyncIterator[Request]:
        for job in self.jobs.values():
            if job.fatal is not None:
                continue
            if job.mode == "track":
                for key in sorted(job.only):
                    yield self._detail(job, key, "track")
                continue
            yield self._page(job, 0, None)
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
        return [{"slug": slug, "bill": bill}]

    def on_error(self, failure: Failure) -> list[Any]:
        failed = self.failure(failure)
        if failed.job is not None and failed.gone and failed.request.cb_kwargs.get("origin") == "listed":
            # listed a moment ago, gone now: this matter is skipped and named, the rest is imported
            key = failed.request.cb_kwargs.get("key")
            reason = f"matter {key} is listed but its detail is gone"
            failed.job.reject(f"{failed.slug}: {reason}: {failed.detail}")
            self.logger.error("%s: %s", failed.slug, failed.detail)
            return []
        return super().on_error(failure)
