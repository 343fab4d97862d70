"""The read model: what every reader of the database shares (the web pages and their CSV exports, the JSON
API, the digests, the CLI): the effective match in SQL (:class:`db.models_review.BillMatch`'s hybrid
``effective_*`` properties, and :func:`has_category` over them), the review queue's one query and order,
the record of a bill and of its match as the exports and the API give them, and status changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    inspect,
    literal,
    null,
    or_,
    select,
    text,
    type_coerce,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session, aliased, defer, selectinload

from db.engine import session_scope
from db.models import Action, Bill, Jurisdiction, StatusChange
from db.models_documents import Document
from db.models_meetings import Meeting, MeetingItem, Vote
from db.models_review import BillMatch, ReviewEvent
from tracker.contract import VOTE_VALUES
from tracker.errors import TrackerError, UsageError
from tracker.signals import match_direction_reason


def check_jurisdiction(session: Session, slug: str) -> None:
    if session.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == slug)) is None:
        known = (
            ", ".join(session.scalars(select(Jurisdiction.slug).order_by(Jurisdiction.slug))) or "none yet"
        )
        raise UsageError(f"no jurisdiction {slug!r} in the database (known: {known})")


def bill_with_children(session: Session, bill_id: int) -> Bill | None:
    """One bill with its city, sponsors, actions, attachments and status changes loaded (None: no such
    bill), for the bill page and /api/bills/{id}."""
    return session.scalar(
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


def review_events(session: Session, bill_id: int) -> list[ReviewEvent]:
    """A bill's review history, oldest first."""
    return list(
        session.scalars(select(ReviewEvent).where(ReviewEvent.bill_id == bill_id).order_by(ReviewEvent.id))
    )


def action_record(action: Action | None) -> dict[str, Any] | None:
    """The action behind a status change, as the exports, the API and the digests give it."""
    if action is None:
        return None
    return {
        "date": action.action_date.isoformat() if action.action_date else None,
        "description": action.description,
        "body": action.body_name,
        "result": action.result,
    }


def change_fields(change: StatusChange, action: Action | None) -> dict[str, Any]:
    """What a status change says: the statuses and stages before and after, and the action behind it."""
    return {
        "old_status": change.old_status,
        "new_status": change.new_status,
        "old_stage": change.old_stage,
        "new_stage": change.new_stage,
        "action": action_record(action),
    }


def status_change_query(
    *, since: datetime | None, jurisdiction: str | None, include_first_seen: bool
) -> Select[StatusChange, Bill, str, Action]:
    """(change, bill, jurisdiction slug, the action behind the change or None), filtered as ``tracker
    changes`` and /api/changes filter them; unordered."""
    act = aliased(Action)
    q = (
        select(StatusChange, Bill, Jurisdiction.slug, act)
        .join(Bill, StatusChange.bill_id == Bill.id)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .outerjoin(act, StatusChange.action_id == act.id)
    )
    if not include_first_seen:
        q = q.where(StatusChange.kind != "first_seen")
    if since is not None:
        q = q.where(StatusChange.observed_at >= since)
    if jurisdiction:
        q = q.where(Jurisdiction.slug == jurisdiction)
    return q


def status_changes(
    engine: Engine,
    *,
    since: datetime | None = None,
    jurisdiction: str | None = None,
    include_first_seen: bool = False,
    relevant: bool = False,
    confirmed: bool = False,
) -> list[dict[str, Any]]:
    """Status changes, oldest first; ``relevant``: only of bills relevant by the editors' word, else the
    matcher's; ``confirmed``: only of bills an editor confirmed."""
    with session_scope(engine) as session:
        if jurisdiction:
            check_jurisdiction(session, jurisdiction)
        q = status_change_query(
            since=since, jurisdiction=jurisdiction, include_first_seen=include_first_seen
        ).outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
        if confirmed:
            q = q.where(BillMatch.review_state == "confirmed")
        if relevant:
            q = q.where(BillMatch.effective_relevant)
        q = q.order_by(StatusChange.observed_at, StatusChange.id)
        out = []
        for change, bill, slug, action in session.execute(q):
            out.append(
                {
                    "observed_at": change.observed_at.isoformat(),
                    "kind": change.kind,
                    "jurisdiction": slug,
                    "source_id": bill.source_id,
                    "identifier": bill.identifier,
                    "title": bill.title,
                    **change_fields(change, action),
                    "url": bill.public_url or bill.source_url,
                }
            )
        return out


