"""Meetings of the demo portal: Legistar events, their agenda items, roll calls and office records, seen
through the portal's clock like the matters (:mod:`tracker.demo.model`).

An :class:`Event` is a meeting of a body. What ``/events`` shows of it depends on the clock:

* it is listed from ``listed_at`` on (the clerk puts the year's regular meetings on the calendar ahead);
* its start is the latest entry of ``schedule`` visible at the clock: a meeting *moved* has a second entry
  (same EventId, new ``EventDate``/``EventTime``, ``EventLastModifiedUtc`` bumped);
* from ``cancelled_at`` on it is *cancelled*: Legistar has no flag, each client says it its own way
  (``cancel_style``): ``EventAgendaStatusName`` "Cancelled", ``EventComment`` "CANCELLED", or
  ``EventLocation`` "CANCELLED";
* its agenda is a draft until ``agenda_at`` (then "Final", with the agenda PDF; an item placed on it later
  publishes it again), its minutes from ``minutes_at`` (once it was held); ``EventLastModifiedUtc`` and
  ``EventRowVersion`` move with each of these and when the meeting's outcomes are entered.

An :class:`EventItem` is on the agenda from ``at`` on. An item about a matter points at the matter's history
change that records what the meeting did with it (``MatterHistoryEventId`` is the event): the action, the
result, the tally and the roll call (``/eventitems/{id}/votes``) show once that history row is recorded.
Office records (members of bodies, with terms) never change with the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from tracker.demo.wire import (
    EVENT,
    EVENT_ITEM,
    OFFICE_RECORD,
    VOTE,
    format_local,
    format_utc,
    guid,
    rowversion,
)

if TYPE_CHECKING:
    from tracker.demo.model import Body, Change, ClientData, Matter, Person

Row = dict[str, Any]

# VoteValueName -> (VoteValueId, VoteResult: 1 affirmative, 2 negative, 0 neither)
VOTE_VALUES: dict[str, tuple[int, int]] = {
    "Aye": (16, 1),
    "Nay": (17, 2),
    "Abstain": (18, 0),
    "Absent": (19, 0),
    "Excused": (20, 0),
    "Recused": (21, 0),
    "Present": (22, 0),
}
AGENDA_STATUS = {"Draft": 1, "Final": 2, "Cancelled": 5}
MINUTES_STATUS = {"Draft": 1, "Final": 2}
CANCEL_STYLES = ("status", "comment", "location", "status+comment")
CANCELLED_WORD = "CANCELLED"


@dataclass(slots=True)
class EventItem:
    """One agenda item: about a matter (``matter``, and ``change``: its history change recording the outcome)
    or procedural (public comment, adjournment)."""

    id: int
    sequence: int
    at: float  # on the agenda from then
    title: str
    matter: Matter | None = None
    change: Change | None = None
    number: str | None = None  # EventItemAgendaNumber
    agenda_note: str | None = None
    minutes_note: str | None = None
    rowversion: int = 0


@dataclass(slots=True)
class Event:
    """A meeting. ``schedule``: (from UTC epoch seconds, local start) entries, oldest first."""

    id: int
    body: Body
    schedule: list[tuple[float, datetime]]
    location: str
    agenda_at: float
    minutes_at: float
    comment: str | None = None
    cancelled_at: float | None = None
    cancel_style: str = "status"
    items: list[EventItem] = field(default_factory=list)
    stamps: list[tuple[float, int]] = field(default_factory=list)  # (at, rowversion) of each row change

    @property
    def listed_at(self) -> float:
        return self.schedule[0][0]

    @property
    def held_start(self) -> datetime:
        """The start it has once every move is made (when it is, or was, held)."""
        return self.schedule[-1][1]

    def start_at(self, now: float) -> datetime:
        """The local start the portal shows at ``now``."""
        current = self.schedule[0][1]
        for at, start in self.schedule:
            if at <= now:
                current = start
        return current

    def cancelled(self, now: float) -> bool:
        return self.cancelled_at is not None and self.cancelled_at <= now

    def republished(self) -> list[float]:
        """When the agenda was published again: each item placed on it after it was first published."""
        return sorted(item.at for item in self.items if item.at > self.agenda_at)

    def agenda_published(self, now: float) -> float | None:
        """``EventAgendaLastPublishedUTC`` at ``now`` (None: still a draft)."""
        if self.agenda_at > now:
            return None
        return max([self.agenda_at, *(at for at in self.republished() if at <= now)])

    def moments(self) -> list[float]:
        """Every instant at which the event's row changes: listed, moved, agenda published (again),
        outcomes entered, cancelled, minutes published."""
        out = [at for at, _ in self.schedule] + [self.agenda_at, *self.republished()]
        out += [item.change.at for item in self.items if item.change is not None]
        if self.cancelled_at is not None:
            out.append(self.cancelled_at)
        else:
            out.append(self.minutes_at)
        return sorted(set(out))


@dataclass(frozen=True, slots=True)
class OfficeRecord:
    """A seat: ``person`` on ``body`` with ``title`` from ``start`` to ``end`` (local dates)."""

    id: int
    person: Person
    body: Body
    title: str
    start: date
    end: date
    sort: int = 0
    member_type: str = "Member"


def legistar_time(start: datetime) -> str:
    """``EventTime`` as Legistar writes it: "10:00 AM", "5:30 PM"."""
    hour = start.hour % 12 or 12
    return f"{hour}:{start.minute:02d} {'AM' if start.hour < 12 else 'PM'}"


def document_name(event: Event, start: datetime, kind: str) -> str:
    """The agenda (``kind`` "A") or minutes ("M") PDF's file name, in Legistar's pattern
    (``2907_A_Board_of_Directors_-_Regular_Board_Meeting_24-09-26_Agenda.pdf``)."""
    body = "".join(c for c in event.body.name if c.isalnum() or c in " -").replace(" ", "_")
    suffix = "Agenda" if kind == "A" else "Minutes"
    return f"{event.id}_{kind}_{body}_{start:%y-%m-%d}_{suffix}.pdf"


def document_url(client: ClientData, event: Event, start: datetime, kind: str) -> str:
    base = client._portal().document_base or f"https://{client.name}.legistar1.com"
    return f"{base}/{client.name}/meetings/{start.year}/{start.month}/{document_name(event, start, kind)}"


def _visible_stamp(event: Event, now: float) -> tuple[float, int]:
    seen = [(at, rv) for at, rv in event.stamps if at <= now]
    return max(seen) if seen else (event.listed_at, 0)


def event_row(client: ClientData, event: Event, now: float) -> Row:
    start = event.start_at(now)
    cancelled = event.cancelled(now)
    styles = event.cancel_style.split("+") if cancelled else []
    published = event.agenda_published(now)
    agenda = published is not None
    minutes = not cancelled and event.minutes_at <= now
    comment = event.comment
    if len(event.schedule) > 1 and event.schedule[1][0] <= now:
        first = event.schedule[0][1]
        note = f"Rescheduled from {first:%A, %B} {first.day}, {first.year} at {legistar_time(first)}."
        comment = f"{note}\r\n{comment}" if comment else note
    if "comment" in styles:
        comment = CANCELLED_WORD
    agenda_status = "Cancelled" if "status" in styles else ("Final" if agenda else "Draft")
    minutes_status = "Final" if minutes else "Draft"
    at, version = _visible_stamp(event, now)
    row = EVENT.blank()
    row.update(
        EventId=event.id,
        EventGuid=guid(client.name, "event", event.id),
        EventLastModifiedUtc=format_utc(at),
        EventRowVersion=rowversion(version or 0x01000000 + event.id),
        EventBodyId=event.body.id,
        EventBodyName=event.body.name,
        EventDate=format_local(datetime.combine(start.date(), time())),
        EventTime=legistar_time(start),
        EventVideoStatus="Public",
        EventAgendaStatusId=AGENDA_STATUS[agenda_status],
        EventAgendaStatusName=agenda_status,
        EventMinutesStatusId=MINUTES_STATUS[minutes_status],
        EventMinutesStatusName=minutes_status,
        EventLocation=CANCELLED_WORD if "location" in styles else event.location,
        EventAgendaFile=document_url(client, event, start, "A") if agenda else None,
        EventMinutesFile=document_url(client, event, start, "M") if minutes else None,
        EventAgendaLastPublishedUTC=format_utc(published),
        EventMinutesLastPublishedUTC=format_utc(event.minutes_at) if minutes else None,
        EventComment=comment,
        EventInSiteURL=(
            f"https://{client.name}.legistar.com/MeetingDetail.aspx?LEGID={event.id}"
            f"&GID={100 + sum(map(ord, client.name)) % 900}&G={guid(client.name, 'insite')}"
        ),
        EventItems=[],
    )
    return row


def item_row(
    client: ClientData,
    item: EventItem,
    now: float,
    *,
    agenda_note: bool,
    minutes_note: bool,
    attachments: bool,
    event_id: int,
    minutes_out: bool,
) -> Row:
    change = item.change if item.change is not None and item.change.at <= now else None
    history = change.history if change is not None else None
    row = EVENT_ITEM.blank()
    row.update(
        EventItemId=item.id,
        EventItemGuid=guid(client.name, "eventitem", item.id),
        EventItemLastModifiedUtc=format_utc(change.at if change is not None else item.at),
        EventItemRowVersion=rowversion(change.rowversion if change is not None else item.rowversion),
        EventItemEventId=event_id,
        EventItemAgendaSequence=item.sequence,
        EventItemAgendaNumber=item.number,
        EventItemRollCallFlag=0,
        EventItemFlagExtra=0,
        EventItemTitle=item.title,
        EventItemConsent=0,
    )
    if agenda_note:
        row["EventItemAgendaNote"] = item.agenda_note
    matter = item.matter
    if matter is not None:
        current = client.matter_row(matter.id)
        row.update(
            EventItemVersion=history.version if history is not None else "1",
            EventItemMatterId=matter.id,
            EventItemMatterGuid=guid(client.name, "matter", matter.id),
            EventItemMatterFile=matter.file,
            EventItemMatterName=matter.name,
            EventItemMatterType=matter.type.name,
            EventItemMatterStatus=current["MatterStatusName"] if current is not None else None,
        )
        if attachments and current is not None:
            row["EventItemMatterAttachments"] = [
                {k: v for k, v in a.items() if k != "MatterAttachmentSort"}
                for a in client.attachment_rows(matter.id)
            ]
    if row["EventItemMatterAttachments"] is None:
        row["EventItemMatterAttachments"] = []
    if history is not None:
        row.update(
            EventItemMinutesSequence=history.minutes_sequence,
            EventItemActionId=history.action.id,
            EventItemActionName=history.action.name,
            EventItemActionText=history.text,
            EventItemTally=history.tally,
            EventItemConsent=history.consent,
            EventItemRollCallFlag=int(bool(history.roll_call)),
        )
        if history.passed is not None:
            row["EventItemPassedFlag"] = int(history.passed)
            row["EventItemPassedFlagName"] = "Pass" if history.passed else "Fail"
        if history.mover is not None:
            row["EventItemMoverId"] = history.mover.id
            row["EventItemMover"] = history.mover.full
        if history.seconder is not None:
            row["EventItemSeconderId"] = history.seconder.id
            row["EventItemSeconder"] = history.seconder.full
        if minutes_note:
            row["EventItemMinutesNote"] = item.minutes_note
    elif matter is None and minutes_note and minutes_out:
        row["EventItemMinutesNote"] = item.minutes_note
    return row


def vote_rows(client: ClientData, item: EventItem, now: float) -> list[Row]:
    change = item.change
    if change is None or change.at > now or change.history is None or not change.history.roll_call:
        return []
    rows = []
    for sort, (person, value) in enumerate(change.history.votes, start=1):
        vote_id = item.id * 16 + sort
        value_id, result = VOTE_VALUES[value]
        row = VOTE.blank()
        row.update(
            VoteId=vote_id,
            VoteGuid=guid(client.name, "vote", vote_id),
            VoteLastModifiedUtc=format_utc(change.at),
            VoteRowVersion=rowversion(change.rowversion),
            VotePersonId=person.id,
            VotePersonName=person.full,
            VoteValueId=value_id,
            VoteValueName=value,
            VoteSort=sort,
            VoteResult=result,
            VoteEventItemId=item.id,
        )
        rows.append(row)
    return rows


def office_record_row(client: ClientData, record: OfficeRecord) -> Row:
    row = OFFICE_RECORD.blank()
    person = record.person
    row.update(
        OfficeRecordId=record.id,
        OfficeRecordGuid=guid(client.name, "officerecord", record.id),
        OfficeRecordLastModifiedUtc=format_utc(client.since),
        OfficeRecordRowVersion=rowversion(0x01100000 + record.id),
        OfficeRecordFirstName=person.first,
        OfficeRecordLastName=person.last,
        OfficeRecordFullName=person.full,
        OfficeRecordStartDate=format_local(datetime.combine(record.start, time())),
        OfficeRecordEndDate=format_local(datetime.combine(record.end, time())),
        OfficeRecordSort=record.sort,
        OfficeRecordPersonId=person.id,
        OfficeRecordBodyId=record.body.id,
        OfficeRecordBodyName=record.body.name,
        OfficeRecordTitle=record.title,
        OfficeRecordVoteDivider=1.0,
        OfficeRecordExtendFlag=0,
        OfficeRecordMemberTypeId=3 if record.member_type == "Member" else 4,
        OfficeRecordMemberType=record.member_type,
    )
    return row
