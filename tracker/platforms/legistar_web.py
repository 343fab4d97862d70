"""Legistar InSite web pages (Legislation.aspx, LegislationDetail.aspx).

Settings of a city on this platform; the spider is crawler/spiders/legistar_web.py.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from tracker.config import JurisdictionBase, _check_http_url
from tracker.platforms import LinkTarget


class Settings(JurisdictionBase):
    platform: Literal["legistar-web"]
    client: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    # The InSite site (default https://{client}.legistar.com).
    web_base: str | None = None

    @property
    def base(self) -> str:
        return self.web_base or f"https://{self.client}.legistar.com"

    @field_validator("web_base")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else _check_http_url(v)

    @property
    def source_key(self) -> str:
        return f"legistar-web:{self.client}"

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.base).hostname}
        return {h for h in found if h}


def parse_url(url: str) -> LinkTarget | None:
    return None
