"""CivicClerk OData v4 API: events and their agenda items.

Settings of a city on this platform; the spider is crawler/spiders/civicclerk.py, the wire format and what
is read are in docs/platform-civicclerk.md.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from tracker.config_fields import check_http_url
from tracker.platforms.agenda import AgendaSettings
from tracker.platforms.base import LinkTarget


class Settings(AgendaSettings):
    platform: Literal["civicclerk"]
    tenant: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    # Default https://{tenant}.api.civicclerk.com (the API) and https://{tenant}.portal.civicclerk.com.
    api_base: str | None = None
    portal_base: str | None = None
    # How far ahead events are read (the agenda of a meeting weeks away is often published already).
    lookahead_days: int = Field(60, ge=0, le=365)
    # Only the events of these categories (the API's categoryId, e.g. 26 "City Council"); empty: all.
    category_ids: list[int] = Field(default_factory=list)

    @property
    def api(self) -> str:
        return self.api_base or f"https://{self.tenant}.api.civicclerk.com"

    @property
    def portal(self) -> str:
        return self.portal_base or f"https://{self.tenant}.portal.civicclerk.com"

    @field_validator("api_base", "portal_base")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_http_url(v)

    @field_validator("category_ids")
    @classmethod
    def _ids(cls, v: list[int]) -> list[int]:
        if any(i < 0 for i in v) or len(set(v)) != len(v):
            raise ValueError("category_ids are distinct category numbers (the events' categoryId)")
        return v

    @property
    def source_key(self) -> str:
        return f"civicclerk:{self.tenant}"

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.api).hostname, urlsplit(self.portal).hostname}
        return {h for h in found if h}


def parse_url(url: str) -> LinkTarget | None:
    """CivicClerk has no public page per bill: its portal pages (``/event/{id}/files``) name a meeting, and
    an item's resolution or ordinance number is only in the API's agenda. A URL the tracker itself recorded
    for a bill is still recognised (tracker/track.py looks stored URLs up first)."""
    return None
