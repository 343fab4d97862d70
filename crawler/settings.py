"""Scrapy settings for the tracker's crawls; every deviation from Scrapy's defaults says why.

Per-crawl values (concurrency cap, timeout, retries, backoff) come from the ``[crawl]`` table of
tracker.toml through :func:`crawl_settings`.
"""

from __future__ import annotations

from typing import Any

from scrapy.settings import default_settings

from tracker.config import CrawlSettings

BOT_NAME = "sanctuary-tracker"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Portals are public APIs, not web pages: robots.txt of webapi.legistar.com does not apply to the API
# and fetching it would cost a request per host.
ROBOTSTXT_OBEY = False
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False  # never open a port on a production host

# Politeness is per host: all Legistar clients share webapi.legistar.com, so the cap is per domain and
# one crawler serves every jurisdiction of a platform (one download slot per host).
CONCURRENT_REQUESTS = 64
CONCURRENT_REQUESTS_PER_DOMAIN = 16
DOWNLOAD_DELAY = 0
# The cap is held by the download handler (crawler/handlers.py: a semaphore per host around each download):
# Scrapy 2.19 on the asyncio reactor counts a request as active only once its download task runs, so its
# slot alone let 51 requests in flight to a host capped at 6 with no download delay, and 7 under load with
# AutoThrottle's (tests/test_crawl_demo.py, test_one_cap_per_host_across_jurisdictions_and_the_cap_is_used).
# AutoThrottle stays for the delay it adds when a host slows down; measured (docs/architecture.md, "Crawl
# cost"), its pacing does not slow a backfill.
AUTOTHROTTLE_ENABLED = True
# The delay before a host's latency is known (Scrapy's 5 s would make the first minute crawl at a crawl). It
# halves with each answer, so 0.25 s sent a crawl's first requests one per 125, 63, 31... ms: about 0.3 s
# lost at the start of every crawl (docs/architecture.md, "Crawl cost", 2026-12-07). The per-host cap
# holds from the first request either way (crawler/handlers.py).
AUTOTHROTTLE_START_DELAY = 0.02
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 16.0  # as much concurrency as the host sustains, within the cap

DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024  # a 1000-matter page is a few MB; anything huge is not an API answer
DOWNLOAD_VERIFY_CERTIFICATES = True
REDIRECT_ENABLED = False  # an API that redirects is misconfigured; never follow it elsewhere

RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [408, 429, 500, 502, 503, 504, 522, 524]
TRACKER_BACKOFF_BASE = 1.0
TRACKER_BACKOFF_MAX = 60.0

DOWNLOAD_HANDLERS = {
    "http": "crawler.handlers.TokenHTTPDownloadHandler",
    "https": "crawler.handlers.TokenHTTPDownloadHandler",
    # Only http(s): a portal URL can never make the crawler read a local file or an S3 bucket.
    "file": None,
    "s3": None,
    "ftp": None,
    "data": None,
}
# Middlewares a JSON API crawl has no use for are off: each costs CPU on every one of tens of thousands
# of requests (a crawl is CPU-bound well before the per-host cap is reached on a 2-core machine).
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.middlewares.RequestAccountingMiddleware": 950,
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,  # URLs come from the config only
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,  # HTML only
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,  # REDIRECT_ENABLED = False
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,  # COOKIES_ENABLED = False
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,  # no proxies
}
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.referer.RefererMiddleware": None,  # an API needs no Referer header
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    # a development aid (warns about meta keys copied from a response); the spiders build their meta
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}
ITEM_PIPELINES = {"crawler.pipelines.StagePipeline": 300}
EXTENSIONS = {
    "crawler.extensions.Progress": 500,
    "scrapy.extensions.telnet.TelnetConsole": None,  # never open a port on a production host
    "scrapy.extensions.remote_control.RemoteControl": None,  # (same)
    # Scrapy's own stats and log counts, updated on every request, response and item: nothing reads them
    # (the tracker counts its requests itself, RequestAccountingMiddleware)
    "scrapy.extensions.corestats.CoreStats": None,
    "scrapy.extensions.logcount.LogCount": None,
}
# Per-request byte and status counts (it serialises every request and response to measure it): unread.
DOWNLOADER_STATS = False
STATS_CLASS = "crawler.extensions.PlainStats"
STATS_DUMP = False
# Scrapy starts this many asyncio workers for every callback's output; ours yield one item or a page of
# requests, and 100 workers per response cost more CPU than the crawl itself.
CONCURRENT_ITEMS = 4
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"  # the spider de-duplicates by matter id itself
LOG_LEVEL = "WARNING"
LOG_FORMATTER = "crawler.extensions.QuietLogFormatter"  # no dumps of whole matters at debug level
LOGSTATS_INTERVAL = 0
USER_AGENT = CrawlSettings().user_agent


def _enabled(base: dict[str, Any], ours: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A component priority dict's ``_BASE`` and the dict itself without the components ``ours`` turns off.

    Scrapy imports every component either dict names, a disabled one (``None``) included, to resolve its
    path: RemoteControl's module alone imports aiohttp's web server, 0.12 s (``python -X importtime``) at the
    start of each of a crawl's processes (docs/architecture.md, "Crawl cost"). Left out of both, a disabled
    component is never imported; a component a later Scrapy adds to its base is still kept.
    """
    off = {name for name, order in ours.items() if order is None}
    return (
        {name: order for name, order in base.items() if name not in off},
        {name: order for name, order in ours.items() if order is not None},
    )


EXTENSIONS_BASE, EXTENSIONS = _enabled(default_settings.EXTENSIONS_BASE, EXTENSIONS)
DOWNLOADER_MIDDLEWARES_BASE, DOWNLOADER_MIDDLEWARES = _enabled(
    default_settings.DOWNLOADER_MIDDLEWARES_BASE, DOWNLOADER_MIDDLEWARES
)
SPIDER_MIDDLEWARES_BASE, SPIDER_MIDDLEWARES = _enabled(
    default_settings.SPIDER_MIDDLEWARES_BASE, SPIDER_MIDDLEWARES
)
DOWNLOAD_HANDLERS_BASE, DOWNLOAD_HANDLERS = _enabled(
    default_settings.DOWNLOAD_HANDLERS_BASE, DOWNLOAD_HANDLERS
)


def crawl_settings(crawl: CrawlSettings, *, progress: bool = False) -> dict[str, Any]:
    """This module's settings with the operator's ``[crawl]`` values applied."""
    values = {k: v for k, v in globals().items() if k.isupper()}
    values.update(
        CONCURRENT_REQUESTS_PER_DOMAIN=crawl.per_host_concurrency,
        CONCURRENT_REQUESTS=max(64, crawl.per_host_concurrency * 4),
        # AutoThrottle aims at twice the cap, so that the cap is what binds while the host answers quickly;
        # the delay it adds still grows with the host's latency when the host slows down.
        AUTOTHROTTLE_TARGET_CONCURRENCY=float(crawl.per_host_concurrency) * 2,
        DOWNLOAD_TIMEOUT=crawl.download_timeout,
        RETRY_TIMES=crawl.retries,
        TRACKER_BACKOFF_BASE=crawl.backoff_base,
        TRACKER_BACKOFF_MAX=crawl.backoff_max,
        USER_AGENT=crawl.user_agent,
        TRACKER_PROGRESS=progress,
    )
    return values
