"""The read-only JSON API: ``/api/bills`` (filters, paging), ``/api/bills/<id>``, ``/api/changes``,
``/api/matches``. Every bill carries its ``next_hearing`` (null or ``{at, body, location, agenda_url}``)
and its ``votes`` (oldest first, ``{at, body, action, result, roll_call: [{member, vote}]}``).

A session is required like everywhere else (a 401 JSON answer without one): the data is public council
data, but review decisions and notes are the editors' work in progress.

Every list answers ``{"items": [...], "total": N, "limit": L, "offset": O, "next": URL | null}``; a bad
parameter answers 400 ``{"error": "one line"}``. Filters mean what they mean on the pages: an editor's
decision and corrections win over the matcher's (the conditions of :mod:`tracker.web.queries`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Boolean, Select, false, func, or_, select
from sqlalchemy.orm import Session

from db.models import Bill, Jurisdiction, StatusChange
from db.models_review import BillMatch
from db.types import to_utc, utcnow
from tracker.matcher.rules import CATEGORY_CODES, DIRECTIONS
from tracker.read_model import (
    BillValues,
    FilterError,
    JurisdictionValues,
    MatchValues,
    bill_record,
    bill_with_children,
    change_fields,
    check_search_text,
    has_category,
    hearings_and_votes,
    match_record,
    plain_rows,
    plan_text_search,
    review_events,
    status_change_query,
    text_condition,
    value_columns,
)
from tracker.safe_output import MAX_ID
from tracker.signals import match_direction_reason
from tracker.stages import Stage
from tracker.web.deps import DB, CurrentUser, RowId
from tracker.web.queries.sql import limit_search_time

router = APIRouter(prefix="/api")

MAX_LIMIT = 500
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
if TYPE_CHECKING:
    Category = str
    Direction = str
else:  # built from the rules' codes at run time: FastAPI validates each value and lists them in the schema
    Category = Literal[CATEGORY_CODES]
    Direction = Literal[DIRECTIONS]
State = Literal["pending", "confirmed", "rejected", "flagged", "none"]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _aware(name: str, value: datetime | None) -> datetime | None:
    """A time parameter, in UTC: one without a time zone, or out of range once in UTC, is a 400."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise HTTPException(400, f"{name} needs a time zone, e.g. 2026-11-01T00:00:00Z")
    try:
        return to_utc(value)
    except ValueError as exc:
        raise HTTPException(400, f"{name}: {exc}") from None


def _jurisdiction(db: Session, slug: str | None) -> None:
    if slug and db.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == slug)) is None:
        raise HTTPException(404, f"no jurisdiction {slug!r}")


