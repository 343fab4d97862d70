"""The contract between the platforms and the rest of the tracker: what every platform's parser produces.

A platform module (``tracker/platforms/<platform>.py``) turns its portal's raw payloads into
:class:`NormalizedBill` records (with their :class:`NormalizedAction`, :class:`NormalizedSponsor` and
:class:`NormalizedAttachment` rows) or :class:`AttachmentsUpdate` records; the crawl stages them as JSON lines
(:meth:`NormalizedBill.to_json`, :func:`read_staged`) and the import (tracker/store.py) stores them. Nothing
here knows a platform.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tracker import jsonio


@dataclass
class NormalizedAction:
    source_id: str
    sequence: int
    action_date: date | None
    acted_at: datetime | None
    description: str | None
    text: str | None
    body_name: str | None
    result: str | None
    tally: str | None
    classification: str
    status_source_id: str | None
    event_source_id: str | None
    raw: dict[str, Any]


@dataclass
class NormalizedSponsor:
    sequence: int
    name: str
    is_primary: bool


@dataclass
class NormalizedAttachment:
    source_id: str
    sequence: int
    name: str | None
    url: str | None


@dataclass
class NormalizedBill:
    source_id: str
    identifier: str | None
    title: str | None
    name: str | None
    type_name: str | None
    status: str | None
    status_source_id: str | None
    stage: str
    body_name: str | None
    version: str | None
    introduced: date | None
    agenda_date: date | None
    passed_date: date | None
    enacted_date: date | None
    enactment_number: str | None
    source_url: str | None
    public_url: str | None
    portal_modified_at: datetime | None
    portal_row_version: str | None
    raw: dict[str, Any]
    actions: list[NormalizedAction] = field(default_factory=list)
    # None: not fetched by this crawl (the sponsors backlog of a backfill, crawler/attachments.py); the
    # stored ones are kept. The content hash covers them as they are (None included).
    sponsors: list[NormalizedSponsor] | None = field(default_factory=list)
    # None: not fetched by this crawl (the attachments backlog); the stored ones are kept.
    attachments: list[NormalizedAttachment] | None = None
    content_hash: str = ""
    # False when the source shows only some of the bill's actions (agenda platforms read a window of
    # meetings): the import then keeps stored actions the crawl did not see instead of deleting them.
    actions_complete: bool = True
    # Other file numbers the source gives the bill (eLMS legacyRecordNumber): a portal move may match on them.
    alternate_identifiers: list[str] = field(default_factory=list)

    # -- staging (JSON lines) -------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """A shallow dict of the bill (raw payloads are shared, not copied as ``asdict`` would)."""
        doc = dict(self.__dict__)
        doc["actions"] = [dict(a.__dict__) for a in self.actions]
        doc["sponsors"] = None if self.sponsors is None else [dict(s.__dict__) for s in self.sponsors]
        doc["attachments"] = (
            None if self.attachments is None else [dict(a.__dict__) for a in self.attachments]
        )
        return doc

    def to_json(self) -> str:
        return jsonio.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> NormalizedBill:
        data = json.loads(line)
        for key in ("introduced", "agenda_date", "passed_date", "enacted_date"):
            data[key] = _load_date(data[key])
        data["portal_modified_at"] = _load_dt(data["portal_modified_at"])
        actions = []
        for a in data.pop("actions"):
            a["action_date"] = _load_date(a["action_date"])
            a["acted_at"] = _load_dt(a["acted_at"])
            actions.append(NormalizedAction(**a))
        listed = data.pop("sponsors")
        sponsors = None if listed is None else [NormalizedSponsor(**s) for s in listed]
        rows = data.pop("attachments")
        attachments = None if rows is None else [NormalizedAttachment(**a) for a in rows]
        return cls(**data, actions=actions, sponsors=sponsors, attachments=attachments)

    def bill_columns(self) -> dict[str, Any]:
        """The values of the ``bills`` row (without the tracker's own timestamps)."""
        skip = {
            "actions",
            "sponsors",
            "attachments",
            "status_source_id",
            "actions_complete",
            "alternate_identifiers",
        }
        return {k: v for k, v in self.__dict__.items() if k not in skip}


@dataclass
class AttachmentsUpdate:
    """Attachments fetched for a stored bill from the backlog, without the rest of the bill."""

    source_id: str
    attachments: list[NormalizedAttachment]

    def to_json(self) -> str:
        return jsonio.dumps({"attachments_update": asdict(self)})

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AttachmentsUpdate:
        return cls(
            source_id=doc["source_id"], attachments=[NormalizedAttachment(**a) for a in doc["attachments"]]
        )


# -- meetings (docs/meetings.md) ---------------------------------------------------------------------------

#: What a member's vote is called, whatever the portal wrote ("Aye", "Yea", "Affirmative" are ``yes``).
VOTE_VALUES = ("yes", "no", "abstain", "absent", "excused", "recused", "present", "other")


@dataclass
class NormalizedVote:
    """One member's vote in a roll call: ``vote`` is one of :data:`VOTE_VALUES`, ``text`` what the portal
    wrote."""

    member: str
    vote: str
    text: str | None = None


@dataclass
class NormalizedMeetingItem:
    """One item of a meeting's agenda (or minutes). ``bill_source_id`` is the bill's source id on the same
    platform when the portal links the item to a bill; ``identifier`` is the file number it shows (the
    import finds the bill by either)."""

    source_id: str
    sequence: int
    title: str | None = None
    bill_source_id: str | None = None
    identifier: str | None = None
    action: str | None = None
    result: str | None = None
    tally: str | None = None
    agenda_note: str | None = None
    minutes_note: str | None = None
    votes: list[NormalizedVote] = field(default_factory=list)


#: Meeting states: ``scheduled`` and ``cancelled`` come from the portal; the import derives ``moved`` (the
#: start changed before it happened) and ``held`` (its start has passed and it was not cancelled).
MEETING_STATES = ("scheduled", "moved", "cancelled", "held")

#: ``raw`` key of a meeting *part*: items (roll calls) staged for a meeting by a shard of a split crawl
#: that reads no meetings; the import folds them into the meeting staged whole by the shard that lists
#: meetings, and drops a part whose meeting was not staged (:func:`tracker.meetings.merge_parts`).
MEETING_PART_KEY = "_tracker_part"


@dataclass
class NormalizedMeeting:
    """One meeting of a body, as its portal shows it now.

    ``starts_at`` is an aware instant (None when the portal gives no usable date); ``local_date`` the
    meeting's calendar date in ``time_zone`` (the jurisdiction's); ``cancelled`` what the portal says.
    ``timed`` is False when the portal gives no time ("TBD", empty): ``starts_at`` is then local midnight of
    ``local_date``, and the meeting counts as upcoming until the end of that day (:meth:`upcoming_until`).
    ``items_complete`` is False when the crawl did not read the agenda (an item missing from an incomplete
    list was not taken off the agenda)."""

    source_id: str
    body_name: str | None
    starts_at: datetime | None
    local_date: date | None
    time_zone: str
    location: str | None = None
    agenda_url: str | None = None
    minutes_url: str | None = None
    public_url: str | None = None
    comment_instructions: str | None = None
    cancelled: bool = False
    items: list[NormalizedMeetingItem] = field(default_factory=list)
    items_complete: bool = True
    raw: dict[str, Any] = field(default_factory=dict)
    timed: bool = True

    def to_json(self) -> str:
        doc = asdict(self)
        return jsonio.dumps({"meeting": doc}, sort_keys=True)

    def upcoming_until(self) -> datetime | None:
        """The instant the meeting stops being upcoming: its start, or, without a time, the end of its local
        day (None: no date)."""
        if not self.timed and self.local_date is not None:
            return local_day_end(self.local_date, self.time_zone)
        return self.starts_at

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> NormalizedMeeting:
        doc = dict(doc)
        doc["starts_at"] = _load_dt(doc["starts_at"])
        doc["local_date"] = _load_date(doc["local_date"])
        items = []
        for row in doc.pop("items"):
            votes = [NormalizedVote(**v) for v in row.pop("votes")]
            items.append(NormalizedMeetingItem(**row, votes=votes))
        return cls(**doc, items=items)

    def content_hash(self) -> str:
        doc = asdict(self)
        doc.pop("raw")
        # whether it has a time shows in ``starts_at`` (a time, or local midnight); left out, so that the
        # meetings stored before the field existed keep their hashes
        doc.pop("timed")
        return hashlib.sha256(jsonio.canonical(doc).encode()).hexdigest()


def local_day_end(day: date, time_zone: str | ZoneInfo) -> datetime:
    """The end of a local day: local midnight after ``day`` in ``time_zone``, as a UTC instant (23 or 25
    hours after the day's start when the clocks change)."""
    zone = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)


