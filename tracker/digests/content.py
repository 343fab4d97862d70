"""What a subscriber's next digest contains: new matched measures and status changes of tracked bills,
grouped by city, minus everything the subscriber already received.

Rules (docs/digests.md):

- a *measure* is a bill whose current match passes the subscription's filters: relevant (the editor's word
  when there is one, else the matcher's) or, with ``confirmed_only``, confirmed by an editor; at least one
  of the subscription's categories; its direction; a match the learned model is uncertain of (``uncertain``)
  and no editor confirmed is left out of the new measures unless the subscription has ``include_uncertain``,
  and then says so ("uncertain match, not yet reviewed");
- a measure is *new* when the tracker first saw the bill inside the subscription's window
  (``starts_at`` .. now), or when an editor confirmed it inside the window. "First seen" is the tracker's
  own observation time (``bills.first_seen_at``), never the portal's action dates, so a future-dated
  action can never make a bill new again;
- a *status change* is a ``changed`` event of ``status_changes`` observed inside the window, of a bill
  that is a measure for this subscription;
- a status change of a bill whose direction is *restricts* "needs attention": the digest leads with those
  (``attention``, every city), then each city's new measures and other status changes;
- each item carries its categories and direction as labels, its review state in words ("not yet reviewed"
  when no editor confirmed it), the council's page (``url``) and, with ``[digests] public_url``, the
  tracker's own bill page (``tracker_url``);
- a *saved search* (``search_text``) keeps only bills whose title, name, identifier, action or document
  texts contain every word (the web search's matching, :func:`tracker.read_model.text_condition`), and
  does not ask for a sanctuary match: relevance, ``confirmed_only`` and ``include_uncertain`` do not apply;
  its cities apply, and its categories or direction (when set) keep only matched bills that have them; its
  new bills are those first seen inside the window, and their status changes follow;
- a *followed bill* (``bill_id``) gets that bill's status changes only, whatever its match state (its
  other filters do not apply);
- whatever a subscriber received is in ``digest_items`` (unique per subscription, kind and id), and is
  excluded here: nothing reaches a subscriber twice, and a crawl that commits late (its events carry its
  start time) is still picked up by the next digest, since no time watermark is involved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from db.models import Action, Bill, Jurisdiction, StatusChange
from db.models_digest import DigestItem, Subscription
from db.models_review import BillMatch
from tracker.digests.links import Links
from tracker.labels import category_label, direction_label, stage_label
from tracker.read_model import action_record, safe_url, text_condition

MAX_WHY = 4


@dataclass
class DigestContent:
    """A digest's content before it is recorded: the grouped entries and what it consumes."""

    cities: list[dict[str, Any]] = field(default_factory=list)
    # Status changes of restrictive measures, every city: what the digest leads with.
    attention: list[dict[str, Any]] = field(default_factory=list)
    measure_ids: list[int] = field(default_factory=list)
    change_ids: list[int] = field(default_factory=list)

    @property
    def measures(self) -> int:
        return sum(len(c["measures"]) for c in self.cities)

    @property
    def changes(self) -> int:
        return sum(len(c["status_changes"]) for c in self.cities) + len(self.attention)

    @property
    def empty(self) -> bool:
        return not self.measure_ids and not self.change_ids

    def as_dict(self) -> dict[str, Any]:
        return {
            "measures": self.measures,
            "status_changes": self.changes,
            "attention": self.attention,
            "cities": self.cities,
        }


def passes(match: BillMatch | None, sub: Subscription) -> bool:
    """Whether a bill's current match is a measure under the subscription's filters (a saved search: any
    bill, matched or not, within its categories and direction when it has them)."""
    if sub.bill_id is not None:
        return True
    if sub.search_text:
        if not sub.categories and not sub.direction:
            return True
        if match is None:
            return False
        if sub.categories and not set(sub.categories) & set(match.effective_categories):
            return False
        return not (sub.direction and match.effective_direction != sub.direction)
    if match is None:
        return False
    if sub.confirmed_only:
        if match.review_state != "confirmed":
            return False
    elif not match.effective_relevant:
        return False
    if sub.categories and not set(sub.categories) & set(match.effective_categories):
        return False
    return not (sub.direction and match.effective_direction != sub.direction)


def _relevant_clause(sub: Subscription) -> Any:
    if sub.confirmed_only:
        return BillMatch.review_state == "confirmed"
    return BillMatch.effective_relevant


