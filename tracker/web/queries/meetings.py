"""Hearings, votes and council members on the web pages: each bill's next hearing (the bill page, the
review cards, the lists and their CSV exports), a bill's votes with the roll call per member, the members
of a jurisdiction and one member's page. Every list is loaded in a fixed number of queries (batched by
:func:`tracker.read_model.next_hearings` and :func:`tracker.read_model.votes_of`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer, selectinload

from db.models import Bill, Jurisdiction, Sponsor
from db.models_meetings import Meeting, MeetingItem, Member, Vote
from db.models_review import BillMatch
from tracker.contract import name_key
from tracker.read_model import FilterError, on_agenda_ahead, safe_url, votes_of
from tracker.safe_output import ascii_digits
from tracker.web.queries.living import DIRECTION_ORDER
from tracker.web.queries.rows import hearing_view
from tracker.web.queries.sql import jurisdiction_id_of

# -- hearings --------------------------------------------------------------------------------------------


def cancelled_hearings(session: Session, bill_id: int, now: datetime) -> list[dict[str, Any]]:
    """The upcoming meetings with this bill on their agenda that were cancelled (never a next hearing;
    the bill page says so, soonest first)."""
    meetings = session.scalars(
        select(Meeting)
        .join(MeetingItem, MeetingItem.meeting_id == Meeting.id)
        .where(MeetingItem.bill_id == bill_id, on_agenda_ahead(now, ("cancelled",)))
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(5)
    ).all()
    return [hearing_view(m) for m in dict.fromkeys(meetings)]


def bill_votes(session: Session, bill: Bill) -> list[dict[str, Any]]:
    """A bill's votes, oldest first (:func:`tracker.read_model.vote_records`), each member of a roll call
    with the id of their member page (``member_id``, None when unknown)."""
    records = votes_of(session, [bill.id]).get(bill.id, [])
    if not records:
        return []
    ids = dict(
        session.execute(
            select(Vote.member_name, Vote.member_id)
            .join(MeetingItem, Vote.meeting_item_id == MeetingItem.id)
            .where(MeetingItem.bill_id == bill.id, Vote.member_id.is_not(None))
        ).all()
    )
    ids.update(
        _members_by_key(session, bill.jurisdiction_id, [v["member"] for r in records for v in r["roll_call"]])
    )
    # the zone the meetings give their times in (one per jurisdiction), to name it on the page
    zone = session.scalar(
        select(Meeting.time_zone)
        .join(MeetingItem, MeetingItem.meeting_id == Meeting.id)
        .where(MeetingItem.bill_id == bill.id)
        .limit(1)
    )
    for record in records:
        record["starts_at"] = datetime.fromisoformat(record["at"]) if record["at"] else None
        record["time_zone"] = zone
        record["roll_call"] = [
            {**v, "member_id": ids.get(v["member"]) or ids.get(name_key(v["member"]))}
            for v in record["roll_call"]
        ]
    return records


def _members_by_key(session: Session, jurisdiction_id: int, names: Iterable[str]) -> dict[str, int]:
    """name_key -> member id of these names in one jurisdiction (one query)."""
    keys = sorted({name_key(n) for n in names if n})
    if not keys:
        return {}
    rows = session.execute(
        select(Member.name_key, Member.id).where(
            Member.jurisdiction_id == jurisdiction_id, Member.name_key.in_(keys)
        )
    ).all()
    return {key: member_id for key, member_id in rows}


def sponsor_links(session: Session, bill: Bill, sponsors: list[Sponsor]) -> list[dict[str, Any]]:
    """The bill's sponsors, each with the id of their member page when the tracker knows them."""
    ids = _members_by_key(session, bill.jurisdiction_id, [s.name for s in sponsors])
    return [
        {"name": s.name, "is_primary": s.is_primary, "member_id": ids.get(name_key(s.name))} for s in sponsors
    ]


#: The longest window of ``/hearings``, in days.
HEARINGS_MAX_DAYS = 366
#: Its default window: the next four weeks.
HEARINGS_DAYS = 28


