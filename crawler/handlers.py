"""An HTTP download handler that adds the portal token at the very last moment.

The Legistar token travels in the query string (``?token=``). Added here, it exists only in the request
sent on the wire: the Request objects that Scrapy logs, retries, caches and hands to callbacks never hold
it, and the Response keeps the token-free URL.
"""

from __future__ import annotations

import os
from urllib.parse import urlencode

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.http import Request, Response

TOKEN_ENV_META = "token_env"  # noqa: S105 - a meta key, not a secret


class TokenHTTPDownloadHandler(HTTP11DownloadHandler):
    async def download_request(self, request: Request) -> Response:
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
