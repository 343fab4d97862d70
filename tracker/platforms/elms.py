"""Chicago eLMS public API: matters with their actions, sponsors and attachments.

Settings of a city on this platform; the spider is crawler/spiders/elms.py.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import field_validator

from tracker.config import JurisdictionBase, _check_http_url
from tracker.platforms import LinkTarget


class Settings(JurisdictionBase):
    platform: Literal["elms"]
    api_base: str = "https://api.chicityclerkelms.chicago.gov"
    # The public site, for links to a matter's page.
    web_base: str = "https://chicityclerkelms.chicago.gov"

    @field_validator("api_base", "web_base")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else _check_http_url(v)

    @property
    def source_key(self) -> str:
        return "elms:" + (urlsplit(self.api_base).hostname or "")

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.api_base).hostname, urlsplit(self.web_base).hostname}
        return {h for h in found if h}


def parse_url(url: str) -> LinkTarget | None:
    return None
