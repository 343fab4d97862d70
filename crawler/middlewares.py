"""Downloader middlewares: request accounting, and retries with backoff that also catch the answers a
portal gives when it is broken but says 200 (an HTML error page, cut-off JSON)."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.misc import load_object

from tracker.redact import redact_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

EXPECT_META = "expect_json"  # "list" | "object": the shape the response must have
JSON_META = "parsed_json"  # where the validated document is left for the callback
JOB_META = "job_slug"


class GaveUp(IgnoreRequest):
    """A request failed after every retry; the message says why, with the token-free URL."""


class InvalidResponse(Exception):
    pass


def validate_json(response: Response, expect: str) -> Any:
    """The parsed document, or InvalidResponse saying what is wrong with it."""
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    body = response.body
    if "json" not in ctype:
        looks = "an HTML page" if body.lstrip()[:1] == b"<" else f"content type {ctype or 'none'!r}"
        raise InvalidResponse(f"expected JSON, got {looks}")
    try:
        # Invalid UTF-8 bytes become U+FFFD and raw control characters inside strings are accepted: one
        # careless record must not make the whole answer (a city's listing page) unreadable. The stage
        # pipeline removes what cannot be stored (tracker/sanitize.py).
        doc = json.loads(body.decode("utf-8-sig", errors="replace"), strict=False)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidResponse(
            f"invalid or truncated JSON ({exc.msg if hasattr(exc, 'msg') else exc})"
        ) from None
    except ValueError:  # Python refuses to convert an integer of more than 4,300 digits
        raise InvalidResponse("a number in the JSON is too long to read (over 4,300 digits)") from None
    if expect == "list" and not isinstance(doc, list):
        raise InvalidResponse(f"expected a JSON array, got {type(doc).__name__}")
    if expect == "object" and not isinstance(doc, dict):
        raise InvalidResponse(f"expected a JSON object, got {type(doc).__name__}")
    if expect == "list" and not all(isinstance(row, dict) for row in doc):
        raise InvalidResponse("expected a JSON array of objects")
    return doc


def retry_after_seconds(value: bytes | None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RequestAccountingMiddleware:
    """Counts every request put on the wire (retries included) per jurisdiction, in the crawl stats."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RequestAccountingMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        assert self.crawler.stats is not None
        slug = request.meta.get(JOB_META, "-")
        self.crawler.stats.inc_value(f"tracker/requests/{slug}")
        return None


class BackoffRetryMiddleware:
    """Replaces Scrapy's RetryMiddleware.

    Retries timeouts, connection errors, 5xx and 429 with exponential backoff and jitter, honouring a
    ``Retry-After`` header (capped by ``TRACKER_BACKOFF_MAX``). A request that declares the JSON shape
    it expects (``meta['expect_json']``) is also retried when the answer is not that JSON, so a 200 with an
    HTML error page or truncated JSON is never taken as data. After the last retry the request fails with
    :class:`GaveUp`, which reaches the spider's errback.
    """

    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.max_retries = s.getint("RETRY_TIMES")
        self.codes = {int(c) for c in s.getlist("RETRY_HTTP_CODES")}
        self.base = s.getfloat("TRACKER_BACKOFF_BASE")
        self.cap = s.getfloat("TRACKER_BACKOFF_MAX")
        self.exceptions = tuple(
            load_object(e) if isinstance(e, str) else e for e in s.getlist("RETRY_EXCEPTIONS")
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        expect = request.meta.get(EXPECT_META)
        if response.status in self.codes:
            reason = f"HTTP {response.status}"
            return await self._retry(
                request, reason, retry_after_seconds(response.headers.get(b"Retry-After"))
            )
        if expect and 200 <= response.status < 300:
            try:
                request.meta[JSON_META] = validate_json(response, expect)
            except InvalidResponse as exc:
                return await self._retry(request, str(exc), None)
        return response

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if isinstance(exception, self.exceptions):
            reason = type(exception).__name__
            detail = str(exception).strip()
            if detail:
                reason += f": {redact_url(detail)[:200]}"
            return await self._retry(request, reason, None)
        return None

    async def _retry(self, request: Request, reason: str, retry_after: float | None) -> Request:
        attempt = request.meta.get("retry_times", 0) + 1
        url = redact_url(request.url)
        stats = self.crawler.stats
        assert stats is not None
        if attempt > self.max_retries:
            stats.inc_value("tracker/gave_up")
            raise GaveUp(f"{reason} from {url} (gave up after {attempt} attempts)")
        delay = min(self.cap, self.base * (2 ** (attempt - 1)))
        delay = delay * (0.5 + random.random() / 2)
        if retry_after is not None:
            delay = min(self.cap, max(delay, retry_after))
        stats.inc_value("tracker/retries")
        logger.info("retry %d/%d in %.1fs: %s from %s", attempt, self.max_retries, delay, reason, url)
        if delay > 0:
            await asyncio.sleep(delay)
        retry = request.replace(dont_filter=True, priority=request.priority + 1)
        retry.meta["retry_times"] = attempt
        retry.meta.pop(JSON_META, None)
        return retry
