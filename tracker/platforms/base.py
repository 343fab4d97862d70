"""What every platform's settings and URL reading share: a jurisdiction's configuration, and what a public
URL names. No platform here, and nothing above the config's field checks: tracker/platforms/<platform>.py
imports this module, and tracker/config.py imports the platforms."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from tracker.config_fields import ENV_NAME, DocumentHost, Strict, check_cron, check_timezone
from tracker.stages import Stage

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_SOURCE_KEY = re.compile(r"^[a-z][a-z-]*:[A-Za-z0-9_.:-]+$")


class JurisdictionConfig(Strict):
    """What every jurisdiction has, whatever its platform. Each platform adds its own settings in a subclass
    (tracker/platforms/): the ``platform`` key picks the subclass, so each platform's keys are checked."""

    slug: str
    name: str = Field(min_length=1)
    platform: str
    token_env: str | None = None
    timezone: str = "UTC"
    # Raw status name -> stage, overriding the defaults for this jurisdiction only.
    stages: dict[str, Stage] = Field(default_factory=dict)
    # A portal that legitimately has no bills yet: an empty full crawl is then not an error.
    allow_empty: bool = False
    # Cron expression for the scheduler (five fields); the [schedule] default applies when absent.
    crawl_cron: str | None = None
    # Operator alert when no crawl has succeeded for this long; the [alerts] default applies when absent.
    stale_after_hours: float | None = Field(None, gt=0, le=24 * 3660)
    # Extra hosts bill documents may come from ('host' or 'host:port'), replacing the platform's defaults.
    document_hosts: list[DocumentHost] = Field(default_factory=list)
    # A portal move (docs/platforms.md): the source keys this jurisdiction was crawled from before, e.g.
    # "legistar:chicago". Bills from the new source are matched to the stored ones by file number.
    moved_from: list[str] = Field(default_factory=list)

    @field_validator("crawl_cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        return check_cron(v)

    @field_validator("slug")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError(f"slug {v!r} must be lowercase letters, digits, '-' or '_'")
        return v

    @field_validator("token_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not ENV_NAME.match(v):
            raise ValueError(f"token_env must be an environment variable name, got {v!r}")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v)

    @field_validator("moved_from")
    @classmethod
    def _moved(cls, v: list[str]) -> list[str]:
        for key in v:
            if not _SOURCE_KEY.match(key):
                raise ValueError(f"moved_from entries are source keys like 'legistar:chicago', got {key!r}")
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def token(self) -> str | None:
        """The portal token from the environment (never stored, never logged)."""
        if not self.token_env:
            return None
        value = os.environ.get(self.token_env)
        return value or None

    @property
    def source_key(self) -> str:
        """Which source this jurisdiction's bills come from: platform and client or host."""
        raise NotImplementedError

    @property
    def hosts(self) -> set[str]:
        """The portal's own host names (documents and tracked links are accepted from these only)."""
        raise NotImplementedError


@dataclass(frozen=True)
class LinkTarget:
    """What a public bill URL names: a bill of a platform on a host."""

    platform: str
    host: str
    # The bill's source id on that platform (what its spider fetches with ``CrawlJob.only``).
    source_id: str
    url: str