# -- text search -----------------------------------------------------------------------------------------
# The one text search: the web's pages and /api/bills, and the digests' saved searches. Every value is a
# bound parameter; every character of the words is literal.


class FilterError(TrackerError):
    """A filter or the search text of a query is not valid (one line; a 400 on the web)."""


MAX_SEARCH_CHARS = 200
MAX_SEARCH_WORDS = 20


def check_search_text(q: str) -> str:
    """The search text with its whitespace collapsed, or a FilterError (a 400) when it is too long."""
    q = " ".join(q.replace("\x00", " ").split())
    if len(q) > MAX_SEARCH_CHARS:
        raise FilterError(f"the search text is longer than {MAX_SEARCH_CHARS} characters")
    if len(q.split()) > MAX_SEARCH_WORDS:
        raise FilterError(f"the search text has more than {MAX_SEARCH_WORDS} words")
    return q


LIKE_ESCAPE = "!"


def like_pattern(term: str) -> str:
    """``%term%`` with LIKE's wildcards (and the escape character) taken literally."""
    e = LIKE_ESCAPE
    escaped = term.replace(e, e + e).replace("%", e + "%").replace("_", e + "_")
    return f"%{escaped}%"


def _contains(column: Any, pattern: str, dialect: str | None) -> Any:
    """Case-insensitive ``LIKE``: ``ILIKE`` on PostgreSQL; on SQLite a plain ``LIKE``, which already ignores
    (ASCII) case and is much cheaper than the ``lower(x) LIKE lower(y)`` that ``ilike`` renders there.
    Without a dialect, ``ilike`` (right on both)."""
    if dialect == "sqlite":
        return column.like(pattern, escape=LIKE_ESCAPE)
    return column.ilike(pattern, escape=LIKE_ESCAPE)


def text_condition(q: str, dialect: str | None = None) -> Any:
    """Bills whose title, name, identifier, action texts or document texts contain every word of ``q``,
    case-insensitively; every character is literal (``%``, ``_``, quotes, backslashes)."""
    words = q.split()
    if not words:
        return None
    conds = []
    for word in words:
        pattern = like_pattern(word)
        # A union of ids rather than one OR over the bill's columns and a subquery: each part can use its
        # own index (PostgreSQL's pg_trgm GIN indexes serve ILIKE '%...%'), and SQLite scans each once.
        in_bill = select(Bill.id).where(
            or_(
                _contains(Bill.title, pattern, dialect),
                _contains(Bill.name, pattern, dialect),
                _contains(Bill.identifier, pattern, dialect),
            )
        )
        in_actions = select(Action.bill_id).where(_contains(Action.text, pattern, dialect))
        # the text of the bill's documents (tracker/documents/), when they were fetched and read
        in_documents = select(Document.bill_id).where(
            Document.status == "ok", _contains(Document.text, pattern, dialect)
        )
        conds.append(Bill.id.in_(union(in_bill, in_actions, in_documents)))
    return and_(*conds)


#: The planner's cost of a random page read while a text search runs on PostgreSQL (its default is 4.0):
#: the value PostgreSQL's documentation suggests when the data is cached or on SSDs.
TEXT_SEARCH_RANDOM_PAGE_COST = 1.1