def _why(match: BillMatch | None) -> list[str]:
    out: list[str] = []
    if match is None:
        return out
    if match.source == "editor":
        out.append("added by an editor")
    categories = set(match.effective_categories)
    seen: set[tuple[str, str]] = set()
    for ev in match.evidence or []:
        if not isinstance(ev, dict) or ev.get("kind") != "term":
            continue
        if categories and ev.get("rule") not in categories:
            continue
        phrase, where = str(ev.get("phrase", "")), str(ev.get("field", ""))
        key = (phrase.lower(), where)
        if not phrase or key in seen:
            continue
        seen.add(key)
        out.append(f"“{phrase}” in the {where}")
        if len(seen) >= MAX_WHY:
            break
    for ev in match.evidence or []:
        if (
            isinstance(ev, dict)
            and ev.get("kind") == "cue"
            and ev.get("direction") == match.effective_direction
        ):
            out.append(f"“{ev.get('phrase', '')}” ({direction_label(ev.get('direction'))})")
            break
    return out


def _uncertain_clause() -> Any:
    """A new measure a subscriber gets without ``include_uncertain``: certain, or confirmed by an editor."""
    return or_(BillMatch.uncertain.is_(False), BillMatch.review_state == "confirmed")


def _review(match: BillMatch | None) -> str:
    if match is None:
        return "not matched to sanctuary"
    if match.review_state == "confirmed":
        return "confirmed by an editor"
    if match.uncertain:
        return "uncertain match, not yet reviewed"
    return "not yet reviewed by an editor"


def _reviewed(match: BillMatch | None) -> bool:
    # a bill without a match has nothing to review: no "not yet reviewed" marker
    return match is None or match.review_state == "confirmed"


def _match_fields(match: BillMatch | None) -> dict[str, Any]:
    categories = match.effective_categories if match is not None else []
    direction = match.effective_direction if match is not None else None
    return {
        "categories": categories,
        "category_labels": [category_label(c) for c in categories],
        "direction": direction,
        "direction_label": direction_label(direction) if direction else "no direction",
        "matched": match is not None,
        "review": (match.review_state if match is not None else None) or ("pending" if match else "none"),
        "review_label": _review(match),
        "reviewed": _reviewed(match),
    }


def _local_date(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).date().isoformat()


def _measure(bill: Bill, match: BillMatch | None, zone: ZoneInfo, links: Links) -> dict[str, Any]:
    return {
        "bill_id": bill.id,
        "identifier": bill.identifier,
        "title": bill.title or bill.name or "(untitled)",
        "type": bill.type_name,
        **_match_fields(match),
        "stage": bill.stage,
        "stage_label": stage_label(bill.stage),
        "status": bill.status,
        "why": _why(match),
        "url": safe_url(bill.public_url or bill.source_url),
        "tracker_url": links.bill(bill.id),
        "introduced": bill.introduced.isoformat() if bill.introduced else None,
        "first_seen_at": bill.first_seen_at.isoformat(),
        "first_seen_on": _local_date(bill.first_seen_at, zone),
    }


def _change_label(change: StatusChange) -> str:
    statuses = f"{change.old_status or '-'} → {change.new_status or '-'}"
    if change.old_stage != change.new_stage:
        return f"{stage_label(change.old_stage)} → {stage_label(change.new_stage)} ({statuses})"
    return f"{statuses} (stage: {stage_label(change.new_stage)})"


def _change(
    change: StatusChange,
    bill: Bill,
    match: BillMatch | None,
    action: Action | None,
    zone: ZoneInfo,
    links: Links,
    city: Jurisdiction,
) -> dict[str, Any]:
    return {
        "status_change_id": change.id,
        "bill_id": bill.id,
        "identifier": bill.identifier,
        "title": bill.title or bill.name or "(untitled)",
        "jurisdiction": city.slug,
        "city": city.name,
        **_match_fields(match),
        "old_stage": change.old_stage,
        "new_stage": change.new_stage,
        "old_stage_label": stage_label(change.old_stage),
        "new_stage_label": stage_label(change.new_stage),
        "old_status": change.old_status,
        "new_status": change.new_status,
        "change": _change_label(change),
        "observed_at": change.observed_at.isoformat(),
        "observed_on": _local_date(change.observed_at, zone),
        "date": (action.action_date.isoformat() if action and action.action_date else None)
        or _local_date(change.observed_at, zone),
        "action": action_record(action),
        "url": safe_url(bill.public_url or bill.source_url),
        "tracker_url": links.bill(bill.id),
    }


