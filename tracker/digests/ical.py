"""Calendar feeds of hearings (RFC 5545, written with the ``icalendar`` library): one per subscription (the
hearings of its measures) and one per bill.

Rules (docs/digests.md, "Calendar feeds"):

- one event per hearing: a bill on the agenda of a meeting. Its ``UID`` is derived from the meeting's
  jurisdiction and source id and the bill's id, so it never changes: a moved meeting is the same event with
  a higher ``SEQUENCE`` (the meeting's ``sequence``, which every move, cancellation or disappearance bumps),
  and calendar programs update it in place;
- a cancelled meeting, or one that left the portal's listing, keeps its event with ``STATUS:CANCELLED``; a
  bill taken off an agenda leaves the feed (a subscribed calendar mirrors the feed);
- the feed holds the hearings that have not started yet and those of the last :data:`PAST_DAYS` days (so an
  event does not vanish from a calendar the moment it starts);
- ``DTSTART`` is in the meeting's own time zone (``TZID`` with its ``VTIMEZONE``); a meeting whose portal
  gives no time is an all-day event of its local date (``DTSTART;VALUE=DATE``); ``DTSTAMP`` the last time
  the tracker saw the meeting change (the feed is the same bytes until something changes); ``URL`` the
  meeting's page (else the agenda), ``LOCATION`` the room, ``DESCRIPTION`` the agenda link, the public-comment
  instructions and the bill's pages;
- scraped text is text: the library escapes it as RFC 5545 TEXT (``,`` ``;`` ``\\`` and line breaks), control
  characters are dropped, and only plain http(s) links are written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.models import Bill, Jurisdiction
from db.models_digest import Subscription
from db.models_meetings import Meeting, MeetingItem
from db.models_review import BillMatch
from tracker.digests.links import Links
from tracker.read_model import safe_url, start_is_timed
from tracker.safe_output import without_bidi, without_controls

PAST_DAYS = 7
PRODID = "-//Sanctuary Tracker//Hearings//EN"
UID_NAMESPACE = uuid.UUID("0b6f4c1e-8d1a-5b7e-9c55-3f2a8e6d4b10")
MAX_SUMMARY = 250


def clean(value: str | None) -> str:
    """Text for a calendar: no control characters, which RFC 5545 TEXT does not allow (tab and line feed stay:
    the library escapes the line feed; a carriage return goes), no bidirectional overrides (a U+202E would
    show the rest of a title reversed)."""
    return without_bidi(without_controls(value or ""))


def event_uid(meeting: Meeting, jurisdiction_slug: str, bill_id: int) -> str:
    """The hearing's stable identity: the meeting (its city and portal id) and the bill."""
    key = f"hearing:{jurisdiction_slug}:{meeting.source_id}:{bill_id}"
    return f"{uuid.uuid5(UID_NAMESPACE, key)}@sanctuary-tracker"


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def hearing_rows(
    session: Session, bill_ids: Iterable[int] | None, now: datetime, *, where: Any = None
) -> list[tuple[MeetingItem, Meeting, Bill, Jurisdiction]]:
    """Every hearing of the bills (or of the bills ``where`` selects) from :data:`PAST_DAYS` ago on, soonest
    first: bills on an agenda (not taken off it), of meetings in any state (cancelled and gone ones too)."""
    q = (
        select(MeetingItem, Meeting, Bill, Jurisdiction)
        .join(Meeting, MeetingItem.meeting_id == Meeting.id)
        .join(Bill, MeetingItem.bill_id == Bill.id)
        .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
        .outerjoin(BillMatch, BillMatch.bill_id == Bill.id)  # for ``where``: a subscription's filters
        .where(MeetingItem.removed_at.is_(None), Meeting.starts_at >= now - timedelta(days=PAST_DAYS))
        .order_by(Meeting.starts_at, Meeting.id, MeetingItem.sequence, MeetingItem.id)
    )
    if bill_ids is not None:
        q = q.where(MeetingItem.bill_id.in_(sorted(set(bill_ids))))
    if where is not None:
        q = q.where(where)
    seen: set[tuple[int, int]] = set()
    out = []
    for item, meeting, bill, jurisdiction in session.execute(q):
        if (meeting.id, bill.id) in seen:
            continue  # a bill twice on one agenda is one hearing
        seen.add((meeting.id, bill.id))
        out.append((item, meeting, bill, jurisdiction))
    return out


