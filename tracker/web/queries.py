"""Read-side queries of the web pages (issue 6): search and lists of bills, the editors' review queue, one
bill's page, the dashboard and the living list; and the safe renderings every list shares (evidence marked
in escaped HTML, CSV cells that cannot be formulas, Markdown that cannot be markup).

Everything here runs on SQLite and PostgreSQL alike: every value is a bound parameter, text search is a
case-insensitive ``LIKE`` (``ILIKE`` on PostgreSQL) with ``%``, ``_`` and the escape character escaped, and
the few engine-specific bits (a JSON array containing a category code) are chosen by dialect.

The search is in one place, :func:`search_bills` (its text condition in :func:`text_condition`), so that
the documents' text (issue 7) can be added as one more column or subquery.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sqlalchemy import Select, and_, func, or_, select, text
from sqlalchemy.orm import Session, defer, selectinload

from db.models import Action, Bill, Jurisdiction, StatusChange
from db.models_review import BillMatch, ReviewEvent
from db.types import utcnow
from tracker.digests.labels import STAGE_LABELS, category_label, direction_label, stage_label
from tracker.errors import TrackerError
from tracker.matcher import CATEGORY_CODES, DIRECTIONS
from tracker.read_model import (
    bill_record,
    check_jurisdiction,
    has_category,
    match_record,
    review_queue_query,
    review_state_condition,
    safe_url,
    text_condition,
)
from tracker.safe_output import csv_cell
from tracker.signals import EVIDENCE_LEGEND, evidence_what, match_direction_reason

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


class FilterError(TrackerError):
    """A filter of a page's query string is not valid (shown as one line, status 400)."""


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
        if not page_text.isdigit() or int(page_text) < 1 or len(page_text) > 7:
            raise FilterError(f"page must be a positive number, not {page_text!r}")
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


# -- SQL building blocks ---------------------------------------------------------------------------------


#: Search text limits (pages and /api/bills): each word is one more scan of the bills, actions and
#: documents, so the number of words bounds the query's cost; PostgreSQL also stops a search after
#: SEARCH_TIMEOUT_MS (:func:`limit_search_time`).
MAX_SEARCH_CHARS = 200
MAX_SEARCH_WORDS = 20
SEARCH_TIMEOUT_MS = 5000


def check_search_text(q: str) -> str:
    """The search text with its whitespace collapsed, or a FilterError (a 400) when it is too long."""
    q = " ".join(q.replace("\x00", " ").split())
    if len(q) > MAX_SEARCH_CHARS:
        raise FilterError(f"the search text is longer than {MAX_SEARCH_CHARS} characters")
    if len(q.split()) > MAX_SEARCH_WORDS:
        raise FilterError(f"the search text has more than {MAX_SEARCH_WORDS} words")
    return q


def limit_search_time(session: Session) -> None:
    """On PostgreSQL, a statement timeout for the rest of this request's transaction (``SET LOCAL``): a
    search that runs longer is cancelled, and the app answers 503 (tracker/web/app.py)."""
    if _dialect(session) == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = {int(SEARCH_TIMEOUT_MS)}"))


def _state_condition(state: str | None) -> Any:
    if state is None:
        return None
    if state == "none":
        return BillMatch.review_state.is_(None)
    return review_state_condition([state])


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _jurisdiction_id(session: Session, slug: str | None) -> int | None:
    """The id of the jurisdiction ``slug`` (None for no slug); an unknown slug is a FilterError."""
    if not slug:
        return None
    found = session.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == slug))
    if found is None:
        try:
            check_jurisdiction(session, slug)
        except TrackerError as exc:
            raise FilterError(str(exc)) from None
    return found


def _needs_match(f: Filters) -> bool:
    return bool(f.category or f.direction or f.state)


