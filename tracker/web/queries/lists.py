"""The lists: the search (every bill, newest first), the editors' review queue (the read model's one
queue query) and their CSV exports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import UnaryExpression, select
from sqlalchemy.orm import Session

from db.models import Bill, Jurisdiction
from db.models_review import BillMatch
from db.types import utcnow
from tracker.read_model import (
    EXPORT_BILL_FIELDS,
    EXPORT_MATCH_FIELDS,
    BillValues,
    JurisdictionValues,
    MatchValues,
    bill_record,
    match_record,
    plain_rows,
    value_columns,
)
from tracker.web.queries.filters import PER_PAGE, Filters, Page
from tracker.web.queries.rows import add_next_hearings, near_miss_fields
from tracker.web.queries.sql import conditions, ids_query, list_rows, paged, queue_query

_SEARCH_ORDER: list[UnaryExpression[Any]] = [Bill.introduced.desc().nulls_last(), Bill.id.desc()]


def search_bills(session: Session, f: Filters, *, per_page: int = PER_PAGE) -> Page:
    """Every bill (matched or not) passing the filters, newest introduced first, one page."""
    return paged(session, ids_query(session, f), f, _SEARCH_ORDER, per_page)


def review_queue(session: Session, f: Filters, *, per_page: int = PER_PAGE) -> Page:
    """Bills in review (by default the open ones: pending or flagged), one page, in the queue's one order
    (:func:`tracker.read_model.queue_order`, shared with ``tracker review list``): flagged first, then
    pending, confirmed, rejected, best score first; ``order=uncertain``: uncertain pending bills first."""
    return paged(session, queue_query(session, f, Bill.id), f, [], per_page)


def export_row(
    bill: Bill | BillValues,
    jurisdiction: Jurisdiction | JurisdictionValues,
    match: BillMatch | MatchValues | None,
) -> dict[str, Any]:
    """A row of the CSV exports: the bill's record and its match's (:mod:`tracker.read_model`; no
    ``direction_reason``, which no export has), its ``url`` the public page when it is a safe link."""
    row = {**bill_record(bill, jurisdiction), **match_record(match, why=False)}
    row["url"] = row["link"]
    return row


def export_rows(session: Session, f: Filters, *, queue: bool = False) -> list[dict[str, Any]]:
    """Every row of a list (search, or the queue with ``queue``) in the list's order, for the CSV export:
    one query, not one page, read as plain rows (:func:`tracker.read_model.plain_rows`)."""
    # the queue's CSV also says which bills are uncertain and which are near misses (with their suggestion)
    queue_fields = frozenset(("uncertain", "learned")) if queue else frozenset()
    columns = value_columns(why=False, only=EXPORT_BILL_FIELDS | EXPORT_MATCH_FIELDS | queue_fields)
    if queue:
        q = queue_query(session, f, *columns)
    else:
        q = (
            select(*columns)
            .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
            .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
            .where(*conditions(session, f))
            .order_by(*_SEARCH_ORDER)
        )
    rows = []
    for b, j, m in plain_rows(session.execute(q)):
        row = export_row(b, j, m)
        if queue:
            row.update(uncertain=bool(m and m.uncertain), **near_miss_fields(m))
        rows.append(row)
    return add_next_hearings(session, rows, utcnow())


def review_row(session: Session, bill_id: int) -> dict[str, Any] | None:
    """One bill as a row of the queue (after a decision, for the partial that replaces the row)."""
    rows = list_rows(session, [bill_id])
    return rows[0] if rows else None


def jurisdictions(session: Session) -> list[tuple[str, str]]:
    """(slug, name) of every jurisdiction, for the filters."""
    q = select(Jurisdiction.slug, Jurisdiction.name).order_by(Jurisdiction.name, Jurisdiction.slug)
    return [(slug, name) for slug, name in session.execute(q)]
