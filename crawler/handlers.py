"""An HTTP download handler that adds the portal token at the very last moment, and holds the per-host cap.

The Legistar token travels in the query string (``?token=``). Added here, it exists only in the request
sent on the wire: the Request objects that Scrapy logs, retries, caches and hands to callbacks never hold
it, and the Response keeps the token-free URL.

The per-host cap (``CONCURRENT_REQUESTS_PER_DOMAIN``, this process's share of ``[crawl]
per_host_concurrency``) is held here too, around the download itself: Scrapy 2.19's downloader on the
asyncio reactor counts a request as active only once its download task runs, so it can hand a slot one
request more than its concurrency (seen under load: 7 in flight to a host capped at 6).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

TOKEN_ENV_META = "token_env"  # noqa: S105 - a meta key, not a secret


class TokenHTTPDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._cap = max(1, crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def download_request(self, request: Request) -> Response:
        host = urlparse_cached(request).hostname or ""
        gate = self._hosts.get(host)
        if gate is None:
            gate = self._hosts[host] = asyncio.Semaphore(self._cap)
        async with gate:
            return await self._download(request)

    async def _download(self, request: Request) -> Response:
        env_name = request.meta.get(TOKEN_ENV_META)
        token = os.environ.get(env_name) if env_name else None
        if not token:
            return await super().download_request(request)
        sep = "&" if "?" in request.url else "?"
        wire = request.replace(url=f"{request.url}{sep}{urlencode({'token': token})}")
        response = await super().download_request(wire)
        # The handler records facts about the download (download_latency, which AutoThrottle needs) in the
        # meta of the request it was given; hand them back to the original request.
        for key, value in wire.meta.items():
            request.meta.setdefault(key, value)
        return response.replace(url=request.url)