def plan_text_search(session: Session) -> None:
    """On PostgreSQL, let the rest of this transaction's text search (:func:`text_condition`) use the
    trigram indexes for a word in a few thousand bills (``SET LOCAL random_page_cost``; SQLite: nothing).

    With the default cost (4.0), a word in one bill in ten (``ordinance`` in 5,138 of 50,000) is planned as
    a sequential scan of the bills: the planner counts its 10,000 pages read in order as cheap and the
    ``ILIKE`` on every bill's title, name and identifier as nearly free, when those comparisons are most of
    its time (about 120 ms, against about 25 ms through the indexes, bench/bench_web.py). psycopg prepares a
    statement after five runs on a connection and PostgreSQL then keeps a generic plan, which takes the
    indexes: so only the first ten or so answers of each pooled connection were slow, the slow tail of the
    search. The lower cost makes the plan that knows the word take the indexes too; a word in most bills,
    or shorter than three characters (no trigram), is still scanned."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL random_page_cost = {TEXT_SEARCH_RANDOM_PAGE_COST}"))


# -- the effective match in SQL ---------------------------------------------------------------------------


def _json_array_contains(column: Any, value: str, dialect: str) -> Any:
    """``value`` is an element of the JSON array in ``column`` (false when it is NULL)."""
    if dialect == "postgresql":
        return type_coerce(column, JSONB).contains([value])
    elements = func.json_each(column).table_valued("value").alias("elements")
    return exists(select(literal(1)).select_from(elements).where(elements.c.value == value))


def has_category(code: str, dialect: str) -> Any:
    """``code`` is one of the bill's effective categories (``BillMatch.effective_categories``)."""
    return _json_array_contains(BillMatch.effective_categories, code, dialect)


def near_miss_condition() -> Any:
    """A near miss (tracker/matcher/apply.py): in the queue, undecided, not relevant, and uncertain (the
    learned layer's probability just below its boundary). A bill tracked by hand is pending and not
    relevant too, but not uncertain: it is not a near miss."""
    return and_(
        BillMatch.review_state == "pending", BillMatch.relevant.is_(False), BillMatch.uncertain.is_(True)
    )


def queue_category(code: str, dialect: str) -> Any:
    """In the review queue, ``code`` is one of the bill's effective categories, or a near miss would be
    added under it (its ``learned.suggested.categories``)."""
    if dialect == "postgresql":
        suggested = type_coerce(BillMatch.learned, JSONB)["suggested"]["categories"].contains([code])
    else:
        elements = (
            func.json_each(BillMatch.learned, "$.suggested.categories")
            .table_valued("value")
            .alias("suggested")
        )
        suggested = exists(select(literal(1)).select_from(elements).where(elements.c.value == code))
    return or_(has_category(code, dialect), and_(near_miss_condition(), suggested))


def queue_direction(direction: str, dialect: str) -> Any:
    """In the review queue, the bill's effective direction is ``direction``, or a near miss would be added
    with it (its ``learned.suggested.direction``)."""
    if dialect == "postgresql":
        suggested = type_coerce(BillMatch.learned, JSONB)["suggested"]["direction"].astext
    else:
        suggested = func.json_extract(BillMatch.learned, "$.suggested.direction")
    return or_(
        BillMatch.effective_direction == direction, and_(near_miss_condition(), suggested == direction)
    )


# -- the review queue ------------------------------------------------------------------------------------

#: What a review-state filter may name: a state, "flagged" (changed after a decision) or "open" (pending or
#: flagged: what still needs an editor).
OPEN_STATES: tuple[str, ...] = ("pending", "flagged")


def review_state_condition(states: Iterable[str]) -> Any:
    """Bills in any of ``states`` (``pending``, ``confirmed``, ``rejected``, ``flagged``, ``open``; no
    states: every bill in review)."""
    conds: list[ColumnElement[bool]] = []
    for state in states:
        for one in OPEN_STATES if state == "open" else (state,):
            if one == "flagged":
                conds.append(BillMatch.needs_review.is_(True))
            else:
                conds.append(BillMatch.review_state == one)
    return or_(*conds) if conds else BillMatch.review_state.is_not(None)


def uncertain_rank() -> Any:
    """The "uncertain first" order: uncertain pending matches, the most informative to decide, come before
    everything else (0), the rest keep their order (1)."""
    return case((BillMatch.uncertain.is_(True) & (BillMatch.review_state == "pending"), 0), else_=1)


def queue_order(*, uncertain_first: bool = False) -> list[Any]:
    """The review queue's one order (docs/review.md), the same on the web (/review and its CSV) and in
    ``tracker review list``: (with ``uncertain_first``, uncertain pending bills first;) flagged bills first,
    then pending, confirmed, rejected; within each, the best score first, then the bill's id."""
    state = case(
        (BillMatch.review_state == "pending", 0),
        (BillMatch.review_state == "confirmed", 1),
        (BillMatch.review_state == "rejected", 2),
        else_=3,
    )
    flagged = case((BillMatch.needs_review.is_(True), 0), else_=1)
    order = [flagged, state, BillMatch.score.desc(), Bill.id]
    return [uncertain_rank(), *order] if uncertain_first else order


