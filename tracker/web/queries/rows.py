"""One bill as a row of a list (search, the queue, the dashboard, the living list, the bill page)."""

from __future__ import annotations

from typing import Any

from db.models import Bill, Jurisdiction
from db.models_review import BillMatch
from tracker.read_model import safe_url
from tracker.signals import match_direction_reason


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
