"""PrimeGov public portal: meetings and their agenda items.

Settings of a city on this platform; the spider is crawler/spiders/primegov.py.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from tracker.config import JurisdictionBase, _check_http_url
from tracker.platforms import LinkTarget


class Settings(JurisdictionBase):
    platform: Literal["primegov"]
    tenant: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    # Default https://{tenant}.primegov.com.
    base_url: str | None = None
    # How far back meetings are read (agenda outcomes older than this are not seen).
    lookback_days: int = Field(365, ge=1, le=3650)

    @property
    def base(self) -> str:
        return self.base_url or f"https://{self.tenant}.primegov.com"

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else _check_http_url(v)

    @property
    def source_key(self) -> str:
        return f"primegov:{self.tenant}"

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.base).hostname}
        return {h for h in found if h}


def parse_url(url: str) -> LinkTarget | None:
    return None
