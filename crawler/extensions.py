"""Scrapy extensions: a one-line progress display on a terminal, a quieter log formatter, and a plain
stats collector."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, cast

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.logformatter import LogFormatter, LogFormatterResult
from scrapy.statscollectors import MemoryStatsCollector
from twisted.internet import task

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.spiders.base import PortalSpider


class Progress:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        if not crawler.settings.getbool("TRACKER_PROGRESS"):
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self) -> None:
        self.loop = task.LoopingCall(self.show)
        self.loop.start(0.5, now=True)

    def show(self) -> None:
        spider = cast("PortalSpider[Any] | None", self.crawler.spider)  # every spider of a crawl is one
        stats = self.crawler.stats
        if spider is None or stats is None:
            return
        parts = []
        for slug, job in spider.jobs.items():
            requests = stats.get_value(f"tracker/requests/{slug}", 0)
            parts.append(
                f"{slug}: {len(job.listed)} listed, {job.staged}/{job.fetched} fetched, {requests} req"
            )
        sys.stderr.write("\r\x1b[K" + " | ".join(parts)[:200])
        sys.stderr.flush()

    def closed(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


class PlainStats(MemoryStatsCollector):
    """Scrapy's in-memory stats without the attribute hook Scrapy 2.13+ puts on every access (it wraps
    each stats method to warn about a ``spider`` argument nobody here passes): a crawl updates its stats
    several times per request, and the hook cost more than the update."""

    __getattribute__ = object.__getattribute__


_SCRAPY_LOG = logging.getLogger("scrapy.core")


class QuietLogFormatter(LogFormatter):
    """Scrapy's log formatter without the item dumps: a scraped item (a whole matter with its histories)
    is logged as its jurisdiction and the bill's id on the portal only. The per-response and per-item
    debug lines are not even built unless debug logging is on (Scrapy skips a ``None``)."""

    def crawled(self, request: Any, response: Any, spider: Any) -> LogFormatterResult | None:  # type: ignore[override]
        if not _SCRAPY_LOG.isEnabledFor(logging.DEBUG):
            return None
        return super().crawled(request, response, spider)

    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult | None:  # type: ignore[override]
        if not _SCRAPY_LOG.isEnabledFor(logging.DEBUG):
            return None
        result = super().scraped(item, response, spider)
        item = item if isinstance(item, dict) else {}
        staged = item.get("bill")  # a parsed bill, or the parser to run in the pipeline and its source id
        source_id = staged.source_id if staged is not None else item.get("source_id")
        return {
            **result,
            "msg": "Scraped %(slug)s bill %(source_id)s",
            "args": {"slug": item.get("slug", "?"), "source_id": source_id},
        }
