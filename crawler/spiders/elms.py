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

import scrapy
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.jobs import CrawlJob
from crawler.middlewares import EXPECT_META, JOB_META, JSON_META
from crawler.redact import redact_url
from tracker.errors import DataError, PortalError
from tracker.platforms.elms import detail_url, instant, normalize_matter, parse_envelope
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

OPTIONAL_META = "optional"  # a tracked bill fetched by an incremental crawl: a 404 is reported, not fatal
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


_clean = clean_text


class ElmsSpider(scrapy.Spider):
    name = "elms"

    def __init__(self, jobs: list[CrawlJob], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jobs: dict[str, CrawlJob] = {job.slug: job for job in jobs}

    # -- requests -------------------------------------------------------------------------------------
    def _request(self, job: CrawlJob, url: str, expect: str, callback: Any, **kw: Any) -> Request:
        return Request(
            url,
            callback=callback,
            errback=self.on_error,
            meta={JOB_META: job.slug, EXPECT_META: expect},
            headers={"Accept": "application/json"},
            dont_filter=True,
            **kw,
        )

    def _page(self, job: CrawlJob, skip: int, cursor: str | None) -> Request:
        j: Any = job.jurisdiction
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
        j: Any = job.jurisdiction
        request = self._request(
            job,
            detail_url(j.api_base, key),
            "object",
            self.parse_detail,
            cb_kwargs={"slug": job.slug, "key": key, "origin": origin},
        )
        request.meta[OPTIONAL_META] = origin == "tracked"
        return request

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
        j: Any = job.jurisdiction
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
        known = [(at, raw) for at, raw in stamps if at is not None]
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
        if _clean(row.get("status")) != status:
            return True
        listed_stamp = _clean(row.get("lastPublicationDate"))
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
        j: Any = job.jurisdiction
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

    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        slug = request.meta.get(JOB_META)
        job = self.jobs.get(slug)
        response = getattr(failure.value, "response", None)
        if response is not None:
            detail = f"HTTP {response.status} from {redact_url(request.url)}"
            message = _api_message(response)
            if message:
                detail += f": {message}"
        else:
            detail = " ".join(redact_url(str(failure.value)).split()) or type(failure.value).__name__
        self.logger.error("%s: %s", slug, detail)
        if job is None:
            return
        gone = response is not None and response.status == 404
        origin = request.cb_kwargs.get("origin")
        if gone and request.meta.get(OPTIONAL_META):
            job.problems.append(f"{slug}: tracked bill gone: {detail}")
        elif gone and origin == "listed":
            # listed a moment ago, gone now: this matter is skipped and named, the rest is imported
            key = request.cb_kwargs.get("key")
            job.reject(f"{slug}: matter {key} is listed but its detail is gone: {detail}")
        else:
            job.fail(f"{slug}: {detail}")


def _api_message(response: Response) -> str | None:
    """The error text of a JSON error answer (``message``, ``title`` or ``Message``), on one line."""
    try:
        doc = response.json()
    except Exception:
        return None
    if not isinstance(doc, dict):
        return None
    for key in ("message", "title", "Message", "error"):
        if isinstance(doc.get(key), str):
            return " ".join(redact_url(doc[key]).split())[:200] or None
    return None
