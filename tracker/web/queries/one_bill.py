"""One bill's page: everything it shows, in a fixed number of queries; how many bills wait for an editor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models_review import BillMatch
from tracker.read_model import (
    bill_with_children,
    next_hearings,
    review_events,
    review_state_condition,
    safe_url,
)
from tracker.web.queries.meetings import bill_votes, cancelled_hearings, sponsor_links
from tracker.web.queries.rows import bill_row, hearing_view


def bill_page(session: Session, bill_id: int, now: datetime) -> dict[str, Any] | None:
    """Everything the bill page shows, in a fixed number of queries (None for an unknown id); its next
    hearing is the soonest meeting after ``now`` whose agenda lists it."""
    bill = bill_with_children(session, bill_id)
    if bill is None:
        return None
    match = session.get(BillMatch, bill.id)
    events = review_events(session, bill.id)
    actions_by_id = {a.id: a for a in bill.actions}
    changes = [
        {"change": c, "action": actions_by_id.get(c.action_id) if c.action_id else None}
        for c in sorted(bill.status_changes, key=lambda c: c.seq, reverse=True)
    ]
    hearing = next_hearings(session, [bill.id], now).get(bill.id)
    return {
        "bill": bill,
        "next_hearing": hearing_view(hearing) if hearing is not None else None,
        "cancelled_hearings": cancelled_hearings(session, bill.id, now),
        "votes": bill_votes(session, bill),
        "jurisdiction": bill.jurisdiction,
        "row": bill_row(bill, bill.jurisdiction, match),
        "match": match,
        "events": list(events),
        "sponsors": sponsor_links(session, bill, sorted(bill.sponsors, key=lambda s: s.sequence)),
        # a backfill left them to the next sweep ([crawl] sponsors_by_title)
        "sponsors_pending": bill.sponsors_fetched_at is None,
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