def _description(meeting: Meeting, bill: Bill, jurisdiction: Jurisdiction, links: Links) -> str:
    lines = [f"{bill.identifier or '(no number)'}: {bill.title or bill.name or '(untitled)'}"]
    lines.append(f"{meeting.body_name or 'Meeting'}, {jurisdiction.name}")
    if meeting.state == "cancelled" or meeting.vanished_at is not None:
        lines.append("This meeting is cancelled." if meeting.state == "cancelled" else
                     "This meeting is no longer on the council's calendar.")  # fmt: skip
    elif meeting.moved_from is not None and meeting.state == "moved":
        zone = _zone(meeting.time_zone) or UTC
        before = meeting.moved_from.astimezone(zone)
        day = f"{before.strftime('%a')} {before.day} {before.strftime('%b %Y')}"
        if start_is_timed(meeting, meeting.moved_from):
            lines.append(f"Moved from {day} {before.strftime('%H:%M')}.")
        else:
            lines.append(f"Moved from {day} (time not announced).")
    agenda = safe_url(meeting.agenda_url)
    if agenda:
        lines.append(f"Agenda: {agenda}")
    page = safe_url(meeting.public_url)
    if page:
        lines.append(f"Meeting page: {page}")
    if meeting.comment_instructions:
        lines.append(f"Public comment: {meeting.comment_instructions}")
    tracker = links.bill(bill.id)
    if tracker:
        lines.append(f"Bill in the tracker: {tracker}")
    council = safe_url(bill.public_url or bill.source_url)
    if council:
        lines.append(f"Council's page: {council}")
    return clean("\n".join(lines))


def hearing_event(meeting: Meeting, bill: Bill, jurisdiction: Jurisdiction, links: Links) -> Event:
    event = Event()
    event.add("uid", event_uid(meeting, jurisdiction.slug, bill.id))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", _utc(meeting.updated_at))
    if meeting.starts_at is not None and meeting.timed:
        zone = _zone(meeting.time_zone)
        start = meeting.starts_at
        event.add("dtstart", start.astimezone(zone) if zone is not None else _utc(start))
    elif meeting.local_date is not None:
        event.add("dtstart", meeting.local_date)  # no time given: an all-day event of its local date
    title = f"{bill.identifier or '(no number)'} {bill.title or bill.name or ''}".strip()
    summary = f"{meeting.body_name or 'Meeting'}: {title}"
    if len(summary) > MAX_SUMMARY:
        summary = summary[: MAX_SUMMARY - 1] + "…"
    event.add("summary", clean(summary))
    if meeting.location:
        event.add("location", clean(meeting.location))
    url = safe_url(meeting.public_url) or safe_url(meeting.agenda_url) or links.bill(bill.id)
    if url:
        event.add("url", url)
    event.add("description", _description(meeting, bill, jurisdiction, links))
    cancelled = meeting.state == "cancelled" or meeting.vanished_at is not None
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    event.add("categories", [clean(jurisdiction.name)])
    return event


def calendar(name: str, rows: list[tuple[MeetingItem, Meeting, Bill, Jurisdiction]], links: Links) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", clean(name))
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    for _item, meeting, bill, jurisdiction in rows:
        cal.add_component(hearing_event(meeting, bill, jurisdiction, links))
    cal.add_missing_timezones()
    data: bytes = cal.to_ical()
    return data


def bill_calendar(session: Session, bill: Bill, now: datetime, links: Links) -> bytes:
    """The hearings of one bill."""
    rows = hearing_rows(session, [bill.id], now)
    return calendar(f"Hearings: {bill.identifier or bill.id}", rows, links)


def subscription_calendar(session: Session, sub: Subscription, now: datetime, links: Links) -> bytes:
    """The hearings of a subscription's measures: the bills its digests are about (a followed bill; a saved
    search's bills; the matched measures under its filters; a followed member's sponsored measures)."""
    from tracker.digests.content import passes, sponsored_by, subscription_scope
    from tracker.digests.subscriptions import member_name_key

    key = member_name_key(session, sub)
    rows = hearing_rows(session, None, now, where=subscription_scope(session, sub))
    matches = {
        m.bill_id: m
        for m in session.scalars(
            select(BillMatch).where(BillMatch.bill_id.in_(sorted({r[2].id for r in rows})))
        )
    }
    if key is not None:
        bills = {
            b.id: b
            for b in session.scalars(
                select(Bill)
                .where(Bill.id.in_(sorted({r[2].id for r in rows})))
                .options(selectinload(Bill.sponsors))
            )
        }
        rows = [r for r in rows if r[2].jurisdiction_id == key[0] and sponsored_by(bills[r[2].id], key[1])]
    rows = [r for r in rows if passes(matches.get(r[2].id), sub)]
    return calendar(f"Sanctuary Tracker hearings ({sub.email})", rows, links)
