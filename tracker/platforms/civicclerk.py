"""CivicClerk OData v4 API: events and their agenda items.

A city's settings, its public URLs, and the readers of what the API answers (events, agendas with their
items and motions) into agenda appearances (tracker/platforms/agenda.py builds the bills); the spider is
crawler/spiders/civicclerk.py, the wire format and what is read are in docs/platform-civicclerk.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from tracker.config_fields import check_http_url
from tracker.contract import NormalizedMeeting, NormalizedVote
from tracker.errors import DataError, LayoutChanged
from tracker.platforms.agenda import (
    FILE_NUMBER_MAX,
    AgendaSettings,
    Appearance,
    clip,
    int_field,
    meeting_start,
    read_one,
    says_cancelled,
    short,
)
from tracker.platforms.base import LinkTarget
from tracker.sanitize import clean_text, scrub


class Settings(AgendaSettings):
    platform: Literal["civicclerk"]
    tenant: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    # Default https://{tenant}.api.civicclerk.com (the API) and https://{tenant}.portal.civicclerk.com.
    api_base: str | None = None
    portal_base: str | None = None
    # How far ahead events are read (the agenda of a meeting weeks away is often published already); the
    # crawl reads as far as [crawl] meetings_ahead_days when that is further.
    lookahead_days: int = Field(60, ge=0, le=365)
    # Only the events of these categories (the API's categoryId, e.g. 26 "City Council"); empty: all.
    category_ids: list[int] = Field(default_factory=list)

    @property
    def api(self) -> str:
        return self.api_base or f"https://{self.tenant}.api.civicclerk.com"

    @property
    def portal(self) -> str:
        return self.portal_base or f"https://{self.tenant}.portal.civicclerk.com"

    @field_validator("api_base", "portal_base")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_http_url(v)

    @field_validator("category_ids")
    @classmethod
    def _ids(cls, v: list[int]) -> list[int]:
        if any(i < 0 for i in v) or len(set(v)) != len(v):
            raise ValueError("category_ids are distinct category numbers (the events' categoryId)")
        return v

    @property
    def source_key(self) -> str:
        return f"civicclerk:{self.tenant}"

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.api).hostname, urlsplit(self.portal).hostname}
        return {h for h in found if h}


def parse_url(url: str) -> LinkTarget | None:
    """CivicClerk has no public page per bill: its portal pages (``/event/{id}/files``) name a meeting, and
    an item's resolution or ordinance number is only in the API's agenda. A URL the tracker itself recorded
    for a bill is still recognised (tracker/track.py looks stored URLs up first)."""
    return None


# -- events and agendas ------------------------------------------------------------------------------------

_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,7})?Z?$")


@dataclass(frozen=True)
class Event:
    id: int
    name: str | None
    category_id: int | None
    # local wall-clock start (the API's "Z" notwithstanding)
    start: datetime
    agenda_id: int | None  # None: no agenda to read
    # what the stored meeting keeps: the texts that may say it is cancelled, its location, its published
    # files (type, fileId), and the listing's own fields
    notes: tuple[str, ...] = ()
    location: str | None = None
    files: tuple[tuple[str, int], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def parse_local_stamp(value: Any, where: str) -> datetime:
    """``2026-04-15T17:00:00Z`` as the local wall-clock time it really is (naive)."""
    match = _STAMP.match(value) if isinstance(value, str) else None
    if not match:
        raise DataError(f"{where}: malformed time {value!r}")
    try:
        return datetime.fromisoformat(match.group(1))
    except ValueError:
        raise DataError(f"{where}: malformed time {value!r}") from None


def parse_event(row: Any) -> Event:
    """An event of the listing, strictly (:class:`DataError` names the event and the field)."""
    if not isinstance(row, dict):
        raise DataError("an event is not a JSON object")
    eid = int_field(row, "id", "an event")
    where = f"event {eid}"
    has_agenda = row.get("hasAgenda")
    if not isinstance(has_agenda, bool):
        raise DataError(f"{where}: missing or invalid hasAgenda ({has_agenda!r})")
    agenda_id = int_field(row, "agendaId", where, optional=not has_agenda)
    if has_agenda and (agenda_id is None or agenda_id <= 0):
        raise DataError(f"{where}: hasAgenda without an agendaId ({agenda_id!r})")
    name = row.get("eventName")
    notes = tuple(
        text
        for key in ("eventDescription", "eventNotice", "agendaName")
        if isinstance(row.get(key), str) and (text := html_text(row[key]))
    )
    return Event(
        id=eid,
        name=clean_text(name) if isinstance(name, str) else None,
        category_id=int_field(row, "categoryId", where, optional=True),
        start=parse_local_stamp(row.get("startDateTime"), f"{where}: startDateTime"),
        agenda_id=agenda_id if has_agenda else None,
        notes=notes,
        location=_location(row.get("eventLocation")),
        files=_files(row.get("publishedFiles")),
        raw={k: row[k] for k in _RAW_KEYS if k in row},
    )


_RAW_KEYS = (
    "id", "eventName", "eventDate", "startDateTime", "categoryId", "categoryName", "agendaId", "hasAgenda",
    "isPublished", "publishedAgendaTimeStamp",
)  # fmt: skip


def _location(value: Any) -> str | None:
    """``eventLocation`` ({address1, address2, city, state, zipCode}) on one line; address2 is often a copy
    of address1 and is then left out."""
    if not isinstance(value, dict):
        return None
    parts: list[str] = []
    for key in ("address1", "address2", "city", "state", "zipCode"):
        text = clean_text(value.get(key)) if isinstance(value.get(key), str) else None
        if text and text not in parts:
            parts.append(text)
    return clip(", ".join(parts), 500) or None


def _files(value: Any) -> tuple[tuple[str, int], ...]:
    """``publishedFiles`` as (type, fileId); a row not in that shape is left out (the links are a nicety)."""
    if not isinstance(value, list):
        return ()
    out = []
    for row in value:
        if not isinstance(row, dict):
            continue
        kind, file_id = row.get("type"), row.get("fileId")
        if isinstance(kind, str) and isinstance(file_id, int) and not isinstance(file_id, bool):
            out.append((kind.strip(), file_id))
    return tuple(out)


def meeting_record(event: Event, portal: str, timezone: str) -> NormalizedMeeting:
    """An event as the tracker stores it, without its items (the spider adds those it reads).

    CivicClerk has no cancelled flag in the events read: an event is cancelled when its name, description,
    notice or agenda name says so."""
    page = f"{portal}/event/{event.id}/files"

    def link(kind: str) -> str | None:
        found = [f for t, f in event.files if t.lower() == kind]
        return f"{page}/{kind}/{found[0]}" if found else None

    return NormalizedMeeting(
        source_id=str(event.id),
        body_name=clip(event.name, 300),
        starts_at=meeting_start(event.start.date(), event.start, ZoneInfo(timezone)),
        local_date=event.start.date(),
        time_zone=timezone,
        location=event.location,
        agenda_url=link("agenda"),
        minutes_url=link("minutes"),
        public_url=page,
        cancelled=says_cancelled(event.name, *event.notes),
        items_complete=False,  # True once its agenda is read
        raw={"platform": "civicclerk", **event.raw},
    )


def html_text(value: Any) -> str | None:
    """The text of an HTML fragment (CivicClerk item names carry markup); the markup itself is dropped."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise DataError(f"expected text, got {value!r:.80}")
    value = scrub(value)  # lxml refuses NUL and control characters
    if "<" not in value and "&" not in value:
        return clean_text(value)
    from parsel import Selector  # imported by the parsers alone: the config imports this module

    return clean_text(" ".join(Selector(text=f"<div>{value}</div>").xpath("//div[1]//text()").getall()))