def _hearing_days(text: str | None) -> int:
    """``days`` of ``/hearings``: a whole number from 1 to :data:`HEARINGS_MAX_DAYS` (default
    :data:`HEARINGS_DAYS`); anything else is a FilterError (a 400 with one line)."""
    text = (text or "").strip()
    if not text:
        return HEARINGS_DAYS
    if not ascii_digits(text) or len(text) > 3 or not 1 <= int(text) <= HEARINGS_MAX_DAYS:
        raise FilterError(f"days must be a whole number from 1 to {HEARINGS_MAX_DAYS}")
    return int(text)


def upcoming_hearings(
    session: Session, now: datetime, days_text: str | None = None, *, jurisdiction: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """The meetings of the next ``days`` (from ``days_text``, :func:`_hearing_days`) whose agendas list a
    sanctuary-related measure (relevant by the editors' word, else the matcher's), soonest first, with
    those measures in agenda order: cancelled and moved meetings too, and those that left the portal's
    listing, marked, since a measure's hearing being called off or moved is news. One query for the
    meetings and their measures."""
    days = _hearing_days(days_text)
    jurisdiction_id = jurisdiction_id_of(session, jurisdiction)
    q = (
        select(
            Meeting,
            Jurisdiction.slug,
            Jurisdiction.name,
            Bill.id,
            Bill.identifier,
            Bill.title,
            Bill.stage,
            BillMatch.effective_categories,
            BillMatch.effective_direction,
            BillMatch.review_state,
        )
        .join(MeetingItem, MeetingItem.meeting_id == Meeting.id)
        .join(Bill, Bill.id == MeetingItem.bill_id)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .join(Jurisdiction, Jurisdiction.id == Meeting.jurisdiction_id)
        .where(
            BillMatch.effective_relevant,
            on_agenda_ahead(now, ("scheduled", "moved", "cancelled"), gone=True),
            Meeting.starts_at <= now + timedelta(days=days),
        )
        .options(defer(Meeting.raw))
        .order_by(Meeting.starts_at, Meeting.id, MeetingItem.sequence, MeetingItem.id)
    )
    if jurisdiction_id is not None:
        q = q.where(Meeting.jurisdiction_id == jurisdiction_id)
    found: dict[int, dict[str, Any]] = {}
    for meeting, slug, city, bill_id, identifier, title, stage, cats, direction, state in session.execute(q):
        hearing = found.get(meeting.id)
        if hearing is None:
            hearing = found[meeting.id] = {
                **hearing_view(meeting),
                "jurisdiction": slug,
                "city": city,
                "measures": [],
            }
        if any(m["id"] == bill_id for m in hearing["measures"]):
            continue  # (a bill on two items of one agenda)
        hearing["measures"].append(
            {
                "id": bill_id,
                "identifier": identifier,
                "title": title,
                "stage": stage,
                "categories": list(cats or []),
                "direction": _direction(direction),
                "review_state": state,
            }
        )
    return days, list(found.values())


# -- members ---------------------------------------------------------------------------------------------


@dataclass
class MemberGroup:
    jurisdiction: str
    city: str
    members: list[dict[str, Any]] = field(default_factory=list)


def _current(terms: Iterable[Any], today: date) -> list[Any]:
    return [t for t in terms if t.end is None or t.end >= today]


def members_list(session: Session, today: date, *, jurisdiction: str | None = None) -> list[MemberGroup]:
    """The members of every jurisdiction (or of one), by city then name, each with their bodies now (the
    terms not ended by ``today``) and how many terms the tracker knows: two queries."""
    jurisdiction_id = jurisdiction_id_of(session, jurisdiction)
    q = (
        select(Member, Jurisdiction)
        .join(Jurisdiction, Member.jurisdiction_id == Jurisdiction.id)
        .options(selectinload(Member.terms))
        .order_by(Jurisdiction.name, Jurisdiction.slug, Member.name_key, Member.id)
    )
    if jurisdiction_id is not None:
        q = q.where(Member.jurisdiction_id == jurisdiction_id)
    groups: dict[str, MemberGroup] = {}
    for member, j in session.execute(q):
        group = groups.setdefault(j.slug, MemberGroup(j.slug, j.name))
        now = _current(member.terms, today)
        group.members.append(
            {
                "id": member.id,
                "name": member.name,
                "bodies": sorted({t.body_name for t in now}),
                "titles": sorted({t.title for t in now if t.title}),
                "terms": len(member.terms),
            }
        )
    return list(groups.values())


def _direction(direction: str | None) -> str:
    return direction if direction in DIRECTION_ORDER else "neutral"


def member_page(session: Session, member_id: int, today: date) -> dict[str, Any] | None:
    """One member: their terms, the sanctuary-related measures (relevant by the editors' word, else the
    matcher's) they sponsored and their votes on such measures, each by direction (None: no such member).
    Sponsors are joined by :func:`tracker.contract.name_key` within the member's jurisdiction."""
    member = session.scalar(
        select(Member)
        .where(Member.id == member_id)
        .options(selectinload(Member.terms), selectinload(Member.jurisdiction))
    )
    if member is None:
        return None
    # Sponsorships: the sponsors of relevant bills of the jurisdiction whose name contains the member's
    # last name (a narrow query), kept when their whole name has the member's key.
    last = member.name_key.split()[-1] if member.name_key.split() else member.name_key
    escaped = last.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    name_like = (
        Sponsor.name.like(f"%{escaped}%", escape="!")  # SQLite's LIKE ignores ASCII case already
        if session.get_bind().dialect.name == "sqlite"
        else Sponsor.name.ilike(f"%{escaped}%", escape="!")
    )
    direction = BillMatch.effective_direction
    # columns, not whole rows: a bill's raw record and a match's evidence are never shown here
    sponsored_q = (
        select(
            Bill.id,
            Bill.identifier,
            Bill.title,
            Bill.stage,
            Bill.introduced,
            Sponsor.name,
            Sponsor.is_primary,
            BillMatch.effective_categories,
            direction,
        )
        .join(Sponsor, Sponsor.bill_id == Bill.id)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .where(Bill.jurisdiction_id == member.jurisdiction_id, BillMatch.effective_relevant, name_like)
        .order_by(Bill.introduced.is_(None), Bill.introduced.desc(), Bill.id)
    )
    sponsored: dict[str, list[dict[str, Any]]] = {}
    seen: set[int] = set()
    for bill_id, identifier, title, stage, introduced, sponsor_name, primary, cats, d in session.execute(
        sponsored_q
    ):
        if name_key(sponsor_name) != member.name_key or bill_id in seen:
            continue
        seen.add(bill_id)
        sponsored.setdefault(_direction(d), []).append(
            {
                "id": bill_id,
                "identifier": identifier,
                "title": title,
                "stage": stage,
                "introduced": introduced,
                "primary": primary,
                "categories": list(cats or []),
            }
        )
    votes_q = (
        select(
            Bill.id,
            Bill.identifier,
            Bill.title,
            Meeting.starts_at,
            Meeting.time_zone,
            Meeting.body_name,
            Meeting.public_url,
            MeetingItem.action,
            MeetingItem.result,
            Vote.vote,
            Vote.text,
            direction,
        )
        .join(MeetingItem, Vote.meeting_item_id == MeetingItem.id)
        .join(Meeting, MeetingItem.meeting_id == Meeting.id)
        .join(Bill, MeetingItem.bill_id == Bill.id)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .where(Vote.member_id == member.id, BillMatch.effective_relevant)
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc(), MeetingItem.sequence)
    )
    votes: dict[str, list[dict[str, Any]]] = {}
    for row in session.execute(votes_q):
        votes.setdefault(_direction(row[-1]), []).append(
            {
                "bill_id": row[0],
                "identifier": row[1],
                "title": row[2],
                "starts_at": row[3],
                "time_zone": row[4],
                "body": row[5],
                "meeting_url": safe_url(row[6]),
                "action": row[7],
                "result": row[8],
                "vote": row[9],
                "text": row[10],
            }
        )
    return {
        "member": member,
        "jurisdiction": member.jurisdiction,
        "terms": sorted(member.terms, key=lambda t: t.start or date.min, reverse=True),
        "current_terms": _current(member.terms, today),
        "sponsored": [(d, sponsored[d]) for d in DIRECTION_ORDER if d in sponsored],
        "sponsored_count": len(seen),
        "votes": [(d, votes[d]) for d in DIRECTION_ORDER if d in votes],
        "votes_count": sum(len(v) for v in votes.values()),
    }