def review_queue_query(
    *columns: Any, states: Iterable[str] = (), conditions: Iterable[Any] = (), uncertain_first: bool = False
) -> Select[*tuple[Any, ...]]:
    """The review queue as one query: ``columns`` of the bills in review in ``states`` (every state when
    none) that pass ``conditions``, in :func:`queue_order`. Joins the bill's match and jurisdiction."""
    return (
        select(*columns)
        .select_from(Bill)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .where(BillMatch.review_state.is_not(None), review_state_condition(states), *conditions)
        .order_by(*queue_order(uncertain_first=uncertain_first))
    )


# -- records: a bill and its match as the exports and the API give them ----------------------------------


def safe_url(url: str | None) -> str | None:
    """A scraped link, only when it is a plain http(s) URL (never ``javascript:``, ``data:``...)."""
    if not url or not isinstance(url, str):
        return None
    return _safe_url(url)


@lru_cache(maxsize=65536)
def _safe_url(url: str) -> str | None:
    """:func:`safe_url` of a string (a pure function, remembered: a long list checks the same links on
    every request, and ``urlsplit`` is most of a list row's own cost)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c in url for c in "\r\n\t "):
        return None
    return url


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def bill_record(bill: Bill | BillValues, jurisdiction: Jurisdiction | JurisdictionValues) -> dict[str, Any]:
    """A bill's own fields as JSON values (`tracker export`, the web's CSV exports, the API); ``url`` is the
    public page, else the source; ``link`` the public page only when it is a safe http(s) URL."""
    return {
        "id": bill.id,
        "jurisdiction": jurisdiction.slug,
        "city": jurisdiction.name,
        "source_id": bill.source_id,
        "identifier": bill.identifier,
        "title": bill.title,
        "name": bill.name,
        "type": bill.type_name,
        "status": bill.status,
        "stage": bill.stage,
        "body": bill.body_name,
        "introduced": _iso(bill.introduced),
        "passed": _iso(bill.passed_date),
        "enacted": _iso(bill.enacted_date),
        "url": bill.public_url or bill.source_url,
        "link": safe_url(bill.public_url),
        "first_seen_at": _iso(bill.first_seen_at),
        "updated_at": _iso(bill.updated_at),
        "vanished_at": _iso(bill.vanished_at),
    }


def match_record(match: BillMatch | MatchValues | None, *, why: bool = True) -> dict[str, Any]:
    """A bill's match as JSON values, the editor's decision and corrections winning over the machine's (the
    same fields, empty, for a bill never matched: ``matched`` false); without ``why``, no
    ``direction_reason`` (for a match read without its evidence: :func:`value_columns`)."""
    if match is None:
        return {
            "matched": False, "relevant": None, "score": None, "categories": [], "direction": None,
            "direction_reason": None, "review_state": None, "needs_review": False,
            "needs_review_reason": None, "source": None, "decided_by": None, "decided_at": None, "note": None,
            "matched_at": None,
        }  # fmt: skip
    record = {
        "matched": True,
        "relevant": match.effective_relevant,
        "score": match.score,
        "categories": match.effective_categories,
        "direction": match.effective_direction,
        "direction_reason": match_direction_reason(match) if why else None,
        "review_state": match.review_state,
        "needs_review": bool(match.needs_review),
        "needs_review_reason": match.needs_review_reason,
        "source": match.source,
        "decided_by": match.decided_by,
        "decided_at": _iso(match.decided_at),
        "note": match.note,
        "matched_at": _iso(match.matched_at),
    }
    if not why:
        del record["direction_reason"]
    return record


# -- plain rows: long lists without ORM objects -----------------------------------------------------------
# The living list, the CSV exports and the API's pages read thousands of rows: building an ORM object of
# the bill and of its match for each costs more than the query. They select the columns below instead, and
# read each row as three named tuples with the attribute names of ``Bill``, ``Jurisdiction`` and
# ``BillMatch`` (the match's effective fields by BillMatch's own Python rules), so :func:`bill_record`,
# :func:`match_record` and the web's ``bill_row`` take them as they take the ORM objects.


class BillValues(NamedTuple):
    """The columns of a bill that lists and records read (every one but ``raw`` and the crawler's keys)."""

    id: int
    source_id: str
    identifier: str | None
    title: str | None
    name: str | None
    type_name: str | None
    status: str | None
    stage: str
    body_name: str | None
    introduced: date | None
    passed_date: date | None
    enacted_date: date | None
    source_url: str | None
    public_url: str | None
    first_seen_at: datetime
    updated_at: datetime
    vanished_at: datetime | None


class JurisdictionValues(NamedTuple):
    slug: str
    name: str


_MATCH_RULES = inspect(BillMatch).all_orm_descriptors


class MatchValues(NamedTuple):
    """The columns of a match that lists and records read, with its effective fields (BillMatch's rules)."""

    bill_id: int
    relevant: bool
    score: float
    categories: list[Any]
    direction: str | None
    evidence: list[Any] | None
    uncertain: bool
    learned: dict[str, Any] | None
    matched_at: datetime
    source: str
    review_state: str | None
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    editor_categories: list[Any] | None
    editor_direction: str | None
    needs_review: bool
    needs_review_reason: str | None

    @property
    def effective_relevant(self) -> bool:
        return bool(_MATCH_RULES["effective_relevant"].fget(self))  # type: ignore[attr-defined]

    @property
    def effective_categories(self) -> list[str]:
        return list(_MATCH_RULES["effective_categories"].fget(self))  # type: ignore[attr-defined]

    @property
    def effective_direction(self) -> str | None:
        value = _MATCH_RULES["effective_direction"].fget(self)  # type: ignore[attr-defined]
        return str(value) if value is not None else None


#: What the plain rows leave out of a match when the caller does not need why it has its direction (the
#: CSV exports): the evidence and the learned layer, the largest JSON of a match, read as None.
WHY_COLUMNS = ("evidence", "learned")


#: The fields of a plain row that the CSV exports write (``/search.csv``, ``/review.csv``: their columns and
#: what the effective match and the safe link are made of); :func:`value_columns` with ``only`` reads the
#: others as NULL, which spares the database and SQLAlchemy's type conversions most of a wide row.
EXPORT_BILL_FIELDS = frozenset(
    ("id", "identifier", "title", "status", "stage", "introduced", "public_url", "first_seen_at")
)
EXPORT_MATCH_FIELDS = frozenset(
    ("bill_id", "relevant", "score", "categories", "direction", "review_state", "decided_by", "decided_at",
     "note", "editor_categories", "editor_direction", "needs_review", "needs_review_reason")
)  # fmt: skip


def value_columns(
    *, why: bool = True, learned: bool = True, only: frozenset[str] | None = None
) -> tuple[Any, ...]:
    """The columns of a plain row, in order: the bill's, its city's, its match's (NULL when the query
    outer-joins a bill without one); without ``why``, :data:`WHY_COLUMNS` are NULL (not read); without
    ``learned``, the learned layer is read as its ``direction_reason`` alone (extracted by the database:
    enough for :func:`tracker.signals.match_direction_reason`, a fraction of the JSON to decode); with
    ``only`` (field names, e.g. :data:`EXPORT_BILL_FIELDS` | :data:`EXPORT_MATCH_FIELDS`), every other
    field of the bill and of the match is NULL (not read; the match's ``bill_id`` must be in it, as it
    tells a bill without a match), and a field it names is read even without ``why``."""
    match_columns = []
    for f in MatchValues._fields:
        named = only is None or f in only
        if not named or (not why and f in WHY_COLUMNS and only is None):
            match_columns.append(null().label(f))
        elif f == "learned" and not learned:
            match_columns.append(BillMatch.learned["direction_reason"].as_string().label(f))
        else:
            match_columns.append(getattr(BillMatch, f))
    return (
        *(getattr(Bill, f) if only is None or f in only else null().label(f) for f in BillValues._fields),
        Jurisdiction.slug,
        Jurisdiction.name,
        *match_columns,
    )


PlainRow = tuple[BillValues, JurisdictionValues, MatchValues | None]


def plain_rows(rows: Iterable[Sequence[Any]]) -> Iterator[PlainRow]:
    """Rows of :func:`value_columns` as (bill, city, match or None); a learned layer read as its reason
    alone (``learned=False``) becomes ``{"direction_reason": reason}``."""
    nb = len(BillValues._fields)
    nj = nb + len(JurisdictionValues._fields)
    for row in rows:
        match = MatchValues(*row[nj:]) if row[nj] is not None else None
        reason: Any = match.learned if match is not None else None
        if match is not None and isinstance(reason, str):
            match = match._replace(learned={"direction_reason": reason})
        yield BillValues(*row[:nb]), JurisdictionValues(*row[nb:nj]), match


# -- hearings and votes (docs/meetings.md) --------------------------------------------------------------


def _local_iso(value: datetime | None, zone: str) -> str | None:
    """An instant as ISO 8601 in the meeting's own time zone, with its UTC offset."""
    if value is None:
        return None
    try:
        return value.astimezone(ZoneInfo(zone)).isoformat()
    except (ZoneInfoNotFoundError, ValueError):
        return value.isoformat()


def start_is_timed(meeting: Meeting, instant: datetime | None) -> bool:
    """Whether ``instant``, the meeting's start or a start it had before a move, is a time the portal gave:
    the meeting's start is not when the portal gave no time (``Meeting.timed``); an earlier start is not when
    it was local midnight (where the tracker puts a meeting without a time)."""
    if instant is None:
        return False
    if instant == meeting.starts_at:
        return meeting.timed
    try:
        local = instant.astimezone(ZoneInfo(meeting.time_zone))
    except (ZoneInfoNotFoundError, ValueError):
        return True
    return (local.hour, local.minute, local.second) != (0, 0, 0)


def hearing_record(meeting: Meeting) -> dict[str, Any]:
    """A meeting as a bill's hearing (the ``next_hearing`` of exports and the API; ``at`` is local midnight
    for a meeting without a time)."""
    return {
        "at": _local_iso(meeting.starts_at, meeting.time_zone),
        "body": meeting.body_name,
        "location": meeting.location,
        "agenda_url": safe_url(meeting.agenda_url),
        "state": meeting.state,
        "meeting_url": safe_url(meeting.public_url),
        "comment_instructions": meeting.comment_instructions,
        "moved_from": _local_iso(meeting.moved_from, meeting.time_zone),
    }


def not_started(now: datetime) -> ColumnElement[bool]:
    """A meeting that has not started by ``now``: its start is later, or it has no time and its local day has
    not ended (``Meeting.day_end``)."""
    return or_(Meeting.starts_at > now, Meeting.day_end > now)


def on_agenda_ahead(now: datetime, states: Sequence[str], *, gone: bool = False) -> ColumnElement[bool]:
    """An agenda item still on the agenda of a meeting that has not started by ``now``, is in one of
    ``states`` and is still listed (``gone``: or has left the portal's listing) (of a query joining
    ``MeetingItem`` and ``Meeting``)."""
    return and_(
        MeetingItem.removed_at.is_(None),
        *(() if gone else (Meeting.vanished_at.is_(None),)),
        Meeting.state.in_(states),
        not_started(now),
    )


def upcoming_hearing_query(now: datetime) -> Select[int | None, Meeting]:
    """(bill id, meeting) for every bill on the agenda of a meeting that has not started yet and is not
    cancelled or gone, soonest first."""
    return (
        select(MeetingItem.bill_id, Meeting)
        .join(Meeting, MeetingItem.meeting_id == Meeting.id)
        .where(MeetingItem.bill_id.is_not(None), on_agenda_ahead(now, ("scheduled", "moved")))
        .order_by(Meeting.starts_at, Meeting.id)
    )


def id_batches(session: Session, column: Any, ids: Sequence[int]) -> Iterator[Any]:
    """Conditions "``column`` is one of ``ids``", one per query to run: on PostgreSQL one condition for any
    number of ids (``= ANY(array)``, a single parameter: each query of a batch scans the upcoming
    meetings' agendas again), elsewhere ``IN`` lists of 500 (SQLite's parameter limit; each an index
    lookup)."""
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam("ids", list(ids), type_=ARRAY(Integer), unique=True))
        return
    for i in range(0, len(ids), 500):
        yield column.in_(ids[i : i + 500])


