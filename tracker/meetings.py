"""Storing what a crawl read of a jurisdiction's meetings: meetings, agenda items, roll calls, members, and
the hearing changes digests announce (docs/meetings.md).

The rules are the bills' rules:

- a failed crawl stores nothing (:func:`tracker.store.import_job` never gets here); a meeting record a
  parser could not read was rejected alone;
- nothing is deleted: a meeting missing from a window whose listing the crawl read completely gets
  ``vanished_at`` (and comes back if it reappears); an item missing from an agenda the crawl read completely
  gets ``removed_at``;
- a meeting's ``state`` and ``sequence`` follow :mod:`db.models_meetings`;
- a hearing change is recorded only for a meeting that was upcoming (its start after the crawl's start), so
  reading last year's minutes announces nothing; a meeting moved from an upcoming start to one already past
  is announced as moved (staff were told of the hearing);
- a meeting without a time (``NormalizedMeeting.timed`` False: it starts at local midnight) is upcoming until
  the end of its local day (``Meeting.day_end``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.models import Bill, CrawlRun, Jurisdiction
from db.models_meetings import HearingChange, Meeting, MeetingItem, Member, MemberTerm, Vote
from tracker.contract import (
    MEETING_PART_KEY,
    NormalizedMeeting,
    NormalizedMeetingItem,
    NormalizedMember,
    identifier_key,
    name_key,
)

logger = logging.getLogger(__name__)

ACTIVE_STATES = ("scheduled", "moved")


def merge_parts(meetings: list[NormalizedMeeting]) -> list[NormalizedMeeting]:
    """The meetings of one crawl with the parts staged for them folded in (``raw[MEETING_PART_KEY]``: roll
    calls read by a shard of a split crawl that does not read meetings). A part's item that names the same
    bill (``bill_source_id``, else ``source_id``) as an item of the meeting gives it its roll call (and the
    fields the item leaves empty); another one is added to the meeting. A part whose meeting was not staged
    whole (not in the crawl's window, or its listing failed) is dropped: it stores nothing."""
    whole: dict[str, NormalizedMeeting] = {}
    parts: list[NormalizedMeeting] = []
    for record in meetings:
        if record.raw.get(MEETING_PART_KEY):
            parts.append(record)
        else:
            whole[record.source_id] = record
    if not parts:
        return meetings
    for part in parts:
        meeting = whole.get(part.source_id)
        if meeting is None:
            continue
        items = list(meeting.items)
        at = {(item.bill_source_id or item.source_id): n for n, item in enumerate(items)}
        for row in part.items:
            key = row.bill_source_id or row.source_id
            n = at.get(key)
            if n is None:
                at[key] = len(items)
                items.append(replace(row, sequence=len(items), votes=list(row.votes)))
                continue
            item = items[n]
            items[n] = replace(
                item,
                votes=list(row.votes),
                action=item.action or row.action,
                result=item.result or row.result,
                tally=item.tally or row.tally,
            )
        whole[part.source_id] = replace(meeting, items=items)
    return list(whole.values())


@dataclass
class MeetingsSummary:
    meetings: int = 0
    new: int = 0
    changed: int = 0
    vanished: int = 0
    hearing_changes: int = 0

    def line(self) -> str:
        return (
            f"{self.meetings} meetings ({self.new} new, {self.changed} changed, {self.vanished} gone), "
            f"{self.hearing_changes} hearing changes"
        )


class MeetingImporter:
    def __init__(
        self,
        session: Session,
        jurisdiction: Jurisdiction,
        run: CrawlRun | None,
        observed_at: datetime,
        *,
        source_key: str | None = None,
    ) -> None:
        self.s = session
        self.j = jurisdiction
        self.run = run
        self.observed_at = observed_at
        self.source_key = source_key or jurisdiction.source_key
        self.summary = MeetingsSummary()
        self._members: dict[str, Member] = {}

    # -- members ----------------------------------------------------------------------------------------
    def store_members(self, members: Iterable[NormalizedMember]) -> None:
        for record in members:
            member = self._member(record.name, record.source_id)
            if not record.terms:
                continue
            terms = _distinct_terms(record)
            wanted = {(t.body_name, t.title, t.start, t.end) for t in terms}
            if wanted == {(t.body_name, t.title, t.start, t.end) for t in member.terms}:
                continue
            # the old terms go first: a term kept as it was would otherwise be inserted beside itself
            member.terms.clear()
            self.s.flush()
            member.terms = [
                MemberTerm(body_name=t.body_name, title=t.title, start=t.start, end=t.end) for t in terms
            ]
            member.updated_at = self.observed_at

    def _member(self, name: str, source_id: str | None = None) -> Member:
        key = name_key(name)
        member = self._members.get(key)
        if member is None:
            member = self.s.scalar(
                select(Member)
                .where(Member.jurisdiction_id == self.j.id, Member.name_key == key)
                .options(selectinload(Member.terms))
            )
            if member is None:
                member = Member(
                    jurisdiction_id=self.j.id,
                    name=name,
                    name_key=key,
                    source_id=source_id,
                    first_seen_at=self.observed_at,
                    updated_at=self.observed_at,
                )
                self.s.add(member)
                self.s.flush()
            self._members[key] = member
        if source_id and member.source_id != source_id:
            member.source_id = source_id
            member.updated_at = self.observed_at
        return member

    # -- meetings ---------------------------------------------------------------------------------------
    def store(
        self,
        meetings: list[NormalizedMeeting],
        window: tuple[datetime, datetime] | None,
        listed: set[str],
    ) -> MeetingsSummary:
        meetings = merge_parts(meetings)
        stored = {
            m.source_id: m
            for m in self.s.scalars(
                select(Meeting)
                .where(
                    Meeting.jurisdiction_id == self.j.id,
                    Meeting.source_id.in_([m.source_id for m in meetings]),
                )
                .options(selectinload(Meeting.items).selectinload(MeetingItem.votes))
            )
        }
        bills = self._bills(meetings)
        for record in meetings:
            self._store_one(record, stored.get(record.source_id), bills)
        if window is not None:
            self._mark_vanished(window, listed | {m.source_id for m in meetings})
        self.s.flush()
        return self.summary

    def _bills(self, meetings: list[NormalizedMeeting]) -> tuple[dict[str, int], dict[str, int]]:
        """The stored bills the meetings' items name: by source id, and by file number."""
        source_ids = {i.bill_source_id for m in meetings for i in m.items if i.bill_source_id}
        keys = {k for m in meetings for i in m.items if (k := identifier_key(i.identifier))}
        by_source: dict[str, int] = {}
        by_key: dict[str, int] = {}
        ids = sorted(source_ids)
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            rows = self.s.execute(
                select(Bill.id, Bill.source_id, Bill.source_key).where(
                    Bill.jurisdiction_id == self.j.id, Bill.source_id.in_(chunk)
                )
            ).all()
            for bill_id, source_id, _key in sorted(rows, key=lambda r: r[2] != self.source_key):
                by_source.setdefault(source_id, bill_id)
        wanted = sorted(keys)
        for chunk in (wanted[i : i + 500] for i in range(0, len(wanted), 500)):
            found = self.s.execute(
                select(Bill.id, Bill.identifier_key, Bill.vanished_at).where(
                    Bill.jurisdiction_id == self.j.id, Bill.identifier_key.in_(chunk)
                )
            ).all()
            # a present bill before a vanished one, then the newest
            for bill_id, key, _vanished in sorted(found, key=lambda r: (r[2] is not None, -r[0])):
                if key is not None:
                    by_key.setdefault(key, bill_id)
        return by_source, by_key

    def _store_one(
        self,
        record: NormalizedMeeting,
        meeting: Meeting | None,
        bills: tuple[dict[str, int], dict[str, int]],
    ) -> None:
        now = self.observed_at
        self.summary.meetings += 1
        digest = record.content_hash()
        until = record.upcoming_until()
        upcoming = until is not None and until > now and not record.cancelled
        old_start = meeting.starts_at if meeting is not None else None
        old_until = meeting.upcoming_until() if meeting is not None else None
        was_active = meeting is not None and meeting.state in ACTIVE_STATES and meeting.vanished_at is None
        moved = (
            meeting is not None
            and old_start is not None
            and record.starts_at is not None
            and old_start != record.starts_at
            and old_until is not None
            and old_until > now  # a meeting that already happened is corrected, not moved
            # a meeting without a time whose time is now announced, on the same day, has not moved
            and not (not meeting.timed and record.timed and meeting.local_date == record.local_date)
        )
        state = _state(record, meeting, moved, now)
        if meeting is None:
            meeting = Meeting(
                jurisdiction_id=self.j.id,
                source_id=record.source_id,
                sequence=0,
                first_seen_at=now,
                updated_at=now,
                state=state,
                content_hash=digest,
            )
            self.s.add(meeting)
            self.summary.new += 1
        else:
            bump = (
                old_start != record.starts_at
                or meeting.location != record.location
                or (meeting.state == "cancelled") != (state == "cancelled")
                or meeting.vanished_at is not None
            )
            if bump:
                meeting.sequence += 1
            if meeting.content_hash != digest or meeting.state != state or meeting.vanished_at is not None:
                self.summary.changed += 1
                meeting.updated_at = now
        if moved:
            meeting.moved_from = old_start
        meeting.body_name = record.body_name
        meeting.starts_at = record.starts_at
        meeting.local_date = record.local_date
        meeting.time_zone = record.time_zone
        meeting.location = record.location
        meeting.agenda_url = record.agenda_url
        meeting.minutes_url = record.minutes_url
        meeting.public_url = record.public_url
        meeting.comment_instructions = record.comment_instructions
        meeting.state = state
        meeting.content_hash = digest
        meeting.raw = record.raw
        meeting.day_end = None if record.timed else record.upcoming_until()
        meeting.vanished_at = None
        self.s.flush()

        items = {i.source_id: i for i in meeting.items}
        placed: list[int] = []  # bills newly on this upcoming meeting's agenda
        taken_off: list[int] = []
        for row in record.items:
            item = items.get(row.source_id)
            bill_id = _find_bill(row, bills)
            if item is None:
                item = MeetingItem(meeting_id=meeting.id, source_id=row.source_id)
                meeting.items.append(item)
                if bill_id is not None:
                    placed.append(bill_id)
            else:
                if bill_id is None:
                    bill_id = item.bill_id
                if bill_id is not None and (item.removed_at is not None or item.bill_id != bill_id):
                    placed.append(bill_id)
                    if item.bill_id is not None and item.bill_id != bill_id and item.removed_at is None:
                        taken_off.append(item.bill_id)  # the item now names another bill
            _fill_item(item, row, bill_id)
            item.removed_at = None
            if item.votes:
                # the roll call read before is deleted before the new one is inserted (a member votes once
                # per item: unique meeting_item_id, member_name), not after as the flush would order it
                item.votes = []
                self.s.flush()
            item.votes = [
                Vote(
                    member_id=self._member(v.member).id,
                    member_name=v.member,
                    vote=v.vote,
                    text=v.text,
                )
                for v in row.votes
            ]
        if record.items_complete:
            listed_items = {row.source_id for row in record.items}
            for item in meeting.items:
                if item.source_id not in listed_items and item.removed_at is None:
                    item.removed_at = now
                    if item.bill_id is not None:
                        taken_off.append(item.bill_id)
        on_agenda = [i.bill_id for i in meeting.items if i.bill_id is not None and i.removed_at is None]

        if upcoming and not was_active and meeting is not None and state in ACTIVE_STATES:
            # a new meeting, or one that was cancelled or gone and is back: every bill on it is scheduled
            placed = on_agenda
            moved = False
        if upcoming and moved:
            self._hearings(meeting, "moved", [b for b in on_agenda if b not in placed], old_start)
        elif moved and was_active and state == "held":
            # moved from an upcoming start to one already past: the hearing staff were told of has moved
            # (a bill first seen on its agenda now is old minutes, not news)
            self._hearings(meeting, "moved", [b for b in on_agenda if b not in placed], old_start)
        if upcoming:
            self._hearings(meeting, "scheduled", placed)
            self._hearings(meeting, "removed", taken_off)
        elif was_active and state == "cancelled" and old_start is not None and old_start > now:
            self._hearings(meeting, "cancelled", on_agenda)

    def _mark_vanished(self, window: tuple[datetime, datetime], listed: set[str]) -> None:
        start, end = window
        gone = self.s.scalars(
            select(Meeting)
            .where(
                Meeting.jurisdiction_id == self.j.id,
                Meeting.vanished_at.is_(None),
                Meeting.starts_at >= start,
                Meeting.starts_at <= end,
            )
            .options(selectinload(Meeting.items))
        ).all()
        for meeting in gone:
            if meeting.source_id in listed:
                continue
            meeting.vanished_at = self.observed_at
            meeting.sequence += 1
            self.summary.vanished += 1
            until = meeting.upcoming_until()
            if meeting.state in ACTIVE_STATES and until is not None and until > self.observed_at:
                bills = [i.bill_id for i in meeting.items if i.bill_id is not None and i.removed_at is None]
                self._hearings(meeting, "removed", bills)

    def _hearings(
        self, meeting: Meeting, kind: str, bill_ids: Iterable[int], old_starts_at: datetime | None = None
    ) -> None:
        for bill_id in dict.fromkeys(bill_ids):
            self.s.add(
                HearingChange(
                    meeting_id=meeting.id,
                    bill_id=bill_id,
                    kind=kind,
                    starts_at=meeting.starts_at,
                    old_starts_at=old_starts_at,
                    observed_at=self.observed_at,
                    crawl_run_id=self.run.id if self.run is not None else None,
                )
            )
            self.summary.hearing_changes += 1


def _state(record: NormalizedMeeting, meeting: Meeting | None, moved: bool, now: datetime) -> str:
    if record.cancelled:
        return "cancelled"
    until = record.upcoming_until()
    if until is not None and until <= now:
        return "held"
    if moved or (meeting is not None and meeting.state == "moved" and meeting.vanished_at is None):
        return "moved"
    return "scheduled"


def _find_bill(row: NormalizedMeetingItem, bills: tuple[dict[str, int], dict[str, int]]) -> int | None:
    by_source, by_key = bills
    if row.bill_source_id and row.bill_source_id in by_source:
        return by_source[row.bill_source_id]
    key = identifier_key(row.identifier)
    return by_key.get(key) if key else None


def _fill_item(item: MeetingItem, row: NormalizedMeetingItem, bill_id: int | None) -> None:
    item.sequence = row.sequence
    item.bill_id = bill_id
    item.bill_source_id = row.bill_source_id
    item.identifier = row.identifier
    item.title = row.title
    item.action = row.action
    item.result = row.result
    item.tally = row.tally
    item.agenda_note = row.agenda_note
    item.minutes_note = row.minutes_note


def _distinct_terms(record: NormalizedMember) -> list[Any]:
    seen: dict[tuple[Any, ...], Any] = {}
    for term in record.terms:
        seen.setdefault((term.body_name, term.title, term.start), term)
    return list(seen.values())