def _scope(session: Session, sub: Subscription) -> Any:
    """The bills a subscription is about: one followed bill; a saved search's words (the web search's
    matching, sanctuary-matched or not); else the relevant matches."""
    if sub.bill_id is not None:
        return Bill.id == sub.bill_id
    if sub.search_text:
        return text_condition(sub.search_text, session.get_bind().dialect.name)
    return _relevant_clause(sub)


def build_content(
    session: Session, sub: Subscription, now: datetime, links: Links | None = None
) -> DigestContent:
    """The content of the subscription's next digest at ``now`` (empty when nothing is new)."""
    links = links or Links(None, None)
    zone = ZoneInfo(sub.timezone)
    start = sub.starts_at
    received_measures = select(DigestItem.ref_id).where(
        DigestItem.subscription_id == sub.id, DigestItem.kind == "measure"
    )
    received_changes = select(DigestItem.ref_id).where(
        DigestItem.subscription_id == sub.id, DigestItem.kind == "status_change"
    )
    confirmed_in_window = and_(
        BillMatch.review_state == "confirmed", BillMatch.decided_at >= start, BillMatch.decided_at <= now
    )
    first_seen_in_window = and_(Bill.first_seen_at >= start, Bill.first_seen_at <= now)
    new_clause = confirmed_in_window if sub.confirmed_only else or_(first_seen_in_window, confirmed_in_window)
    # which bills: sanctuary measures; a saved search's words, matched or not; a followed bill
    scope = _scope(session, sub)
    q = (
        select(Bill, BillMatch, Jurisdiction)
        .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .where(Bill.id.not_in(received_measures))
        .order_by(Jurisdiction.name, Bill.first_seen_at, Bill.identifier, Bill.id)
    )
    if sub.bill_id is not None:
        q = q.where(false())  # a followed bill: its status changes only
    elif sub.search_text:
        q = q.where(scope, first_seen_in_window)
    else:
        q = q.where(scope, new_clause)
        if not sub.include_uncertain:
            q = q.where(_uncertain_clause())
    if sub.jurisdictions and sub.bill_id is None:
        q = q.where(Jurisdiction.slug.in_(list(sub.jurisdictions)))
    cities: dict[str, dict[str, Any]] = {}

    def city(j: Jurisdiction) -> dict[str, Any]:
        if j.slug not in cities:
            cities[j.slug] = {"jurisdiction": j.slug, "name": j.name, "measures": [], "status_changes": []}
        return cities[j.slug]

    content = DigestContent()
    announced: set[int] = set()
    for bill, match, jurisdiction in session.execute(q):
        if not passes(match, sub):
            continue
        city(jurisdiction)["measures"].append(_measure(bill, match, zone, links))
        content.measure_ids.append(bill.id)
        announced.add(bill.id)

    if sub.status_changes:
        cq = (
            select(StatusChange, Bill, BillMatch, Jurisdiction, Action)
            .join(Bill, StatusChange.bill_id == Bill.id)
            .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
            .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
            .outerjoin(Action, StatusChange.action_id == Action.id)
            .where(
                StatusChange.kind == "changed",
                StatusChange.observed_at >= start,
                StatusChange.observed_at <= now,
                scope,
                StatusChange.id.not_in(received_changes),
            )
            .order_by(Jurisdiction.name, StatusChange.observed_at, StatusChange.id)
        )
        if sub.jurisdictions and sub.bill_id is None:
            cq = cq.where(Jurisdiction.slug.in_(list(sub.jurisdictions)))
        for change, bill, match, jurisdiction, action in session.execute(cq):
            if not passes(match, sub):
                continue
            content.change_ids.append(change.id)
            # A bill announced as new in this digest shows its current stage; its changes are covered.
            if bill.id in announced:
                continue
            item = _change(change, bill, match, action, zone, links, jurisdiction)
            if item["direction"] == "restricts":
                content.attention.append(item)  # a restrictive measure moved: the digest leads with it
            else:
                city(jurisdiction)["status_changes"].append(item)
    content.cities = sorted(cities.values(), key=lambda c: (c["name"].lower(), c["jurisdiction"]))
    return content