@dataclass
class AgendaItem:
    id: int
    position: int
    outline: str | None
    number: str | None
    type_name: str | None
    title: str | None
    outcome: str | None
    result: str | None
    tally: str | None
    text: str | None
    attachments: list[tuple[str, str | None, int]]  # (id, file name, attachment id)
    votes: list[NormalizedVote] = field(default_factory=list)  # the roll call of the last motion


_VOTE_KEYS = (("yesVotes", "yes", "Yes"), ("noVotes", "no", "No"), ("abstainVotes", "abstain", "Abstain"))


def _motions(
    item: dict[str, Any],
) -> tuple[str | None, str | None, str | None, str | None, list[NormalizedVote]]:
    """(outcome, result, tally, text, roll call) of an item's recorded motions; the last motion is the
    outcome, and its ``yesVotes``/``noVotes``/``abstainVotes`` names its roll call. (Messages name the field;
    :func:`parse_agenda` names the item.)"""
    votes = item.get("minutesItemVotes")
    if votes is None or votes == []:
        return None, None, None, None, []
    if not isinstance(votes, list):
        raise DataError("minutesItemVotes is not a list")
    lines = []
    outcome = result = tally = None
    roll: list[NormalizedVote] = []
    for vote in votes:
        if not isinstance(vote, dict):
            raise DataError("a motion is not a JSON object")
        motion = html_text(vote.get("motionName"))
        passed = vote.get("passFail")
        if not motion:
            raise DataError("a motion without motionName")
        if isinstance(passed, bool) or passed not in (0, 1):
            raise DataError(f"unknown passFail {passed!r} (1 passed, 0 failed)")
        counts = []
        roll = []
        for key, value, word in _VOTE_KEYS:
            names = vote.get(key) or []
            if not isinstance(names, list):
                raise DataError(f"{key} is not a list")
            counts.append(len(names))
            for name in names:
                member = clean_text(name) if isinstance(name, str) else None
                if member:  # a roll call names members; anything else counts without a name
                    roll.append(NormalizedVote(member=clip(member, 300) or member, vote=value, text=word))
        tally = "-".join(map(str, counts))
        result = "Pass" if passed == 1 else "Fail"
        outcome = motion if passed == 1 else f"{motion} (failed)"
        lines.append(f"{motion}: {'passed' if passed == 1 else 'failed'} {tally}")
    return outcome, result, tally, "; ".join(lines), roll


