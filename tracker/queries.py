"""Read-side queries shared by the CLI (and later the web app and digests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, aliased

from db.engine import session_scope
from db.models import Action, Bill, Jurisdiction, StatusChange
from tracker.errors import UsageError


def check_jurisdiction(session: Session, slug: str) -> None:
    if session.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == slug)) is None:
        known = (
            ", ".join(session.scalars(select(Jurisdiction.slug).order_by(Jurisdiction.slug))) or "none yet"
        )
        raise UsageError(f"no jurisdiction {slug!r} in the database (known: {known})")


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
    from db.models_review import BillMatch

    act = aliased(Action)
    with session_scope(engine) as session:
        if jurisdiction:
            check_jurisdiction(session, jurisdiction)
        q = (
            select(StatusChange, Bill, Jurisdiction.slug, act, BillMatch)
            .join(Bill, StatusChange.bill_id == Bill.id)
            .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
            .outerjoin(act, StatusChange.action_id == act.id)
            .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
            .order_by(StatusChange.observed_at, StatusChange.id)
        )
        if confirmed:
            q = q.where(BillMatch.review_state == "confirmed")
        if not include_first_seen:
            q = q.where(StatusChange.kind != "first_seen")
        if since is not None:
            q = q.where(StatusChange.observed_at >= since)
        if jurisdiction:
            q = q.where(Jurisdiction.slug == jurisdiction)
        out = []
        for change, bill, slug, action, match in session.execute(q):
            if relevant and not (match is not None and match.effective_relevant):
                continue
            out.append(
                {
                    "observed_at": change.observed_at.isoformat(),
                    "kind": change.kind,
                    "jurisdiction": slug,
                    "source_id": bill.source_id,
                    "identifier": bill.identifier,
                    "title": bill.title,
                    "old_status": change.old_status,
                    "new_status": change.new_status,
                    "old_stage": change.old_stage,
                    "new_stage": change.new_stage,
                    "action": None
                    if action is None
                    else {
                        "date": action.action_date.isoformat() if action.action_date else None,
                        "description": action.description,
                        "body": action.body_name,
                        "result": action.result,
                    },
                    "url": bill.public_url or bill.source_url,
                }
            )
        return out


def _cut(text: str | None, width: int) -> str:
    text = text or ""
    return text if len(text) <= width else text[: width - 1] + "…"


def format_changes_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No status changes."
    lines = [f"{'observed (UTC)':<17} {'jurisdiction':<12} {'file':<12} {'change':<42} {'action':<28} title"]
    for r in rows:
        when = r["observed_at"][:16].replace("T", " ")
        change = f"{r['old_status'] or '-'} → {r['new_status'] or '-'}"
        action = ""
        if r["action"]:
            action = f"{r['action']['date'] or ''} {r['action']['description'] or ''}".strip()
        lines.append(
            f"{when:<17} {_cut(r['jurisdiction'], 12):<12} {_cut(r['identifier'], 12):<12} "
            f"{_cut(change, 42):<42} {_cut(action, 28):<28} {_cut(r['title'], 70)}"
        )
    lines.append(f"{len(rows)} status change{'s' if len(rows) != 1 else ''}.")
    return "\n".join(lines)
