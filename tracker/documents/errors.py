"""What goes wrong fetching a document, said in one line."""

from __future__ import annotations


class TooLarge(Exception):
    """The document is larger than ``max_bytes``."""


class FetchFailed(Exception):
    """The download failed (network, HTTP status, timeout, too many redirects)."""


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_url(url: str) -> str:
    return one_line(url, 120)
