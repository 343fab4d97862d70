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
- a *hearing change* (``hearing_changes``: a bill placed on an upcoming meeting's agenda, the meeting
  moved or cancelled, the bill taken off it) observed inside the window, of a bill that is a measure for
  this subscription (the same bills as its status changes; a followed bill's own), is announced once
  (``digest_items`` kind ``hearing``), whether or not the subscription asks for status changes; its time is
  given in the subscriber's time zone, with the agenda link and the public-comment instructions;
- *coming up* lists the next hearing of each of the subscriber's measures (:func:`read_model.next_hearings`);
  it is a view of what is next, consumed by nothing: it never makes a digest on its own;
- a *followed member* (``member_id``) gets that member's new sponsorships (sanctuary measures under the
  subscription's filters, first seen inside the window, whose sponsors name the member by
  :func:`tracker.contract.name_key`) and their votes on such measures (roll calls of held meetings recorded
  inside the window; ``digest_items`` kind ``vote``, ``ref_id`` the agenda item), and the coming hearings of
  the measures they sponsor; nothing else;
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
from sqlalchemy.orm import Session, selectinload

from db.models import Action, Bill, Jurisdiction, Sponsor, StatusChange
from db.models_digest import DigestItem, Subscription
from db.models_meetings import HearingChange, Meeting, MeetingItem, Member, Vote
from db.models_review import BillMatch
from tracker.contract import name_key
from tracker.digests.links import Links
from tracker.labels import category_label, direction_label, stage_label
from tracker.read_model import (
    action_record,
    hearing_record,
    next_hearings,
    plan_text_search,
    safe_url,
    start_is_timed,
    text_condition,
    upcoming_hearing_query,
    vote_tally,
)

MAX_WHY = 4
# "Coming up" shows at most this many hearings (soonest first).
MAX_COMING_UP = 50


@dataclass
class DigestContent:
    """A digest's content before it is recorded: the grouped entries and what it consumes."""

    cities: list[dict[str, Any]] = field(default_factory=list)
    # Status changes of restrictive measures, every city: what the digest leads with.
    attention: list[dict[str, Any]] = field(default_factory=list)
    # The upcoming hearings of the subscriber's measures, soonest first (a view: consumes nothing).
    coming_up: list[dict[str, Any]] = field(default_factory=list)
    # A followed member: who (their sponsorships and votes are in each city's lists).
    member: dict[str, Any] | None = None
    measure_ids: list[int] = field(default_factory=list)
    change_ids: list[int] = field(default_factory=list)
    hearing_ids: list[int] = field(default_factory=list)
    vote_ids: list[int] = field(default_factory=list)  # agenda items (meeting_items.id) of a member's votes

    @property
    def measures(self) -> int:
        return sum(len(c["measures"]) + len(c.get("sponsorships", [])) for c in self.cities)

    @property
    def changes(self) -> int:
        return sum(len(c["status_changes"]) for c in self.cities) + len(self.attention)

    @property
    def hearings(self) -> int:
        return sum(len(c.get("hearings", [])) for c in self.cities)

    @property
    def votes(self) -> int:
        return sum(len(c.get("votes", [])) for c in self.cities)

    @property
    def empty(self) -> bool:
        return not (self.measure_ids or self.change_ids or self.hearing_ids or self.vote_ids)

    def items(self) -> list[tuple[str, int]]:
        """What this digest consumes, as ``digest_items`` (kind, ref id)."""
        out = [("measure", i) for i in self.measure_ids]
        out += [("status_change", i) for i in self.change_ids]
        out += [("hearing", i) for i in self.hearing_ids]
        out += [("vote", i) for i in self.vote_ids]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "measures": self.measures,
            "status_changes": self.changes,
            "hearings": self.hearings,
            "votes": self.votes,
            "member": self.member,
            "attention": self.attention,
            "cities": self.cities,
            "coming_up": self.coming_up,
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


def in_window(column: Any, sub: Subscription, start: datetime, now: datetime) -> Any:
    """``column`` (an observation time) falls in the subscription's window: from ``start`` to ``now``,
    without its last pause (from ``paused_at`` to ``resumed_at``)."""
    inside = and_(column >= start, column <= now)
    if sub.paused_at is not None and sub.resumed_at is not None:
        inside = and_(inside, or_(column < sub.paused_at, column >= sub.resumed_at))
    return inside


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


#: The most characters of a title a digest shows (the bill's page has all of it).
TITLE_LIMIT = 600


def digest_title(bill: Bill) -> str:
    """A bill's title as a digest line shows it: one line (a title's own line breaks cannot add lines that
    look like the digest's), at most :data:`TITLE_LIMIT` characters (a 10,000-character title is cut with
    "…")."""
    title = " ".join((bill.title or bill.name or "(untitled)").split()) or "(untitled)"
    return title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1].rstrip() + "…"


