"""CivicClerk OData v4 API: events and their agenda items.

Settings of a city on this platform; the spider is crawler/spiders/civicclerk.py.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from tracker.config import JurisdictionBase, _check_http_url
from tracker.platforms import LinkTarget


class Settings(JurisdictionBase):
    platform: Literal["civicclerk"]
    tenant: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    # Default https://{tenant}.api.civicclerk.com (the API) and https://{tenant}.portal.civicclerk.com.
    api_base: str | None = None
    portal_base: str | None = None
    # How far back events are read (agenda outcomes older than this are not seen).
    lookback_days: int = Field(365, ge=1, le=3650)

    @property
    def api(self) -> str:
        return self.api_base or f"https://{self.tenant}.api.civicclerk.com"

    @property
    def portal(self) -> str:
        return self.portal_base or f"https://{self.tenant}.portal.civicclerk.com"

    @field_validator("api_base", "portal_base")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else _check_http_url(v)

    @property
    def source_key(self) -> str:
        return f"civicclerk:{self.tenant}"

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.api).hostname, urlsplit(self.portal).hostname}
        return {h for h in found if h}


def parse_url(url: str) -> LinkTarget | None:
    return None