def parse_agenda(doc: Any, agenda_id: int) -> tuple[list[AgendaItem], list[str]]:
    """The items of an agenda (sections flattened), and the problems of single items (named, skipped).

    Raises :class:`LayoutChanged` when the document is not an agenda in the shape read here."""
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise LayoutChanged("expected an agenda object with an items list")
    if doc.get("id") != agenda_id:
        raise LayoutChanged(f"the agenda answered for agenda {agenda_id} is agenda {doc.get('id')!r}")
    found: list[AgendaItem] = []
    problems: list[str] = []
    seen: set[int] = set()

    def walk(rows: Any) -> None:
        if not isinstance(rows, list):
            raise LayoutChanged("childItems is not a list")
        for row in rows:
            if not isinstance(row, dict):
                raise LayoutChanged("an agenda item is not a JSON object")
            section = row.get("isSection")
            if isinstance(section, bool) or section not in (0, 1):
                raise LayoutChanged(f"agenda item {row.get('id')!r}: unknown isSection {section!r}")
            if section == 0:
                # one item's odd field rejects that item alone (named); a LayoutChanged fails the agenda
                item = read_one(
                    problems,
                    f"agenda {agenda_id}: agenda item {short(row.get('id'))}",
                    partial(_item, row, len(found)),
                )
                if item is not None and item.id not in seen:
                    seen.add(item.id)
                    found.append(item)
            children = row.get("childItems")
            walk([] if children is None else children)

    walk(doc["items"])
    return found, problems


def _item(row: dict[str, Any], position: int) -> AgendaItem | None:
    """One item of an agenda, None for an empty row. (Messages name the field; the caller names the item.)"""
    iid = int_field(row, "id", "an agenda item")
    if iid <= 0:
        raise DataError("invalid id")
    ordinance = html_text(row.get("ordinanceFormattedNumber"))
    resolution = html_text(row.get("resolutionFormattedNumber"))
    if ordinance and resolution and ordinance != resolution:
        raise DataError(f"both ordinance {ordinance!r} and resolution {resolution!r} numbers")
    number = ordinance or resolution
    if number and len(number) > FILE_NUMBER_MAX:
        raise DataError(f"not a file number: {number[:80]!r}")
    title = html_text(row.get("agendaObjectItemName"))
    if not title and not number:
        return None  # an empty row (a spacer): nothing to track
    outcome, result, tally, text, roll = _motions(row)
    attachments = []
    for att in row.get("attachmentsList") or []:
        if not isinstance(att, dict):
            raise DataError("an attachment is not a JSON object")
        aid = int_field(att, "id", "an attachment")
        if att.get("isPublished", True) is False or att.get("isDeleted", False) is True:
            continue
        name = html_text(att.get("fileName"))
        attachments.append((str(aid), name, aid))
    return AgendaItem(
        id=iid,
        position=position,
        outline=html_text(row.get("agendaObjectItemOutlineNumber")),
        number=number,
        type_name="Ordinance" if ordinance else "Resolution" if resolution else None,
        title=title,
        outcome=outcome,
        result=result,
        tally=tally,
        text=clip(text, 4000),
        attachments=attachments,
        votes=roll,
    )


def appearance(item: AgendaItem, event: Event, at: datetime, page: str, url: str) -> Appearance:
    """One item of an agenda as an appearance (its key and order computed here, so that an item they fail
    on is rejected alone rather than failing the city's bills)."""
    appearance = Appearance(
        meeting_id=str(event.id),
        item_id=str(item.id),
        position=item.position,
        meeting_date=event.start.date(),
        meeting_at=at,
        body=event.name,
        number=item.number,
        title=item.title,
        type_name=item.type_name,
        outcome=item.outcome,
        result=item.result,
        tally=item.tally,
        text=item.text,
        public_url=f"{page}#item-{item.id}",
        source_url=url,
        attachments=[(s, name, f"{page}/attachment/{a}") for s, name, a in item.attachments],
        votes=item.votes,
        raw={
            "event_id": event.id,
            "agenda_id": event.agenda_id,
            "item_id": item.id,
            "outline": item.outline,
        },
    )
    appearance.check()
    return appearance