def _measure(bill: Bill, match: BillMatch | None, zone: ZoneInfo, links: Links) -> dict[str, Any]:
    return {
        "bill_id": bill.id,
        "identifier": bill.identifier,
        "title": digest_title(bill),
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
        "title": digest_title(bill),
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


# -- hearings ------------------------------------------------------------------------------------------

HEARING_WORDS = {
    "scheduled": "on the agenda",
    "cancelled": "cancelled",
    "removed": "taken off the agenda",
}


def when_label(when: datetime | None, zone: ZoneInfo, timed: bool = True) -> str:
    """A meeting's start as a person reads it, in ``zone``: ``Tue 14 Jan 10:00``; without ``timed`` (the
    portal gave no time), ``Tue 14 Jan, time not announced``."""
    if when is None:
        return "date not given"
    local = when.astimezone(zone)
    day = f"{local.strftime('%a')} {local.day} {local.strftime('%b')}"
    return f"{day} {local.strftime('%H:%M')}" if timed else f"{day}, time not announced"


def _when(meeting: Meeting, instant: datetime | None, zone: ZoneInfo) -> str:
    """:func:`when_label` of the meeting's start or of a start it had (with or without a time)."""
    return when_label(instant, zone, start_is_timed(meeting, instant))


def hearing_text(
    meeting: Meeting,
    kind: str,
    starts_at: datetime | None,
    old: datetime | None,
    zone: ZoneInfo,
    observed_at: datetime | None = None,
) -> str:
    """``Public Safety Committee, Tue 14 Jan 10:00 — on the agenda`` (or moved, cancelled, taken off); a
    move to a start already past when it was seen (``observed_at``) says so."""
    name = meeting.body_name or "A meeting"
    if kind == "moved":
        text = f"{name} — moved from {_when(meeting, old, zone)} to {_when(meeting, starts_at, zone)}"
        if starts_at is not None and observed_at is not None and starts_at <= observed_at:
            text += " (already past)"
        return text
    words = HEARING_WORDS.get(kind, kind)
    if kind == "removed" and meeting.vanished_at is not None and meeting.vanished_at == observed_at:
        words = "removed from the council's calendar"  # the whole meeting left the portal's listing
    return f"{name}, {_when(meeting, starts_at, zone)} — {words}"


def _bill_fields(bill: Bill, match: BillMatch | None, city: Jurisdiction, links: Links) -> dict[str, Any]:
    return {
        "bill_id": bill.id,
        "identifier": bill.identifier,
        "title": digest_title(bill),
        "jurisdiction": city.slug,
        "city": city.name,
        **_match_fields(match),
        "url": safe_url(bill.public_url or bill.source_url),
        "tracker_url": links.bill(bill.id),
    }


def _meeting_fields(meeting: Meeting, zone: ZoneInfo) -> dict[str, Any]:
    record = hearing_record(meeting)
    return {
        "meeting_id": meeting.id,
        "body": meeting.body_name,
        "at": record["at"],
        "location": meeting.location,
        "agenda_url": record["agenda_url"],
        "meeting_url": record["meeting_url"],
        "comment_instructions": meeting.comment_instructions,
        "state": meeting.state,
        "moved_from": record["moved_from"],
        "moved_from_label": _when(meeting, meeting.moved_from, zone) if meeting.moved_from else None,
    }


def _hearing(
    change: HearingChange,
    meeting: Meeting,
    bill: Bill,
    match: BillMatch | None,
    city: Jurisdiction,
    zone: ZoneInfo,
    links: Links,
) -> dict[str, Any]:
    return {
        "hearing_change_id": change.id,
        "kind": change.kind,
        **_bill_fields(bill, match, city, links),
        **_meeting_fields(meeting, zone),
        # the start this change announced (a later move is its own change)
        "starts_at": change.starts_at.isoformat() if change.starts_at else None,
        "when": _when(meeting, change.starts_at, zone),
        "old_when": _when(meeting, change.old_starts_at, zone) if change.old_starts_at else None,
        "text": hearing_text(
            meeting, change.kind, change.starts_at, change.old_starts_at, zone, change.observed_at
        ),
        "observed_at": change.observed_at.isoformat(),
    }


def _coming(meeting: Meeting, bill: Bill, match: BillMatch | None, city: Jurisdiction, zone: ZoneInfo,
            links: Links) -> dict[str, Any]:  # fmt: skip
    when = _when(meeting, meeting.starts_at, zone)
    text = f"{meeting.body_name or 'A meeting'}, {when}"
    if meeting.state == "moved" and meeting.moved_from is not None:
        text += f" (moved from {_when(meeting, meeting.moved_from, zone)})"
    return {
        **_bill_fields(bill, match, city, links),
        **_meeting_fields(meeting, zone),
        "when": when,
        "text": text,
    }


def _coming_up(
    session: Session,
    sub: Subscription,
    now: datetime,
    zone: ZoneInfo,
    links: Links,
    keep: Any = None,
) -> list[dict[str, Any]]:
    """The next hearing of each of the subscriber's measures, soonest first (``keep``: an extra test a bill
    must pass, for a followed member's sponsorships)."""
    upcoming = upcoming_hearing_query(now).subquery()
    q = (
        select(Bill, BillMatch, Jurisdiction)
        .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .where(Bill.id.in_(select(upcoming.c.bill_id)), subscription_scope(session, sub))
    )
    if keep is not None:
        q = q.options(selectinload(Bill.sponsors))
    bills = {}
    for bill, match, jurisdiction in session.execute(q):
        if passes(match, sub) and (keep is None or keep(bill)):
            bills[bill.id] = (bill, match, jurisdiction)
    hearings = next_hearings(session, bills, now)
    rows = sorted(
        ((meeting, *bills[bill_id]) for bill_id, meeting in hearings.items()),
        key=lambda r: (r[0].starts_at, r[0].id, r[1].identifier or "", r[1].id),
    )
    return [_coming(m, b, match, j, zone, links) for m, b, match, j in rows[:MAX_COMING_UP]]


def _hearing_changes(
    session: Session,
    sub: Subscription,
    now: datetime,
    zone: ZoneInfo,
    links: Links,
    content: DigestContent,
    city: Any,
) -> None:
    received = select(DigestItem.ref_id).where(
        DigestItem.subscription_id == sub.id, DigestItem.kind == "hearing"
    )
    q = (
        select(HearingChange, Meeting, Bill, BillMatch, Jurisdiction)
        .join(Meeting, HearingChange.meeting_id == Meeting.id)
        .join(Bill, HearingChange.bill_id == Bill.id)
        .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .where(
            in_window(HearingChange.observed_at, sub, sub.starts_at, now),
            subscription_scope(session, sub),
            HearingChange.id.not_in(received),
        )
        .order_by(Jurisdiction.name, HearingChange.observed_at, HearingChange.id)
    )
    for change, meeting, bill, match, jurisdiction in session.execute(q):
        if not passes(match, sub):
            continue
        content.hearing_ids.append(change.id)
        city(jurisdiction)["hearings"].append(
            _hearing(change, meeting, bill, match, jurisdiction, zone, links)
        )


# -- a followed member ----------------------------------------------------------------------------------


def sponsored_by(bill: Bill, key: str) -> bool:
    return any(name_key(s.name) == key for s in bill.sponsors)


def _member_content(
    session: Session,
    sub: Subscription,
    now: datetime,
    zone: ZoneInfo,
    links: Links,
    content: DigestContent,
    city: Any,
) -> None:
    """A followed member's new sponsorships of sanctuary measures and their votes on them."""
    member = session.get(Member, sub.member_id)
    if member is None:
        return
    home = session.get(Jurisdiction, member.jurisdiction_id)
    content.member = {"id": member.id, "name": member.name, "jurisdiction": home.slug if home else None,
                      "city": home.name if home else None}  # fmt: skip
    start = sub.starts_at
    received_measures = select(DigestItem.ref_id).where(
        DigestItem.subscription_id == sub.id, DigestItem.kind == "measure"
    )
    received_votes = select(DigestItem.ref_id).where(
        DigestItem.subscription_id == sub.id, DigestItem.kind == "vote"
    )
    # their new sponsorships: matched measures first seen inside the window, sponsored by them (by name)
    sponsored = (
        select(Bill, BillMatch, Jurisdiction)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .where(
            Bill.jurisdiction_id == member.jurisdiction_id,
            in_window(Bill.first_seen_at, sub, start, now),
            _relevant_clause(sub),
            Bill.id.not_in(received_measures),
            Bill.id.in_(select(Sponsor.bill_id)),
        )
        .options(selectinload(Bill.sponsors))
        .order_by(Bill.first_seen_at, Bill.identifier, Bill.id)
    )
    if not sub.include_uncertain:
        sponsored = sponsored.where(_uncertain_clause())
    for bill, match, jurisdiction in session.execute(sponsored):
        if not passes(match, sub) or not sponsored_by(bill, member.name_key):
            continue
        item = _measure(bill, match, zone, links)
        item["sponsors"] = [s.name for s in bill.sponsors]
        city(jurisdiction)["sponsorships"].append(item)
        content.measure_ids.append(bill.id)
    # their votes on matched measures: roll calls of held meetings recorded inside the window
    votes = (
        select(Vote, MeetingItem, Meeting, Bill, BillMatch, Jurisdiction)
        .join(MeetingItem, Vote.meeting_item_id == MeetingItem.id)
        .join(Meeting, MeetingItem.meeting_id == Meeting.id)
        .join(Bill, MeetingItem.bill_id == Bill.id)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .where(
            Vote.member_id == member.id,
            Meeting.state == "held",
            in_window(Meeting.updated_at, sub, start, now),
            _relevant_clause(sub),
            MeetingItem.id.not_in(received_votes),
        )
        .order_by(Meeting.starts_at, Meeting.id, MeetingItem.sequence)
    )
    for vote, agenda_item, meeting, bill, match, jurisdiction in session.execute(votes):
        if not passes(match, sub) or agenda_item.id in content.vote_ids:
            continue
        content.vote_ids.append(agenda_item.id)
        city(jurisdiction)["votes"].append(
            {
                "meeting_item_id": agenda_item.id,
                **_bill_fields(bill, match, jurisdiction, links),
                **_meeting_fields(meeting, zone),
                "when": _when(meeting, meeting.starts_at, zone),
                "member": member.name,
                "vote": vote.vote,
                "vote_text": vote.text,
                "action": agenda_item.action,
                "result": agenda_item.result,
                "tally": agenda_item.tally or vote_tally(agenda_item.votes),
                "text": f"{member.name} voted {vote.vote}"
                + (f" ({vote.text})" if vote.text and vote.text.casefold() != vote.vote else "")
                + f": {meeting.body_name or 'a meeting'}, {_when(meeting, meeting.starts_at, zone)}"
                + (f" — {agenda_item.action}" if agenda_item.action else "")
                + (f", {agenda_item.result}" if agenda_item.result else ""),
            }
        )
    key = member.name_key
    content.coming_up = _coming_up(
        session,
        sub,
        now,
        zone,
        links,
        keep=lambda b: b.jurisdiction_id == member.jurisdiction_id and sponsored_by(b, key),
    )


def subscription_scope(session: Session, sub: Subscription) -> Any:
    """The bills a subscription is about: one followed bill (whatever its city); a saved search's words (the
    web search's matching, sanctuary-matched or not); else the relevant matches; both of the
    subscription's cities when it names some."""
    if sub.bill_id is not None:
        return Bill.id == sub.bill_id
    if sub.search_text:
        plan_text_search(session)  # the trigram indexes for a common word too (PostgreSQL), as /search
        scope = text_condition(sub.search_text, session.get_bind().dialect.name)
    else:
        scope = _relevant_clause(sub)
    if sub.jurisdictions:
        cities = select(Jurisdiction.id).where(Jurisdiction.slug.in_(list(sub.jurisdictions)))
        scope = and_(scope, Bill.jurisdiction_id.in_(cities))
    return scope


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
        BillMatch.review_state == "confirmed", in_window(BillMatch.decided_at, sub, start, now)
    )
    first_seen_in_window = in_window(Bill.first_seen_at, sub, start, now)
    new_clause = confirmed_in_window if sub.confirmed_only else or_(first_seen_in_window, confirmed_in_window)
    # which bills: sanctuary measures; a saved search's words, matched or not; a followed bill
    scope = subscription_scope(session, sub)
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
    cities: dict[str, dict[str, Any]] = {}

    def city(j: Jurisdiction) -> dict[str, Any]:
        if j.slug not in cities:
            cities[j.slug] = {"jurisdiction": j.slug, "name": j.name, "measures": [], "status_changes": [],
                              "hearings": [], "sponsorships": [], "votes": []}  # fmt: skip
        return cities[j.slug]

    content = DigestContent()
    if sub.member_id is not None:
        # a followed member: their new sponsorships and their votes, nothing else
        _member_content(session, sub, now, zone, links, content, city)
        content.cities = sorted(cities.values(), key=lambda c: (c["name"].lower(), c["jurisdiction"]))
        return content
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
                in_window(StatusChange.observed_at, sub, start, now),
                scope,
                StatusChange.id.not_in(received_changes),
            )
            .order_by(Jurisdiction.name, StatusChange.observed_at, StatusChange.id)
        )
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
    _hearing_changes(session, sub, now, zone, links, content, city)
    content.coming_up = _coming_up(session, sub, now, zone, links)
    content.cities = sorted(cities.values(), key=lambda c: (c["name"].lower(), c["jurisdiction"]))
    return content
