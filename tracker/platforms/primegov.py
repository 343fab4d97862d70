"""PrimeGov public portal: meetings and their agenda items.

Settings of a city on this platform; the spider is crawler/spiders/primegov.py, the wire format and what
is read are in docs/platform-primegov.md.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from tracker.config_fields import check_http_url
from tracker.platforms.agenda import AgendaSettings
from tracker.platforms.base import LinkTarget


class Settings(AgendaSettings):
    platform: Literal["primegov"]
    tenant: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    # Default https://{tenant}.primegov.com.
    base_url: str | None = None
    # Only the meetings of these committees (the listings' committeeId); empty: every committee.
    committee_ids: list[int] = Field(default_factory=list)

    @property
    def base(self) -> str:
        return self.base_url or f"https://{self.tenant}.primegov.com"

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_http_url(v)

    @field_validator("committee_ids")
    @classmethod
    def _ids(cls, v: list[int]) -> list[int]:
        if any(i < 0 for i in v) or len(set(v)) != len(v):
            raise ValueError("committee_ids are distinct committee numbers (the listings' committeeId)")
        return v

    @property
    def source_key(self) -> str:
        return f"primegov:{self.tenant}"

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.base).hostname}
        return {h for h in found if h}


def parse_url(url: str) -> LinkTarget | None:
    """PrimeGov has no public page per bill: its meeting pages (``/Portal/Meeting?meetingTemplateId=...``)
    name a meeting, and an item there (``#AgendaItem_...``) carries its file number only in the page. A
    URL the tracker itself recorded for a bill is still recognised (tracker/track.py looks stored URLs up
    first)."""
    return None
