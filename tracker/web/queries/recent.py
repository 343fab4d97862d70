"""The dashboard: this week's new measures and status changes of measures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, defer

from db.models import Action, Bill, Jurisdiction, StatusChange
from db.models_review import BillMatch
from db.types import utcnow
from tracker.web.queries.filters import DASHBOARD_DAYS
from tracker.web.queries.rows import add_next_hearings, bill_row
from tracker.web.queries.sql import LIST_DEFERRED


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
        .options(*LIST_DEFERRED)
        .order_by(Bill.first_seen_at.desc(), Bill.id.desc())
    )
    if limit is not None:
        q = q.limit(limit)
    rows = session.execute(q).all()
    total = rows[0].total if rows else 0
    out = [bill_row(b, j, m, evidence=False) for b, j, m, _ in rows]
    return add_next_hearings(session, out, now), total


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
    q = q.options(*LIST_DEFERRED, defer(Action.raw)).order_by(
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
            action_date=action.action_date if action is not None else None,  # outer join: may be None
            action=action.description if action is not None else None,
        )
        out.append(row)
    return out, rows[0].total if rows else 0