def _conditions(session: Session, f: Filters) -> list[Any]:
    if f.q:
        limit_search_time(session)
    jurisdiction_id = _jurisdiction_id(session, f.jurisdiction)
    dialect = _dialect(session)
    conds = [
        text_condition(f.q, dialect),
        Bill.jurisdiction_id == jurisdiction_id if jurisdiction_id is not None else None,
        Bill.stage == f.stage if f.stage else None,
        has_category(f.category, dialect) if f.category else None,
        BillMatch.effective_direction == f.direction if f.direction else None,
        _state_condition(f.state),
        Bill.introduced >= f.date_from if f.date_from else None,
        Bill.introduced <= f.date_to if f.date_to else None,
    ]
    return [c for c in conds if c is not None]


# Columns a list never shows: left out of every list query (``raw`` can be large).
_LIST_DEFERRED = (
    defer(Bill.raw),
    defer(BillMatch.category_scores),
    defer(BillMatch.content_keys),
    defer(BillMatch.decided_content),
)


def _ids_query(session: Session, f: Filters) -> Select[Any]:
    """The ids of the bills passing the filters, joined only to what the filters need (a page is chosen
    on this narrow query, then its rows are loaded: a deep page does not join every row it skips)."""
    q = select(Bill.id)
    if _needs_match(f):
        q = q.outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
    return q.where(*_conditions(session, f))


def _queue_query(session: Session, f: Filters, *columns: Any) -> Select[Any]:
    """The review queue's query (:func:`tracker.read_model.review_queue_query`, also ``tracker review
    list``'s) under the filters: by default the open bills (pending or flagged)."""
    return review_queue_query(
        *columns,
        states=[f.state or "open"],
        conditions=_conditions(session, replace(f, state=None)),
        uncertain_first=f.order == "uncertain",
    )