def _paged(
    request: Request,
    db: Session,
    q: Select[*tuple[Any, ...]],
    order: list[Any],
    limit: int,
    offset: int,
    *,
    count: Select[int] | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    """One page of ``q`` and its paging fields; ``count``: a cheaper query of the same total."""
    if count is None:
        count = select(func.count()).select_from(q.order_by(None).subquery())
    total = db.scalar(count) or 0
    rows = list(db.execute(q.order_by(*order).limit(limit).offset(offset)).all())
    nxt = None
    if offset + limit < total:
        nxt = str(request.url.include_query_params(offset=offset + limit, limit=limit))
    return rows, {"total": total, "limit": limit, "offset": offset, "next": nxt}


#: The fields of a bill and of its match in the API's answers, from :mod:`tracker.read_model`'s records.
BILL_FIELDS = (
    "id", "jurisdiction", "source_id", "identifier", "title", "name", "type", "status", "stage", "body",
    "introduced", "passed", "enacted", "url", "first_seen_at", "updated_at", "vanished_at",
)  # fmt: skip
MATCH_FIELDS = (
    "relevant", "score", "categories", "direction", "review_state", "needs_review", "source", "decided_by",
    "decided_at", "note", "matched_at", "direction_reason",
)  # fmt: skip


def _match(match: BillMatch | MatchValues | None, *, evidence: bool = False) -> dict[str, Any] | None:
    if match is None:
        return None
    record = match_record(match)
    out = {key: record[key] for key in MATCH_FIELDS}
    if evidence:
        out["machine"] = {
            "relevant": match.relevant,
            "categories": list(match.categories),
            "direction": match.direction,
        }
        out["needs_review_reason"] = match.needs_review_reason
        out["evidence"] = list(match.evidence or [])
    return out


def _bill(
    bill: Bill | BillValues,
    jurisdiction: Jurisdiction | JurisdictionValues,
    match: BillMatch | MatchValues | None,
) -> dict[str, Any]:
    record = bill_record(bill, jurisdiction)
    return {
        **{key: record[key] for key in BILL_FIELDS},
        "match": _match(match),
        # why the match has its direction, in words (None without a relevant match)
        "direction_reason": match_direction_reason(match),
    }


def _with_meetings(db: Session, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each bill of a page gains ``next_hearing`` and ``votes`` (docs/web.md): a fixed number of queries for
    the page, whatever its size."""
    found = hearings_and_votes(db, [item["id"] for item in items], utcnow())
    for item in items:
        item.update(found[item["id"]])
    return items


def _state(state: str) -> Any:
    if state == "flagged":
        return BillMatch.needs_review.is_(True)
    if state == "none":
        return BillMatch.review_state.is_(None)
    return BillMatch.review_state == state


def _match_conditions(
    db: Session, category: str | None, direction: str | None, relevant: bool | None, state: str | None
) -> list[Any]:
    dialect = db.get_bind().dialect.name
    conds = []
    if category:
        conds.append(has_category(category, dialect))
    if direction:
        conds.append(BillMatch.effective_direction == direction)
    if relevant is True:
        conds.append(BillMatch.effective_relevant)
    elif relevant is False:
        # NULL-safe negation (review_state is often NULL): a bill never matched is not relevant either.
        relevant_sql = func.coalesce(BillMatch.effective_relevant, false(), type_=Boolean)
        conds.append(or_(BillMatch.bill_id.is_(None), relevant_sql.is_(False)))
    if state:
        conds.append(_state(state))
    return conds


@router.get("/bills")
def api_bills(
    request: Request,
    db: DB,
    user: CurrentUser,
    q: str = "",
    jurisdiction: str | None = None,
    stage: Stage | None = None,
    category: Category | None = None,
    direction: Direction | None = None,
    relevant: bool | None = None,
    review_state: State | None = None,
    updated_since: datetime | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> JSONResponse:
    """Bills, oldest id first; every filter optional. The answer is JSON values already (the read model's
    records): it is written as it is, not walked again by FastAPI's encoder (a 500-bill page's most costly
    step)."""
    _jurisdiction(db, jurisdiction)
    since = _aware("updated_since", updated_since)
    match_conds = _match_conditions(db, category, direction, relevant, review_state)
    try:
        q = check_search_text(q)
    except FilterError as exc:
        raise HTTPException(400, str(exc)) from None
    conds = []
    if q:
        limit_search_time(db)
        plan_text_search(db)
        conds.append(text_condition(q, db.get_bind().dialect.name))
    if jurisdiction:
        conds.append(Jurisdiction.slug == jurisdiction)
    if stage:
        conds.append(Bill.stage == stage)
    if since is not None:
        conds.append(Bill.updated_at >= since)
    query = (
        select(*value_columns())  # plain rows: a 500-bill page builds no ORM objects
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
        .where(*match_conds, *conds)
    )
    # The total joins only what the filters name: every bill has its city (a foreign key, NOT NULL) and at
    # most one match (its primary key), so the joins add no row, and a full scan of the wide bill_matches
    # rows is most of a page's time on SQLite. Only relevant=false and review_state=none also count bills
    # never matched; every other match filter needs a match, so the count joins the matches it selects
    # (through the index on bill_matches (relevant, review_state) for relevant=true) instead of reading
    # every bill's.
    counted = select(func.count()).select_from(Bill)
    if jurisdiction:
        counted = counted.join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
    if match_conds:
        unmatched_too = relevant is False or review_state == "none"
        counted = counted.join(BillMatch, BillMatch.bill_id == Bill.id, isouter=unmatched_too)
    rows, page = _paged(
        request, db, query, [Bill.id], limit, offset, count=counted.where(*match_conds, *conds)
    )
    items = _with_meetings(db, [_bill(b, j, m) for b, j, m in plain_rows(rows)])
    return JSONResponse({"items": items, **page})


@router.get("/bills/{bill_id}")
def api_bill(db: DB, user: CurrentUser, bill_id: RowId) -> dict[str, Any]:
    """One bill with its sponsors, actions, attachments, status history, match (with its evidence) and
    review history."""
    bill = bill_with_children(db, bill_id)
    if bill is None:
        raise HTTPException(404, f"no bill {bill_id}")
    match = db.get(BillMatch, bill.id)
    events = review_events(db, bill.id)
    out = _bill(bill, bill.jurisdiction, None)
    out["match"] = _match(match, evidence=True)
    out["direction_reason"] = match_direction_reason(match)
    _with_meetings(db, [out])
    out["sponsors"] = [
        {"name": s.name, "primary": s.is_primary} for s in sorted(bill.sponsors, key=lambda s: s.sequence)
    ]
    out["sponsors_pending"] = bill.sponsors_fetched_at is None  # not read yet: the next sweep reads them
    out["actions"] = [
        {
            "date": _iso(a.action_date),
            "description": a.description,
            "body": a.body_name,
            "result": a.result,
            "tally": a.tally,
            "classification": a.classification,
        }
        for a in sorted(bill.actions, key=lambda a: a.sequence)
    ]
    out["attachments"] = [
        {"name": a.name, "url": a.url} for a in sorted(bill.attachments, key=lambda a: a.sequence)
    ]
    out["status_history"] = [
        {"kind": c.kind, "status": c.new_status, "stage": c.new_stage, "observed_at": _iso(c.observed_at)}
        for c in sorted(bill.status_changes, key=lambda c: c.seq)
    ]
    out["review_events"] = [
        {
            "kind": e.kind,
            "at": _iso(e.at),
            "by": e.actor,
            "note": e.note,
            "categories": e.categories,
            "direction": e.direction,
        }
        for e in events
    ]
    return out


@router.get("/changes")
def api_changes(
    request: Request,
    db: DB,
    user: CurrentUser,
    since: datetime | None = None,
    jurisdiction: str | None = None,
    include_first_seen: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Status changes, oldest first, with the action that explains each (``tracker changes``)."""
    _jurisdiction(db, jurisdiction)
    since = _aware("since", since)
    query = status_change_query(since=since, jurisdiction=jurisdiction, include_first_seen=include_first_seen)
    rows, page = _paged(request, db, query, [StatusChange.observed_at, StatusChange.id], limit, offset)
    items = [
        {
            "observed_at": _iso(change.observed_at),
            "kind": change.kind,
            "bill_id": bill.id,
            "jurisdiction": slug,
            "identifier": bill.identifier,
            "title": bill.title,
            **change_fields(change, action),
            "url": bill.public_url or bill.source_url,
        }
        for change, bill, slug, action in rows
    ]
    return {"items": items, **page}


@router.get("/matches")
def api_matches(
    request: Request,
    db: DB,
    user: CurrentUser,
    jurisdiction: str | None = None,
    category: Category | None = None,
    direction: Direction | None = None,
    review_state: State | None = None,
    relevant: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Matched bills, best score first: the relevant ones, or with ``relevant=false`` the others. Without
    ``relevant``, the relevant ones, except with ``review_state=rejected`` (an editor's rejection makes a
    bill not relevant: that filter alone would always be empty)."""
    if relevant is None and review_state != "rejected":
        relevant = True
    _jurisdiction(db, jurisdiction)
    query = (
        select(Bill, Jurisdiction, BillMatch)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .where(*_match_conditions(db, category, direction, relevant, review_state))
    )
    if jurisdiction:
        query = query.where(Jurisdiction.slug == jurisdiction)
    rows, page = _paged(request, db, query, [BillMatch.score.desc(), Bill.id], limit, offset)
    items = []
    for bill, council, match in rows:
        item = _bill(bill, council, match)
        item["match"] = _match(match, evidence=True)
        items.append(item)
    return {"items": _with_meetings(db, items), **page}
