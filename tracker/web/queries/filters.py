"""The filters of a list page, parsed from its query string, and a page of results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from tracker.labels import STAGE_LABELS
from tracker.matcher import CATEGORY_CODES, DIRECTIONS
from tracker.read_model import FilterError, check_search_text
from tracker.safe_output import ascii_digits

PER_PAGE = 50
STAGES: tuple[str, ...] = tuple(STAGE_LABELS)
#: Review-state filter of the search: a state, "flagged" (changed after a decision) or "none" (not in review).
SEARCH_STATES: tuple[str, ...] = ("pending", "confirmed", "rejected", "flagged", "none")
#: Review-state filter of the queue: "open" = pending or flagged (what still needs an editor).
QUEUE_STATES: tuple[str, ...] = ("open", "pending", "flagged", "confirmed", "rejected")
DASHBOARD_DAYS = 7
#: Orders of the review queue besides the default (flagged, pending by score...): "uncertain" = uncertain
#: pending first.
QUEUE_ORDERS: tuple[str, ...] = ("uncertain",)


# -- filters ---------------------------------------------------------------------------------------------


def _one_of(name: str, value: str | None, allowed: Iterable[str]) -> str | None:
    if value is None:
        return None
    allowed = tuple(allowed)
    if value not in allowed:
        raise FilterError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name} must be a date like 2026-11-25, not {value!r}") from None


@dataclass(frozen=True)
class Filters:
    """The filters of a list page, parsed from its query string (empty values mean "any")."""

    q: str = ""
    jurisdiction: str | None = None
    stage: str | None = None
    category: str | None = None
    direction: str | None = None
    state: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    order: str | None = None
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str], *, states: tuple[str, ...] = SEARCH_STATES) -> Filters:
        def get(key: str) -> str | None:
            value = params.get(key)
            value = value.strip() if isinstance(value, str) else None
            return value or None

        page_text = get("page") or "1"
        if not ascii_digits(page_text) or len(page_text) > 7 or int(page_text) < 1:
            raise FilterError(f"page must be a number from 1 to 9999999, not {page_text[:20]!r}")
        q = check_search_text(params.get("q") or "")
        date_from, date_to = _date("from", get("from")), _date("to", get("to"))
        if date_from and date_to and date_from > date_to:
            raise FilterError(f"the date range is empty: from {date_from} is after to {date_to}")
        return cls(
            q=q,
            jurisdiction=get("jurisdiction"),
            stage=_one_of("stage", get("stage"), STAGES),
            category=_one_of("category", get("category"), CATEGORY_CODES),
            direction=_one_of("direction", get("direction"), DIRECTIONS),
            state=_one_of("state", get("state"), states),
            date_from=date_from,
            date_to=date_to,
            order=_one_of("order", get("order"), QUEUE_ORDERS),
            page=int(page_text),
        )

    def params(self, **overrides: Any) -> dict[str, str]:
        """The filters as query parameters (the empty ones and page 1 left out)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(overrides)
        names = {"date_from": "from", "date_to": "to"}
        out: dict[str, str] = {}
        for key, value in values.items():
            if value is None or value == "" or (key == "page" and value == 1):
                continue
            out[names.get(key, key)] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    def query_string(self, **overrides: Any) -> str:
        """``?a=1&b=2`` (or ``""``) for links: pages, CSV exports."""
        params = self.params(**overrides)
        return "?" + urlencode(params) if params else ""

    def with_page(self, page: int) -> Filters:
        return replace(self, page=page)


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first(self) -> int:
        return 0 if not self.rows else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return (self.page - 1) * self.per_page + len(self.rows)


#: Search text limits (pages and /api/bills): each word is one more scan of the bills, actions and
#: documents, so the number of words bounds the query's cost; PostgreSQL also stops a search after
#: SEARCH_TIMEOUT_MS (:func:`limit_search_time`).
