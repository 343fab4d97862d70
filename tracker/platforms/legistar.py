"""Legistar Web API settings (the spider is crawler/spiders/legistar.py, the normalizer
tracker/normalize.py ``normalize_matter``)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import Field, field_validator

from tracker.config import LEGISTAR_API, JurisdictionBase, _check_http_url
from tracker.platforms import LinkTarget


class Settings(JurisdictionBase):
    platform: Literal["legistar"]
    client: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    api_base: str = LEGISTAR_API
    # The InSite site of the client, for public links (default https://{client}.legistar.com).
    web_base: str | None = None

    @field_validator("api_base", "web_base")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else _check_http_url(v)

    @property
    def source_key(self) -> str:
        return f"legistar:{self.client}"

    @property
    def public_base(self) -> str:
        return self.web_base or f"https://{self.client}.legistar.com"

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.api_base).hostname, urlsplit(self.public_base).hostname}
        return {h for h in found if h}


def parse_legislation_detail(url: str) -> tuple[str, str] | None:
    """(host, matter id) of an InSite ``LegislationDetail.aspx?ID=...`` URL (the ID is the API's MatterId)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if not parts.path.lower().endswith("/legislationdetail.aspx"):
        return None
    ids = parse_qs(parts.query).get("ID") or parse_qs(parts.query).get("id")
    if not ids or not ids[0].isdigit():
        return None
    return parts.hostname.lower(), ids[0]


def parse_url(url: str) -> LinkTarget | None:
    found = parse_legislation_detail(url)
    if found is None:
        return None
    host, matter_id = found
    return LinkTarget(platform="legistar", host=host, source_id=matter_id, url=url)