_COMMENT = re.compile(r"\bcomment", re.I)
_COMMENT_LABEL = re.compile(r"^\s*public\s+comments?\s*[:\-\u2013\u2014]\s*", re.I)
_COMMENT_LABEL_INSIDE = re.compile(r"(?<=[.;!?])\s+public\s+comments?\s*[:\-\u2013\u2014]\s*", re.I)


def public_comment(text: str | None) -> str | None:
    """A meeting's comment as its public-comment instructions: kept only when it speaks of comment ("Written
    public comment deadline October 11, 2023, 3:00 PM"), never when it says something else ("CANCELLED",
    "Special meeting", "Rescheduled from ..."); a leading "Public comment:" label is dropped, since every
    place that shows the instructions names them so."""
    if not text or not _COMMENT.search(text):
        return None
    inner = _COMMENT_LABEL_INSIDE.search(text)
    if inner is not None:  # "Rescheduled from ... . Public comment: ...": the instructions follow the label
        text = text[inner.end() :]
    return _COMMENT_LABEL.sub("", text, count=1).strip() or None


@dataclass
class NormalizedTerm:
    """A member's seat on a body, from ``start`` to ``end`` (either unknown: None)."""

    body_name: str
    title: str | None = None
    start: date | None = None
    end: date | None = None