def next_hearings(session: Session, bill_ids: Iterable[int], now: datetime) -> dict[int, Meeting]:
    """Each bill's next hearing: the soonest upcoming meeting whose agenda lists it (the meetings without
    their ``raw`` record, which no hearing shows)."""
    ids = sorted(set(bill_ids))
    found: dict[int, Meeting] = {}
    for condition in id_batches(session, MeetingItem.bill_id, ids):
        rows = session.execute(upcoming_hearing_query(now).where(condition).options(defer(Meeting.raw))).all()
        for bill_id, meeting in rows:
            if bill_id is not None:
                found.setdefault(bill_id, meeting)
    return found


def vote_records(session: Session, bill_id: int) -> list[dict[str, Any]]:
    """A bill's votes, oldest first: every agenda item of a held meeting that records a result or a roll
    call (the ``votes`` of exports and the API)."""
    return votes_of(session, [bill_id]).get(bill_id, [])


def votes_of(session: Session, bill_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    ids = sorted(set(bill_ids))
    out: dict[int, list[dict[str, Any]]] = {}
    for condition in id_batches(session, MeetingItem.bill_id, ids):
        rows = session.scalars(
            select(MeetingItem)
            .join(Meeting, MeetingItem.meeting_id == Meeting.id)
            .where(
                condition,
                Meeting.state == "held",
                or_(MeetingItem.result.is_not(None), MeetingItem.votes.any()),
            )
            .options(selectinload(MeetingItem.votes), selectinload(MeetingItem.meeting).defer(Meeting.raw))
            .order_by(Meeting.starts_at, Meeting.id, MeetingItem.sequence)
        ).all()
        for item in rows:
            meeting = item.meeting
            assert item.bill_id is not None  # by the WHERE clause
            out.setdefault(item.bill_id, []).append(
                {
                    "at": _local_iso(meeting.starts_at, meeting.time_zone),
                    "body": meeting.body_name,
                    "action": item.action,
                    "result": item.result,
                    "tally": item.tally or vote_tally(item.votes),
                    "roll_call": [{"member": v.member_name, "vote": v.vote} for v in item.votes],
                }
            )
    return out


def vote_tally(votes: Iterable[Vote]) -> str | None:
    """A roll call counted, for an item whose portal gave no tally: ``2 yes, 1 absent`` (None: no votes)."""
    counts: dict[str, int] = {}
    for v in votes:
        counts[v.vote] = counts.get(v.vote, 0) + 1
    return ", ".join(f"{counts[k]} {k}" for k in VOTE_VALUES if k in counts) or None


#: The keys of ``next_hearing`` and of each vote in ``tracker export`` and /api/bills (docs/web.md).
EXPORT_HEARING_FIELDS = ("at", "body", "location", "agenda_url")
EXPORT_VOTE_FIELDS = ("at", "body", "action", "result", "roll_call")


def hearings_and_votes(session: Session, bill_ids: Iterable[int], now: datetime) -> dict[int, dict[str, Any]]:
    """``{"next_hearing": {...} | None, "votes": [...]}`` of each bill (a batch: a fixed number of queries
    per 500 bills), in the shapes of ``tracker export`` and /api/bills."""
    ids = sorted(set(bill_ids))
    hearings = next_hearings(session, ids, now)
    votes = votes_of(session, ids)
    out: dict[int, dict[str, Any]] = {}
    for bill_id in ids:
        meeting = hearings.get(bill_id)
        record = hearing_record(meeting) if meeting is not None else None
        out[bill_id] = {
            "next_hearing": {k: record[k] for k in EXPORT_HEARING_FIELDS} if record else None,
            "votes": [{k: v[k] for k in EXPORT_VOTE_FIELDS} for v in votes.get(bill_id, [])],
        }
    return out
