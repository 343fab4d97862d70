"""The platform adapter contract (docs/platforms.md).

A platform is:

- one module, ``tracker/platforms/<module>.py``, with everything the tracker knows about the platform's data
  and no Scrapy in it: its ``Settings`` (a :class:`tracker.platforms.base.JurisdictionConfig` subclass whose
  ``platform`` is a one-value ``Literal``: the config keys of a city on that platform, validated on load),
  ``parse_url(url)`` (whether a public URL names one of its bills: track by link), and the parsers from its
  raw payloads to the contract (:mod:`tracker.contract`);
- a spider (``crawler/spiders/<module>.py``, on :class:`crawler.spiders.base.PortalSpider`) that only makes
  the requests: it takes the :class:`crawler.jobs.CrawlJob` of every city of that platform in a crawl and
  stages ``{"slug": ..., "bill": NormalizedBill}`` items (or the platform's parser to run on a record's
  payloads); the rest of the tracker (import, status log, matching, digests) is shared;
- a line in :data:`PLATFORMS` and in :data:`AnyJurisdiction` below;
- fixtures, tests and a docs page (docs/platforms.md, "Adding a platform").

Adding a city on a supported platform is a config entry only.

Dependencies point one way: tracker/config.py imports this package (for :data:`AnyJurisdiction`); the
platform modules import :mod:`tracker.platforms.base` and :mod:`tracker.config_fields`, never the config.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from tracker.platforms import civicclerk, elms, legistar, legistar_web, primegov
from tracker.platforms.base import JurisdictionConfig, LinkTarget

Observes = Literal["bills", "agenda_items"]


@dataclass(frozen=True)
class Platform:
    name: str
    module: ModuleType  # tracker.platforms.<module>: Settings, parse_url, the parsers
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
            legistar,
            "crawler.spiders.legistar:LegistarApiSpider",
            "bills",
            True,
            "Legistar Web API (webapi.legistar.com/v1/{client})",
            splits_backfills=True,
        ),
        Platform(
            "legistar-web",
            legistar_web,
            "crawler.spiders.legistar_web:LegistarWebSpider",
            "bills",
            False,
            "Legistar InSite web pages ({client}.legistar.com): legislation search and detail pages",
        ),
        Platform(
            "primegov",
            primegov,
            "crawler.spiders.primegov:PrimeGovSpider",
            "agenda_items",
            False,
            "PrimeGov public portal ({tenant}.primegov.com): meetings and their agenda items",
        ),
        Platform(
            "civicclerk",
            civicclerk,
            "crawler.spiders.civicclerk:CivicClerkSpider",
            "agenda_items",
            False,
            "CivicClerk OData API ({tenant}.api.civicclerk.com/v1): events and their agenda items",
        ),
        Platform(
            "elms",
            elms,
            "crawler.spiders.elms:ElmsSpider",
            "bills",
            True,
            "Chicago eLMS public API (api.chicityclerkelms.chicago.gov): matters, actions, sponsors",
            splits_backfills=True,
        ),
    )
}


def platform(name: str) -> Platform:
    return PLATFORMS[name]


def settings_classes() -> dict[str, type[JurisdictionConfig]]:
    return {name: p.module.Settings for name, p in PLATFORMS.items()}


def _platform_of(value: Any) -> str:
    if isinstance(value, dict):
        platform = value.get("platform")
        return platform if isinstance(platform, str) else ""
    return str(getattr(value, "platform", ""))


#: Any platform's jurisdiction settings, as the config reads them: the ``platform`` key picks the class.
AnyJurisdiction = Annotated[
    Annotated[legistar.Settings, Tag("legistar")]
    | Annotated[legistar_web.Settings, Tag("legistar-web")]
    | Annotated[primegov.Settings, Tag("primegov")]
    | Annotated[civicclerk.Settings, Tag("civicclerk")]
    | Annotated[elms.Settings, Tag("elms")],
    Discriminator(
        _platform_of,
        custom_error_type="unknown_platform",
        custom_error_message="platform must be one of " + ", ".join(repr(n) for n in PLATFORMS),
    ),
]


def spider_class(name: str) -> Any:
    module, _, attr = PLATFORMS[name].spider.partition(":")
    return getattr(importlib.import_module(module), attr)


def parse_url(url: str) -> list[LinkTarget]:
    """Every platform's reading of a URL (usually none or one)."""
    found = []
    for p in PLATFORMS.values():
        target = p.module.parse_url(url)
        if target is not None:
            found.append(target)
    return found