def _rows(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """The list rows of these bills, in this order (one query)."""
    if not ids:
        return []
    q = (
        select(Bill, Jurisdiction, BillMatch)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
        .where(Bill.id.in_(ids))
        .options(*_LIST_DEFERRED)
    )
    by_id = {b.id: bill_row(b, j, m) for b, j, m in session.execute(q)}
    # the latest action date of each (the review card shows it, so an editor can prioritise)
    latest = dict(
        session.execute(
            select(Action.bill_id, func.max(Action.action_date))
            .where(Action.bill_id.in_(ids))
            .group_by(Action.bill_id)
        ).all()
    )
    for i, row in by_id.items():
        row["latest_action_date"] = latest.get(i)
    return [by_id[i] for i in ids]


def _paged(session: Session, ids_q: Select[Any], f: Filters, order: list[Any], per_page: int) -> Page:
    """One page of a list: its ids and the total in one query (a window count), then its rows."""
    hits = session.execute(
        ids_q.add_columns(func.count().over().label("total"))
        .order_by(*order)
        .limit(per_page)
        .offset((f.page - 1) * per_page)
    ).all()
    if hits:
        total = hits[0].total
    elif f.page == 1:
        total = 0
    else:  # past the last page: count on its own
        total = session.scalar(select(func.count()).select_from(ids_q.subquery())) or 0
    return Page(_rows(session, [h.id for h in hits]), total, f.page, per_page)


# -- rows ------------------------------------------------------------------------------------------------


def bill_row(
    bill: Bill, jurisdiction: Jurisdiction, match: BillMatch | None, *, evidence: bool = True
) -> dict[str, Any]:
    """One bill of a list, with its effective match fields (the editor's word when there is one); without
    ``evidence`` (a list that defers that column)."""
    return {
        "id": bill.id,
        "jurisdiction": jurisdiction.slug,
        "city": jurisdiction.name,
        "identifier": bill.identifier,
        "title": bill.title,
        "name": bill.name,
        "status": bill.status,
        "stage": bill.stage,
        "introduced": bill.introduced,
        "first_seen_at": bill.first_seen_at,
        "url": safe_url(bill.public_url),
        "matched": match is not None,
        "relevant": match.effective_relevant if match else None,
        "score": match.score if match else None,
        "categories": match.effective_categories if match else [],
        "direction": match.effective_direction if match else None,
        "review_state": match.review_state if match else None,
        "needs_review": bool(match and match.needs_review),
        "needs_review_reason": match.needs_review_reason if match else None,
        "source": match.source if match else None,
        "decided_by": match.decided_by if match else None,
        "decided_at": match.decided_at if match else None,
        "note": match.note if match else None,
        "machine_categories": list(match.categories) if match else [],
        "machine_direction": match.direction if match else None,
        "evidence": list(match.evidence or []) if match and evidence else [],
        "uncertain": bool(match and match.uncertain),
        "learned": match.learned if match and isinstance(match.learned, dict) else None,
        # why this direction, in words (the evidence column is loaded by every list: it is small)
        "direction_reason": match_direction_reason(match),
    }


# -- search, the queue -----------------------------------------------------------------------------------


_SEARCH_ORDER = [Bill.introduced.desc().nulls_last(), Bill.id.desc()]


def search_bills(session: Session, f: Filters, *, per_page: int = PER_PAGE) -> Page:
    """Every bill (matched or not) passing the filters, newest introduced first, one page."""
    return _paged(session, _ids_query(session, f), f, _SEARCH_ORDER, per_page)


def review_queue(session: Session, f: Filters, *, per_page: int = PER_PAGE) -> Page:
    """Bills in review (by default the open ones: pending or flagged), one page, in the queue's one order
    (:func:`tracker.read_model.queue_order`, shared with ``tracker review list``): flagged first, then
    pending, confirmed, rejected, best score first; ``order=uncertain``: uncertain pending bills first."""
    return _paged(session, _queue_query(session, f, Bill.id), f, [], per_page)


def export_row(bill: Bill, jurisdiction: Jurisdiction, match: BillMatch | None) -> dict[str, Any]:
    """A row of the CSV exports: the bill's record and its match's (:mod:`tracker.read_model`), its
    ``url`` the public page when it is a safe link."""
    row = {**bill_record(bill, jurisdiction), **match_record(match)}
    row["url"] = row["link"]
    return row


def export_rows(session: Session, f: Filters, *, queue: bool = False) -> list[dict[str, Any]]:
    """Every row of a list (search, or the queue with ``queue``) in the list's order, for the CSV export:
    one query, not one page."""
    columns = (Bill, Jurisdiction, BillMatch)
    if queue:
        q = _queue_query(session, f, *columns)
    else:
        q = (
            select(*columns)
            .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
            .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
            .where(*_conditions(session, f))
            .order_by(*_SEARCH_ORDER)
        )
    q = q.options(*_LIST_DEFERRED).execution_options(yield_per=2000)
    return [export_row(b, j, m) for b, j, m in session.execute(q)]


def review_row(session: Session, bill_id: int) -> dict[str, Any] | None:
    """One bill as a row of the queue (after a decision, for the partial that replaces the row)."""
    rows = _rows(session, [bill_id])
    return rows[0] if rows else None


def jurisdictions(session: Session) -> list[tuple[str, str]]:
    """(slug, name) of every jurisdiction, for the filters."""
    q = select(Jurisdiction.slug, Jurisdiction.name).order_by(Jurisdiction.name, Jurisdiction.slug)
    return [(slug, name) for slug, name in session.execute(q)]


# -- one bill --------------------------------------------------------------------------------------------


def bill_page(session: Session, bill_id: int) -> dict[str, Any] | None:
    """Everything the bill page shows, in a fixed number of queries (None for an unknown id)."""
    bill = session.scalar(
        select(Bill)
        .where(Bill.id == bill_id)
        .options(
            selectinload(Bill.jurisdiction),
            selectinload(Bill.sponsors),
            selectinload(Bill.actions),
            selectinload(Bill.attachments),
            selectinload(Bill.status_changes),
        )
    )
    if bill is None:
        return None
    match = session.get(BillMatch, bill.id)
    events = session.scalars(
        select(ReviewEvent).where(ReviewEvent.bill_id == bill.id).order_by(ReviewEvent.id)
    ).all()
    actions_by_id = {a.id: a for a in bill.actions}
    changes = [
        {"change": c, "action": actions_by_id.get(c.action_id) if c.action_id else None}
        for c in sorted(bill.status_changes, key=lambda c: c.seq, reverse=True)
    ]
    return {
        "bill": bill,
        "jurisdiction": bill.jurisdiction,
        "row": bill_row(bill, bill.jurisdiction, match),
        "match": match,
        "events": list(events),
        "sponsors": list(bill.sponsors),
        "actions": sorted(bill.actions, key=lambda a: a.sequence, reverse=True),
        "attachments": [{"name": a.name, "url": safe_url(a.url), "raw_url": a.url} for a in bill.attachments],
        "status_changes": changes,
        "public_url": safe_url(bill.public_url),
    }


def open_reviews(session: Session) -> int:
    """How many bills wait for an editor (pending, or flagged after a decision): the queue's default."""
    return (
        session.scalar(
            select(func.count())
            .select_from(BillMatch)
            .where(BillMatch.review_state.is_not(None), review_state_condition(["open"]))
        )
        or 0
    )


# -- the dashboard ---------------------------------------------------------------------------------------


def dashboard_window(now: datetime | None = None, days: int = DASHBOARD_DAYS) -> tuple[datetime, datetime]:
    now = now or utcnow()
    return now - timedelta(days=days), now


def new_matches(
    session: Session, since: datetime, now: datetime, *, limit: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Measures that are new in the window, as in the digests: relevant (the editor's word first), and first
    seen by the tracker in the window or confirmed by an editor in it. Newest first; (rows, total)."""
    confirmed_in_window = and_(
        BillMatch.review_state == "confirmed", BillMatch.decided_at >= since, BillMatch.decided_at <= now
    )
    q = (
        select(Bill, Jurisdiction, BillMatch, func.count().over().label("total"))
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .where(
            BillMatch.effective_relevant,
            or_(and_(Bill.first_seen_at >= since, Bill.first_seen_at <= now), confirmed_in_window),
        )
        .options(*_LIST_DEFERRED)
        .order_by(Bill.first_seen_at.desc(), Bill.id.desc())
    )
    if limit is not None:
        q = q.limit(limit)
    rows = session.execute(q).all()
    total = rows[0].total if rows else 0
    return [bill_row(b, j, m, evidence=False) for b, j, m, _ in rows], total


def recent_status_changes(
    session: Session, since: datetime, now: datetime, *, limit: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Status changes observed in the window of bills that are measures (relevant, the editor's word
    first), newest first, each with the action that explains it; (rows, total)."""
    q = (
        select(StatusChange, Bill, Jurisdiction, BillMatch, Action, func.count().over().label("total"))
        .join(Bill, StatusChange.bill_id == Bill.id)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .outerjoin(Action, StatusChange.action_id == Action.id)
        .where(
            StatusChange.kind == "changed",
            StatusChange.observed_at >= since,
            StatusChange.observed_at <= now,
            BillMatch.effective_relevant,
        )
    )
    q = q.options(*_LIST_DEFERRED, defer(Action.raw)).order_by(
        StatusChange.observed_at.desc(), StatusChange.id.desc()
    )
    if limit is not None:
        q = q.limit(limit)
    rows = session.execute(q).all()
    out = []
    for change, bill, jurisdiction, match, action, _ in rows:
        row = bill_row(bill, jurisdiction, match, evidence=False)
        row.update(
            observed_at=change.observed_at,
            old_status=change.old_status,
            new_status=change.new_status,
            old_stage=change.old_stage,
            new_stage=change.new_stage,
            action_date=action.action_date if action else None,
            action=action.description if action else None,
        )
        out.append(row)
    return out, rows[0].total if rows else 0


# -- the living list -------------------------------------------------------------------------------------

DIRECTION_ORDER = ("expands", "restricts", "neutral")


def _last_actions(session: Session, bill_ids: Select[Any]) -> dict[int, tuple[date | None, str | None]]:
    """The last action (date, name) of each bill of a subquery of ids: one query (a window function)."""
    ranked = (
        select(
            Action.bill_id,
            Action.action_date,
            Action.description,
            func.row_number()
            .over(partition_by=Action.bill_id, order_by=Action.sequence.desc())
            .label("rank"),
        )
        .where(Action.bill_id.in_(bill_ids))
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.bill_id, ranked.c.action_date, ranked.c.description).where(ranked.c.rank == 1)
    )
    return {bill_id: (day, name) for bill_id, day, name in rows}


@dataclass
class LivingGroup:
    jurisdiction: str
    city: str
    directions: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(rows) for _, rows in self.directions)


def living_list(session: Session, *, jurisdiction: str | None = None) -> list[LivingGroup]:
    """The measures editors confirmed, by city (by name) and direction (expands, restricts, neutral), each
    with its stage, categories and last action."""
    jurisdiction_id = _jurisdiction_id(session, jurisdiction)
    q = (
        select(Bill, Jurisdiction, BillMatch)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .where(BillMatch.review_state == "confirmed")
    )
    if jurisdiction_id is not None:
        q = q.where(Bill.jurisdiction_id == jurisdiction_id)
    ids = q.with_only_columns(Bill.id)
    last = _last_actions(session, ids)
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    cities: dict[str, str] = {}
    q = q.options(*_LIST_DEFERRED).order_by(
        Jurisdiction.name, Jurisdiction.slug, Bill.introduced.is_(None), Bill.introduced.desc(), Bill.id
    )
    for bill, j, match in session.execute(q):
        row = bill_row(bill, j, match, evidence=False)
        row["last_action_date"], row["last_action"] = last.get(bill.id, (None, None))
        cities[j.slug] = j.name
        direction = row["direction"] if row["direction"] in DIRECTION_ORDER else "neutral"
        groups.setdefault(j.slug, {}).setdefault(direction, []).append(row)
    return [
        LivingGroup(slug, cities[slug], [(d, by_dir[d]) for d in DIRECTION_ORDER if d in by_dir])
        for slug, by_dir in groups.items()
    ]


# -- renderings ------------------------------------------------------------------------------------------

_KIND_RANK = {"term": 0, "cue": 1, "negative": 2}


def highlight_html(text: str | None, evidence: list[dict[str, Any]], field: str) -> Markup:
    """``text`` escaped, with every evidence span of ``field`` in a ``<mark>`` (class ``term``, ``cue`` or
    ``negative``): the web twin of :func:`tracker.review.highlight`, whose rules it follows (overlapping
    spans make one mark of the strongest kind; spans that no longer match the text are left unmarked)."""
    text = text or ""
    spans = []
    for e in evidence or []:
        if not isinstance(e, dict) or e.get("field") != field or e.get("kind") not in _KIND_RANK:
            continue
        start, end = e.get("start"), e.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or text[start:end] != e.get("phrase"):
            continue
        if start < end:
            spans.append((start, end, e["kind"]))
    spans.sort()
    merged: list[list[Any]] = []
    for start, end, kind in spans:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if _KIND_RANK[kind] < _KIND_RANK[last[2]]:
                last[2] = kind
        else:
            merged.append([start, end, kind])
    out, pos = Markup(""), 0
    for start, end, kind in merged:
        out += escape(text[pos:start])
        out += Markup('<mark class="ev-{}">{}</mark>').format(kind, text[start:end])
        pos = end
    return out + escape(text[pos:])


def to_csv(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return out.getvalue()


BILL_CSV_COLUMNS = [
    "id", "jurisdiction", "city", "identifier", "title", "status", "stage", "introduced", "first_seen_at",
    "relevant", "score", "categories", "direction", "review_state", "needs_review", "url",
]  # fmt: skip
REVIEW_CSV_COLUMNS = [*BILL_CSV_COLUMNS, "decided_by", "decided_at", "note", "needs_review_reason"]
CHANGE_CSV_COLUMNS = [
    "observed_at", "id", "jurisdiction", "city", "identifier", "title", "old_status", "new_status",
    "old_stage", "new_stage", "action_date", "action", "categories", "direction", "review_state", "url",
]  # fmt: skip
LIVING_CSV_COLUMNS = [
    "city", "jurisdiction", "identifier", "title", "stage", "status", "categories", "direction",
    "last_action_date", "last_action", "url",
]  # fmt: skip

# Every ASCII character that means something to CommonMark or GitHub's Markdown (links, images, HTML,
# entities, emphasis, code, tables, headings, lists) and ":" "@" (autolinks of URLs and e-mail addresses).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&:@$])")


def md_escape(text: Any) -> str:
    """Scraped text made inert in Markdown: one line, every special character backslash-escaped, so a title
    cannot open a link, an image, HTML, code or a table cell."""
    text = " ".join(str(text if text is not None else "").split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_link(label: str, url: str | None) -> str:
    """``[label](<url>)`` for a safe http(s) URL (its own ``<``, ``>`` and backslashes percent-encoded),
    else the escaped label alone."""
    url = safe_url(url)
    if not url:
        return md_escape(label)
    url = url.replace("\\", "%5C").replace("<", "%3C").replace(">", "%3E")
    return f"[{md_escape(label)}](<{url}>)"


def living_list_markdown(groups: list[LivingGroup], *, generated: datetime | None = None) -> str:
    """The living list as Markdown: a heading per city, a table per direction."""
    generated = generated or utcnow()
    total = sum(g.count for g in groups)
    lines = [
        "# Sanctuary measures: the living list",
        "",
        f"{total} measure{'s' if total != 1 else ''} confirmed by editors, "
        f"as of {generated:%Y-%m-%d %H:%M} UTC.",
    ]
    for g in groups:
        lines += ["", f"## {md_escape(g.city)}", ""]
        for direction, rows in g.directions:
            lines += [f"### {md_escape(direction_label(direction).capitalize())} ({len(rows)})", ""]
            lines.append("| File | Title | Stage | Categories | Last action |")
            lines.append("|---|---|---|---|---|")
            for r in rows:
                last = " ".join(
                    x for x in (r["last_action_date"].isoformat() if r["last_action_date"] else "",
                                md_escape(r["last_action"] or "")) if x
                )  # fmt: skip
                cats = ", ".join(md_escape(category_label(c)) for c in r["categories"])
                lines.append(
                    f"| {md_link(r['identifier'] or str(r['id']), r['url'])} | {md_escape(r['title'] or '')} "
                    f"| {md_escape(stage_label(r['stage']))} | {cats} | {last or '-'} |"
                )
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# -- template helpers ------------------------------------------------------------------------------------


DISPLAY_ZONE: ZoneInfo = ZoneInfo("UTC")  # set by create_app from the configuration (display_timezone)


def set_display_zone(name: str) -> None:
    global DISPLAY_ZONE
    DISPLAY_ZONE = ZoneInfo(name)


def when(value: datetime | date | str | None) -> str:
    """A time in the display zone with its abbreviation (``2026-11-25 06:49 CST``; stored naive times are
    UTC; an ISO string is read first), a date as ISO, nothing as "-"."""
    if value is None:
        return "-"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        local = aware.astimezone(DISPLAY_ZONE)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    return value.isoformat()


def category_labels(codes: Iterable[str]) -> str:
    return ", ".join(category_label(c) for c in codes)


class TemplateHelpers:
    """What the pages' templates call as ``h.<name>(...)`` (labels, times, evidence marks)."""

    category = staticmethod(category_label)
    cats = staticmethod(category_labels)
    direction = staticmethod(direction_label)
    stage = staticmethod(stage_label)
    when = staticmethod(when)
    highlight = staticmethod(highlight_html)
    safe_url = staticmethod(safe_url)
    stages = STAGES
    categories = CATEGORY_CODES
    search_states = SEARCH_STATES
    queue_states = QUEUE_STATES
    directions = DIRECTIONS
    queue_orders = QUEUE_ORDERS
    evidence_what = staticmethod(evidence_what)
    evidence_legend = EVIDENCE_LEGEND
    uncertain_help = (
        "Uncertain: the model's probability is near its decision boundary, so it could go either way. "
        "Deciding this bill teaches the model the most."
    )


HELPERS = TemplateHelpers()
