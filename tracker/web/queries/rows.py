"""One bill as a row of a list (search, the queue, the dashboard, the living list, the bill page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from db.models import Bill, Jurisdiction
from db.models_meetings import Meeting
from db.models_review import BillMatch
from tracker.read_model import (
    BillValues,
    JurisdictionValues,
    MatchValues,
    hearing_record,
    next_hearings,
    safe_url,
    start_is_timed,
)
from tracker.review import is_near_miss, near_miss_suggestion
from tracker.signals import match_direction_reason


def bill_row(
    bill: Bill | BillValues,
    jurisdiction: Jurisdiction | JurisdictionValues,
    match: BillMatch | MatchValues | None,
    *,
    evidence: bool = True,
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
        **near_miss_fields(match),
        "learned": match.learned if match and isinstance(match.learned, dict) else None,
        # why this direction, in words (the evidence column is loaded by every list: it is small)
        "direction_reason": match_direction_reason(match),
    }


def near_miss_fields(match: BillMatch | MatchValues | None) -> dict[str, Any]:
    """``near_miss`` (tracker/review.py) and, for one, what confirming it adds (``suggested_categories``,
    ``suggested_direction``: the review queue's CSV columns; ``suggested_reason``: the pages')."""
    near = match is not None and is_near_miss(match.review_state, match.relevant, match.uncertain)
    suggested = near_miss_suggestion(match.learned) if near and match is not None else {}
    return {
        "near_miss": near,
        "suggested_categories": suggested.get("categories") or [],
        "suggested_direction": suggested.get("direction"),
        "suggested_reason": suggested.get("reason"),
    }


def hearing_view(meeting: Meeting) -> dict[str, Any]:
    """A meeting as the pages show a hearing: its record (:func:`tracker.read_model.hearing_record`), the
    start and the start before a move as instants, with the meeting's zone to show them in and whether each
    is a time the portal gave (else the page shows the date, "time not announced"), and ``gone`` when the
    meeting left the portal's listing."""
    old = meeting.moved_from if meeting.state == "moved" else None
    return {
        **hearing_record(meeting),
        "starts_at": meeting.starts_at,
        "timed": start_is_timed(meeting, meeting.starts_at),
        "old_starts_at": old,
        "old_timed": start_is_timed(meeting, old),
        "time_zone": meeting.time_zone,
        "gone": meeting.vanished_at is not None,
    }


def add_next_hearings(session: Session, rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Each row (a list row, with ``id``) gains ``next_hearing`` (a :func:`hearing_view` or None) and the
    CSV columns ``next_hearing_at`` (ISO 8601 with the UTC offset, in the meeting's zone) and
    ``next_hearing_body``: one query per 500 rows."""
    found = next_hearings(session, [r["id"] for r in rows], now)
    for row in rows:
        meeting = found.get(row["id"])
        view = hearing_view(meeting) if meeting is not None else None
        row["next_hearing"] = view
        row["next_hearing_at"] = view["at"] if view else None
        row["next_hearing_body"] = view["body"] if view else None
    return rows
