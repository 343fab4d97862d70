"""The platform adapter contract (docs/platforms.md).

A platform is:

- a settings class (``tracker/platforms/<module>.py`` ``Settings``, a :class:`tracker.config.JurisdictionBase`
  subclass whose ``platform`` is a one-value ``Literal``): the config keys of a city on that platform,
  validated on load;
- a spider (``crawler/spiders/<module>.py``) that takes the :class:`crawler.jobs.CrawlJob` of every city of
  that platform in a crawl and stages :class:`tracker.contract.NormalizedBill` items (``{"slug": ...,
  "bill": NormalizedBill}``); the rest of the tracker (import, status log, matching, digests) is shared;
- a normalizer from its native fields and status words to the tracker's bill, action and stage;
- ``parse_url(url)`` in the settings module: whether a public URL names one of its bills (track by link);
- fixtures and tests.

Adding a city on a supported platform is a config entry only.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tracker.config import JurisdictionBase

Observes = Literal["bills", "agenda_items"]


@dataclass(frozen=True)
class Platform:
    name: str
    module: str  # tracker.platforms.<module>: Settings, parse_url
    spider: str  # "crawler.spiders.<module>:<Class>"
    # What the source shows: "bills" (a status per bill, kept by the portal) or "agenda_items" (outcomes of
    # items on meeting agendas: a bill's status is the last outcome seen, and only meetings in the crawl's
    # window are seen).
    observes: Observes
    # Whether a full crawl lists every bill of the source, so that a bill absent from it has vanished.
    lists_everything: bool
    description: str
    # Whether its spider honours ``CrawlJob.shard`` (fetches only the bills it owns), so that a full crawl
    # can be split over ``[crawl] processes`` worker processes (tracker/crawl.py).
    splits_backfills: bool = False


PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(
            "legistar",
            "tracker.platforms.legistar",
            "crawler.spiders.legistar:LegistarApiSpider",
            "bills",
            True,
            "Legistar Web API (webapi.legistar.com/v1/{client})",
            splits_backfills=True,
        ),
        Platform(
            "legistar-web",
            "tracker.platforms.legistar_web",
            "crawler.spiders.legistar_web:LegistarWebSpider",
            "bills",
            False,
            "Legistar InSite web pages ({client}.legistar.com): legislation search and detail pages",
        ),
        Platform(
            "primegov",
            "tracker.platforms.primegov",
            "crawler.spiders.primegov:PrimeGovSpider",
            "agenda_items",
            False,
            "PrimeGov public portal ({tenant}.primegov.com): meetings and their agenda items",
        ),
        Platform(
            "civicclerk",
            "tracker.platforms.civicclerk",
            "crawler.spiders.civicclerk:CivicClerkSpider",
            "agenda_items",
            False,
            "CivicClerk OData API ({tenant}.api.civicclerk.com/v1): events and their agenda items",
        ),
        Platform(
            "elms",
            "tracker.platforms.elms",
            "crawler.spiders.elms:ElmsSpider",
            "bills",
            True,
            "Chicago eLMS public API (api.chicityclerkelms.chicago.gov): matters, actions, sponsors",
        ),
    )
}


def platform(name: str) -> Platform:
    return PLATFORMS[name]


@cache
def settings_classes() -> dict[str, type[JurisdictionBase]]:
    return {name: importlib.import_module(p.module).Settings for name, p in PLATFORMS.items()}


def spider_class(name: str) -> Any:
    module, _, attr = PLATFORMS[name].spider.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class LinkTarget:
    """What a public bill URL names: a bill of a platform on a host."""

    platform: str
    host: str
    # The bill's source id on that platform (what its spider fetches with ``CrawlJob.only``).
    source_id: str
    url: str


def parse_url(url: str) -> list[LinkTarget]:
    """Every platform's reading of a URL (usually none or one)."""
    found = []
    for p in PLATFORMS.values():
        target = importlib.import_module(p.module).parse_url(url)
        if target is not None:
            found.append(target)
    return found


# Last, so that importing a platform module first works: the config module builds its union of settings
# classes from this registry when it is first imported, and each platform module imports the config.
import tracker.config  # noqa: E402, F401