@dataclass
class NormalizedMember:
    """A council member as the portal lists them, with their terms on bodies."""

    name: str
    source_id: str | None = None
    terms: list[NormalizedTerm] = field(default_factory=list)

    def to_json(self) -> str:
        return jsonio.dumps({"member": asdict(self)})

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> NormalizedMember:
        terms = [
            NormalizedTerm(
                body_name=t["body_name"],
                title=t["title"],
                start=_load_date(t["start"]),
                end=_load_date(t["end"]),
            )
            for t in doc["terms"]
        ]
        return cls(name=doc["name"], source_id=doc["source_id"], terms=terms)


Staged = NormalizedBill | AttachmentsUpdate | NormalizedMeeting | NormalizedMember

#: How a staged line that is not a bill starts (the key its ``to_json`` wraps the record in); every other
#: line is a bill.
ATTACHMENTS_LINE = '{"attachments_update":'
MEETING_LINE = '{"meeting":'
MEMBER_LINE = '{"member":'
NOT_BILL_LINES = (ATTACHMENTS_LINE, MEETING_LINE, MEMBER_LINE)


def read_staged(line: str) -> Staged:
    if line.startswith(ATTACHMENTS_LINE):
        return AttachmentsUpdate.from_doc(json.loads(line)["attachments_update"])
    if line.startswith(MEETING_LINE):
        return NormalizedMeeting.from_doc(json.loads(line)["meeting"])
    if line.startswith(MEMBER_LINE):
        return NormalizedMember.from_doc(json.loads(line)["member"])
    return NormalizedBill.from_json(line)


def _load_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _load_dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def content_hash(bill: NormalizedBill) -> str:
    content = bill.as_dict()
    content.pop("content_hash")
    content.pop("raw")
    content.pop("attachments")  # fetched on their own budget and compared on their own
    for action in content["actions"]:
        action.pop("raw")
    return hashlib.sha256(jsonio.canonical(content).encode()).hexdigest()


def name_key(name: str) -> str:
    """A member's name in one spelling (sponsors and roll calls give names, not ids)."""
    return " ".join(name.replace(".", " ").replace(",", " ").split()).casefold()[:300]


_DASHES = re.compile(r"[\u2010-\u2015\u2212_]")
_SPACE = re.compile(r"\s+")


def identifier_key(identifier: str | None) -> str | None:
    """A file number in one spelling: upper case, no spaces, one kind of dash (``o 2023 - 1234`` and
    ``O2023\u20131234`` are ``O2023-1234``)."""
    if not identifier:
        return None
    key = _SPACE.sub("", _DASHES.sub("-", identifier)).upper()
    return key[:100] or None
