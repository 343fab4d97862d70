"""What a crawl's worker process imports, and what Scrapy imports of the components the tracker turns off.

A split backfill's worker process (crawler/process.py) spawns a fresh interpreter whose imports delay its
shard's start (docs/architecture.md, "Crawl cost"): it must not import the database layer, and Scrapy must
not import the components crawler/settings.py disables (RemoteControl's module imports aiohttp's server).
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

CHECK = """
import sys
import crawler.process
from scrapy.settings import Settings
from crawler.settings import crawl_settings
from tracker.config import CrawlSettings
from tracker.platforms import spider_class

settings = Settings(crawl_settings(CrawlSettings()))
enabled = {
    name: settings.get_component_priority_dict_with_base(name)
    for name in ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES")
}
for name, components in enabled.items():
    assert all(order is not None for order in components.values()), (name, dict(components))
assert "crawler.middlewares.BackoffRetryMiddleware" in enabled["DOWNLOADER_MIDDLEWARES"]
spider_class("legistar")
for module in ("sqlalchemy", "db.models", "scrapy.extensions.remote_control", "aiohttp",
               "scrapy.downloadermiddlewares.cookies", "scrapy.extensions.telnet"):
    assert module not in sys.modules, module
print("ok")
"""


def test_the_worker_side_imports_no_database_and_no_disabled_component():
    out = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_disabled_components_stay_disabled():
    from crawler import settings

    for name in ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES"):
        base = getattr(settings, f"{name}_BASE")
        assert "scrapy.extensions.remote_control.RemoteControl" not in base
        assert None not in getattr(settings, name).values()
    downloader = settings.DOWNLOADER_MIDDLEWARES_BASE
    assert "scrapy.downloadermiddlewares.retry.RetryMiddleware" not in downloader
    assert "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware" in downloader
    assert "scrapy.extensions.throttle.AutoThrottle" in settings.EXTENSIONS_BASE
    assert set(settings.DOWNLOAD_HANDLERS_BASE) == {"http", "https"}
