"""Running the spiders in a process: one crawler per platform in one reactor, and the worker process of a
split backfill (:func:`shard_worker`).

Nothing here touches the database (tracker/crawl.py plans the jobs and imports what they staged): a split
crawl's worker process imports only this, the spiders and Scrapy.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from crawler.jobs import CrawlJob
from tracker import children
from tracker.config import Config
from tracker.redact import redact_url

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector

# Seconds Scrapy gets to close its spiders after SIGTERM or SIGINT before the reactor is stopped.
STOP_GRACE = 1.0


class Stopping:
    """Whether a stop signal arrived during the crawl (set from the signal handler)."""

    signum: int | None = None


def arm_prompt_stop(state: Stopping, also: Callable[[int], None] | None = None) -> None:
    """Once the reactor runs (after Scrapy installed its handlers): on SIGTERM or SIGINT, note it, let
    Scrapy start its graceful shutdown, and force the reactor down :data:`STOP_GRACE` seconds later (Scrapy's
    own second-signal path) instead of waiting for the slowest request in flight. ``also`` is called with
    the signal first (a split crawl passes it on to its worker processes)."""
    from twisted.internet import reactor as installed
    from twisted.internet.base import ReactorBase

    # Twisted types its global reactor as zope interfaces, whose methods mypy reads with their first
    # parameter taken for `self`; every reactor Scrapy installs is a ReactorBase.
    reactor = cast(ReactorBase, installed)

    def install() -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            scrapy_handler = signal.getsignal(sig)

            def handler(signum: int, frame: Any, scrapy_handler: Any = scrapy_handler) -> None:
                first = state.signum is None
                state.signum = signum
                if also is not None:
                    also(signum)
                if callable(scrapy_handler):
                    scrapy_handler(signum, frame)  # replaces both handlers with Scrapy's forced stop
                if first:
                    timer = threading.Timer(STOP_GRACE, os.kill, (os.getpid(), signal.SIGTERM))
                    timer.daemon = True
                    timer.start()

            signal.signal(sig, handler)

    reactor.callWhenRunning(lambda: reactor.callLater(0, install))


def run_spiders(
    jobs: list[CrawlJob],
    config: Config,
    progress: bool,
    stopping: Stopping | None = None,
    also: Callable[[int], None] | None = None,
    on_running: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Run each platform's spider over its jobs, all in one reactor; returns requests per jurisdiction.
    ``on_running`` is called once the reactor runs (after Scrapy's own start-up).

    One crawler per platform serves every jurisdiction of that platform, so a host shared by several cities
    (webapi.legistar.com) has one download slot and the per-host cap holds across them."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawler.settings import crawl_settings
    from tracker.platforms import spider_class

    settings = crawl_settings(config.crawl, progress=progress)
    settings["LOG_INSTALL_ROOT_HANDLER"] = False  # the tracker's handler (with redaction) is in place
    process = CrawlerProcess(settings=settings)
    # Scrapy sets its loggers to DEBUG; at the handler's level they would build every per-request debug
    # record only for it to be dropped.
    logging.getLogger("scrapy").setLevel(logging.getLogger().getEffectiveLevel())
    by_platform: dict[str, list[CrawlJob]] = {}
    for job in jobs:
        by_platform.setdefault(job.jurisdiction.platform, []).append(job)
    crawlers = []
    receivers: list[Any] = []
    for name, group in by_platform.items():
        crawler = process.create_crawler(spider_class(name))
        reasons: list[str] = []

        def closed(reason: str, reasons: list[str] = reasons) -> None:
            reasons.append(reason)

        crawler.signals.connect(closed, signal=signals.spider_closed)

        def failed_callback(failure: Any, response: Any, group: list[CrawlJob] = group) -> None:
            slug = response.meta.get("job_slug") if response is not None else None
            for job in group:
                if job.slug == slug or slug is None:
                    where = redact_url(response.url) if response is not None else "a response"
                    job.fail(f"{job.slug}: internal error while parsing {where}: {failure.value!r}")

        crawler.signals.connect(failed_callback, signal=signals.spider_error)
        process.crawl(crawler, jobs=group)
        # Scrapy's signals hold receivers weakly: keep ours alive until the crawl ends.
        receivers.extend((closed, failed_callback))
        crawlers.append((crawler, group, reasons))
    if stopping is not None:
        arm_prompt_stop(stopping, also)
    if on_running is not None:
        from twisted.internet import reactor as installed

        cast(Any, installed).callWhenRunning(on_running)
    process.start()
    requests: dict[str, int] = {}
    for crawler, group, reasons in crawlers:
        reason = reasons[0] if reasons else "not run"
        if reason != "finished":
            for job in group:
                job.fail(f"{job.slug}: crawl interrupted ({reason})")
        stats: StatsCollector | None
        try:
            stats = crawler.stats
        except RuntimeError:  # a crawler that never started: Scrapy 2.19 raises where older ones gave None
            stats = None
        for job in group:
            requests[job.slug] = int(stats.get_value(f"tracker/requests/{job.slug}", 0)) if stats else 0
    return requests


def shard_worker(
    conn: Any,
    jobs: list[CrawlJob],
    config: Config,
    progress: bool,
    logging_setup: dict[str, Any],
    parent_pid: int | None = None,
) -> None:
    """One worker process of a split crawl (a fresh interpreter: its own reactor). Sends back the jobs as
    crawled and the requests made, then exits. Dies with the crawl process that started it."""
    if parent_pid:
        children.bind_to_parent(parent_pid)
    if logging_setup:
        from tracker.logs import setup_logging

        setup_logging(**logging_setup)
    try:
        requests = run_spiders(jobs, config, progress)
        conn.send((jobs, requests))
    finally:
        conn.close()
        # The crawl process waits for this one to end before it imports: leave the heap out of the
        # interpreter's last garbage collections (tracker/__main__.py).
        gc.freeze()
