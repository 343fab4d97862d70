"""The base of every platform's spider: one spider for every city of a platform in a crawl.

A spider only makes requests; what the portal answers is read by the platform's module
(tracker/platforms/<platform>.py). The base holds what every spider repeats: the crawl's jobs by slug, the
request of one city (:meth:`PortalSpider.request`), the one-line description of a request that failed for
good (:meth:`PortalSpider.failure`, with the portal's own error text when it gives one), and the default
answer to such a failure: the city fails, naming the URL. A platform's spider fills in ``start`` and its
callbacks, and overrides :meth:`PortalSpider.on_error` when a failure means less (a tracked bill gone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import scrapy
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from crawler.jobs import CrawlJob
from crawler.middlewares import EXPECT_META, JOB_META
from tracker.platforms.base import JurisdictionConfig
from tracker.redact import redact_url
from tracker.sanitize import clean_text

OPTIONAL_META = "optional"  # a request whose 404 is reported, not fatal (a tracked bill fetched by id)

# A platform's settings (tracker/platforms/<platform>.py's Settings): what a spider reads of a jurisdiction.
S = TypeVar("S", bound=JurisdictionConfig)


@dataclass
class Failed:
    """A request that failed for good (after the retries), described on one line."""

    request: Request
    slug: str | None
    job: CrawlJob | None
    response: Response | None  # None: no answer (a timeout, a refused connection)
    detail: str

    @property
    def gone(self) -> bool:
        return self.response is not None and self.response.status == 404


class PortalSpider(scrapy.Spider, Generic[S]):
    # JSON keys a portal puts its error text in (an error answer's message joins the failure's line).
    message_keys: tuple[str, ...] = ()

    def __init__(self, jobs: list[CrawlJob], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jobs: dict[str, CrawlJob] = {job.slug: job for job in jobs}

    def jurisdiction(self, job: CrawlJob) -> S:
        """The job's jurisdiction as this platform's settings: the config built it with the class its
        ``platform`` key names, the key that picked this spider."""
        return cast(S, job.jurisdiction)

    # -- requests -------------------------------------------------------------------------------------
    def request(
        self,
        job: CrawlJob,
        url: str,
        callback: Any,
        *,
        expect: str | None = None,
        accept: str | None = "application/json",
        optional: bool = False,
        meta: dict[str, Any] | None = None,
        request_class: type[Request] = Request,
        **kw: Any,
    ) -> Request:
        """A request of one city: failures go to :meth:`on_error`, ``expect`` ("list" or "object") has the
        JSON middleware check the answer's shape, ``optional`` marks a bill whose 404 is not fatal."""
        own: dict[str, Any] = {JOB_META: job.slug}
        if expect:
            own[EXPECT_META] = expect
        if optional:
            own[OPTIONAL_META] = True
        if accept:
            kw["headers"] = {"Accept": accept, **kw.get("headers", {})}
        meta = {**own, **(meta or {})}
        return request_class(url, callback=callback, errback=self.on_error, meta=meta, dont_filter=True, **kw)

    # -- failures -------------------------------------------------------------------------------------
    def failure(self, failure: Failure) -> Failed:
        request = failure.request  # type: ignore[attr-defined]  # Scrapy sets it on an errback's failure
        slug = request.meta.get(JOB_META)
        response = getattr(failure.value, "response", None)
        if response is not None:
            detail = f"HTTP {response.status} from {redact_url(request.url)}"
            message = self.api_message(response)
            if message:
                detail += f": {message}"
        else:
            detail = " ".join(redact_url(str(failure.value)).split()) or type(failure.value).__name__
        # a portal's text (its error message, a URL it redirected to) goes to logs, mails, the terminal and
        # the database: without NUL, escape sequences or other controls (tracker/sanitize.py)
        return Failed(request, slug, self.jobs.get(slug), response, clean_text(detail) or "?")

    def api_message(self, response: Response) -> str | None:
        """The portal's error text in a JSON error answer (under one of :attr:`message_keys`), on one line."""
        if not self.message_keys or not isinstance(response, TextResponse):
            return None
        try:
            doc = response.json()
        except Exception:
            return None
        if not isinstance(doc, dict):
            return None
        for key in self.message_keys:
            if isinstance(doc.get(key), str):
                return (clean_text(redact_url(doc[key])) or "")[:200] or None
        return None

    def tracked_gone(self, failed: Failed) -> None:
        """A bill tracked by link is gone from the portal: the crawl goes on and says so."""
        assert failed.job is not None
        failed.job.problems.append(f"{failed.slug}: tracked bill gone: {failed.detail}")
        self.logger.warning("%s: tracked bill gone: %s", failed.slug, failed.detail)

    def fail_city(self, failed: Failed) -> None:
        """The city's crawl fails, naming the request (its other requests are left to finish)."""
        if failed.job is not None:
            failed.job.fail(f"{failed.slug}: {failed.detail}")
        self.logger.error("%s: %s", failed.slug, failed.detail)

    def unread_matter(self, job: CrawlJob, source_id: object, detail: str, what: str = "matter") -> list[Any]:
        """One bill's own request failed for good: that bill is kept as stored and named, the others are
        imported, the crawl is partial (:meth:`CrawlJob.unread_matter`; :meth:`closed` fails a crawl that
        could read none). ``what`` names the record (an agenda platform's is a meeting)."""
        job.unread_matter(source_id, detail, what)
        self.logger.warning("%s: %s %s not read: %s", job.slug, what, source_id, clean_text(detail))
        return []

    def closed(self, reason: str) -> None:
        for job in self.jobs.values():
            job.settle_unread()

    def on_error(self, failure: Failure) -> list[Any]:
        failed = self.failure(failure)
        if failed.job is not None and failed.gone and failed.request.meta.get(OPTIONAL_META):
            self.tracked_gone(failed)
            return []
        self.fail_city(failed)
        return []
