"""SQL building blocks of the lists: the filters' conditions, the narrow query of ids a page is chosen
on, the page and its rows in a fixed number of queries."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session, defer

from db.models import Action, Bill, Jurisdiction
from db.models_review import BillMatch
from db.types import utcnow
from tracker.errors import TrackerError
from tracker.read_model import (
    FilterError,
    check_jurisdiction,
    has_category,
    plan_text_search,
    queue_category,
    queue_direction,
    review_queue_query,
    review_state_condition,
    text_condition,
)
from tracker.web.queries.filters import Filters, Page
from tracker.web.queries.rows import add_next_hearings, bill_row

SEARCH_TIMEOUT_MS = 5000


def limit_search_time(session: Session) -> None:
    """On PostgreSQL, a statement timeout for the rest of this request's transaction (``SET LOCAL``): a
    search that runs longer is cancelled, and the app answers 503 (tracker/web/app.py)."""
    if dialect_of(session) == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = {int(SEARCH_TIMEOUT_MS)}"))


def state_condition(state: str | None) -> Any:
    if state is None:
        return None
    if state == "none":
        return BillMatch.review_state.is_(None)
    return review_state_condition([state])


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def jurisdiction_id_of(session: Session, slug: str | None) -> int | None:
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


def conditions(session: Session, f: Filters, *, queue: bool = False) -> list[Any]:
    """The filters as SQL conditions; in the review ``queue``, a near miss counts under the category and
    direction it would be added with (:func:`tracker.read_model.queue_category`)."""
    if f.q:
        limit_search_time(session)
        plan_text_search(session)  # the trigram indexes for a common word too (PostgreSQL)
    jurisdiction_id = jurisdiction_id_of(session, f.jurisdiction)
    dialect = dialect_of(session)
    conds = [
        text_condition(f.q, dialect),
        Bill.jurisdiction_id == jurisdiction_id if jurisdiction_id is not None else None,
        Bill.stage == f.stage if f.stage else None,
        (queue_category if queue else has_category)(f.category, dialect) if f.category else None,
        (
            (queue_direction(f.direction, dialect) if queue else BillMatch.effective_direction == f.direction)
            if f.direction
            else None
        ),
        state_condition(f.state),
        Bill.introduced >= f.date_from if f.date_from else None,
        Bill.introduced <= f.date_to if f.date_to else None,
    ]
    return [c for c in conds if c is not None]


# Columns a list never shows: left out of every list query (``raw`` can be large).
LIST_DEFERRED = (
    defer(Bill.raw),
    defer(BillMatch.category_scores),
    defer(BillMatch.content_keys),
    defer(BillMatch.decided_content),
)


def ids_query(session: Session, f: Filters) -> Select[int]:
    """The ids of the bills passing the filters, joined only to what the filters need (a page is chosen
    on this narrow query, then its rows are loaded: a deep page does not join every row it skips)."""
    q = select(Bill.id)
    if _needs_match(f):
        q = q.outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
    return q.where(*conditions(session, f))


def queue_query(session: Session, f: Filters, *columns: Any) -> Select[*tuple[Any, ...]]:
    """The review queue's query (:func:`tracker.read_model.review_queue_query`, also ``tracker review
    list``'s) under the filters: by default the open bills (pending or flagged)."""
    return review_queue_query(
        *columns,
        states=[f.state or "open"],
        conditions=conditions(session, replace(f, state=None), queue=True),
        uncertain_first=f.order == "uncertain",
    )


def list_rows(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """The list rows of these bills, in this order (one query)."""
    if not ids:
        return []
    q = (
        select(Bill, Jurisdiction, BillMatch)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
        .where(Bill.id.in_(ids))
        .options(*LIST_DEFERRED)
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
    # the next hearing of each (the review card and the lists show it)
    return add_next_hearings(session, [by_id[i] for i in ids], utcnow())


def paged(session: Session, ids_q: Select[int], f: Filters, order: list[Any], per_page: int) -> Page:
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
    return Page(list_rows(session, [h.id for h in hits]), total, f.page, per_page)
