"""The Legistar Web API (webapi.legistar.com/v1/{client}): a city's settings, its public URLs, and its
records → the tracker's bill, actions, sponsors and attachments, and its events, event items, roll calls and
office records → meetings, agenda items, votes and members (docs/meetings.md; the spider is
crawler/spiders/legistar.py).

Parsing is intentionally strict: a missing id, a malformed date or a row of the wrong shape raises
:class:`~tracker.errors.DataError` naming the jurisdiction, the matter and the field. The crawl decides
what that means (the record is skipped, counted and the crawl reported as partial); this module never
guesses.

Legistar dates (see ../shared/portal-samples/README.md): fields ending in ``Utc``/``UTC`` are UTC written
without an offset and with a variable number of fraction digits; every other date is local wall-clock time
without an offset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from tracker.config_fields import check_http_url
from tracker.contract import (
    AttachmentsUpdate,
    NormalizedAction,
    NormalizedAttachment,
    NormalizedBill,
    NormalizedMeeting,
    NormalizedMeetingItem,
    NormalizedMember,
    NormalizedSponsor,
    NormalizedTerm,
    NormalizedVote,
    content_hash,
    local_day_end,
    public_comment,
)
from tracker.errors import DataError
from tracker.platforms.base import JurisdictionConfig, LinkTarget
from tracker.safe_output import ascii_digits
from tracker.sanitize import clean_text
from tracker.stages import classify_action, stage_for

LEGISTAR_API = "https://webapi.legistar.com/v1"


class Settings(JurisdictionConfig):
    platform: Literal["legistar"]
    client: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    api_base: str = LEGISTAR_API
    # The InSite site of the client, for public links (default https://{client}.legistar.com).
    web_base: str | None = None

    @field_validator("api_base", "web_base")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_http_url(v)

    @property
    def source_key(self) -> str:
        return f"legistar:{self.client}"

    @property
    def public_base(self) -> str:
        return self.web_base or f"https://{self.client}.legistar.com"

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.api_base).hostname, urlsplit(self.public_base).hostname}
        return {h for h in found if h}


def parse_legislation_detail(url: str) -> tuple[str, str] | None:
    """(host, matter id) of an InSite ``LegislationDetail.aspx?ID=...`` URL (the ID is the API's MatterId)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if not parts.path.lower().endswith("/legislationdetail.aspx"):
        return None
    ids = parse_qs(parts.query).get("ID") or parse_qs(parts.query).get("id")
    if not ids or not ascii_digits(ids[0]):
        return None
    return parts.hostname.lower(), ids[0]


def parse_url(url: str) -> LinkTarget | None:
    found = parse_legislation_detail(url)
    if found is None:
        return None
    host, matter_id = found
    return LinkTarget(platform="legistar", host=host, source_id=matter_id, url=url)


# -- records → the contract ---------------------------------------------------------------------------
_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?Z?$")


def _parse(value: Any, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DataError(f"{where}: expected a date string, got {value!r}")
    m = _DATETIME.match(value.strip())
    if not m:
        raise DataError(f"{where}: malformed date {value!r}")
    year, month, day, hour, minute, second, frac = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
        )
    except ValueError:
        raise DataError(f"{where}: malformed date {value!r}") from None


def parse_utc(value: Any, where: str) -> datetime | None:
    """A Legistar ``...Utc`` stamp (no offset, UTC) as an aware datetime."""
    dt = _parse(value, where)
    return None if dt is None else dt.replace(tzinfo=UTC)


def parse_local_date(value: Any, where: str) -> date | None:
    dt = _parse(value, where)
    return None if dt is None else dt.date()


def parse_local_time(value: Any, where: str, zone: ZoneInfo) -> tuple[date | None, datetime | None]:
    """A local date that may carry a time: its calendar date, and the UTC instant when a time is given."""
    dt = _parse(value, where)
    if dt is None:
        return None, None
    if dt.hour == dt.minute == dt.second == dt.microsecond == 0:
        return dt.date(), None
    try:
        return dt.date(), dt.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved across the date line
        raise DataError(f"{where}: date out of range {value!r}") from None


def _id(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise DataError(f"{where}: missing or invalid {key} ({value!r})")
    return str(value)


def _rows(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise DataError(f"{where}: expected a list of objects")
    return value


def _actions(histories: list[dict[str, Any]], where: str, zone: ZoneInfo) -> list[NormalizedAction]:
    """History rows → actions: exact repeats dropped by id, and the duplicate rows Legistar keeps for one
    action (same date, action, body and result under two ids) collapsed onto the first."""
    by_id: dict[str, dict[str, Any]] = {}
    for row in histories:
        hid = _id(row, "MatterHistoryId", f"{where} history")
        by_id.setdefault(hid, row)
    parsed = []
    for hid, row in by_id.items():
        here = f"{where} history {hid}"
        day, at = parse_local_time(
            row.get("MatterHistoryActionDate"), f"{here}: MatterHistoryActionDate", zone
        )
        parsed.append((day or date.min, int(hid) if ascii_digits(hid) else 0, hid, day, at, row))
    parsed.sort(key=lambda p: (p[0], p[1], p[2]))
    actions: list[NormalizedAction] = []
    seen: set[tuple[Any, ...]] = set()
    for _, _, hid, day, at, row in parsed:
        name = clean_text(row.get("MatterHistoryActionName"))
        body = clean_text(row.get("MatterHistoryActionBodyName"))
        result = clean_text(row.get("MatterHistoryPassedFlagName"))
        key = (day, (name or "").lower(), (body or "").lower(), (result or "").lower())
        if name and key in seen:
            continue
        seen.add(key)
        text = clean_text(row.get("MatterHistoryActionText"))
        status_id = row.get("MatterHistoryMatterStatusId")
        event_id = row.get("MatterHistoryEventId")
        actions.append(
            NormalizedAction(
                source_id=hid,
                sequence=len(actions),
                action_date=day,
                acted_at=at,
                description=name,
                text=text,
                body_name=body,
                result=result,
                tally=clean_text(row.get("MatterHistoryTally")),
                classification=classify_action(name, text),
                status_source_id=None if status_id is None else str(status_id),
                event_source_id=None if event_id is None else str(event_id),
                raw=row,
            )
        )
    return actions


def _sponsor_sequence(row: dict[str, Any]) -> int:
    sequence = row.get("MatterSponsorSequence")
    return sequence if isinstance(sequence, int) else 1 << 30


def _sponsors(rows: list[dict[str, Any]]) -> list[NormalizedSponsor]:
    ordered = sorted(rows, key=_sponsor_sequence)
    names: list[str] = []
    for row in ordered:
        name = clean_text(row.get("MatterSponsorName"))
        if name and name not in names:
            names.append(name)
    return [NormalizedSponsor(sequence=i, name=n, is_primary=i == 0) for i, n in enumerate(names)]


def normalize_attachments(rows: Any, where: str) -> list[NormalizedAttachment]:
    """Attachment rows → links: repeats dropped by id, rows hidden from the public page skipped."""
    rows = _rows(rows, f"{where} attachments")
    out: list[NormalizedAttachment] = []
    seen: set[str] = set()
    ordered = sorted(
        rows, key=lambda r: (r.get("MatterAttachmentSort") or 0, str(r.get("MatterAttachmentId")))
    )
    for row in ordered:
        aid = _id(row, "MatterAttachmentId", f"{where} attachment")
        if aid in seen or row.get("MatterAttachmentShowOnInternetPage") is False:
            continue
        seen.add(aid)
        url = clean_text(row.get("MatterAttachmentHyperlink"))
        if url and not url.lower().startswith(("http://", "https://")):
            url = None
        out.append(
            NormalizedAttachment(
                source_id=aid, sequence=len(out), name=clean_text(row.get("MatterAttachmentName")), url=url
            )
        )
    return out


def normalize_matter(
    *,
    slug: str,
    matter: Any,
    histories: Any,
    sponsors: Any,
    attachments: Any,
    api_base: str,
    client: str,
    web_base: str | None,
    zone: ZoneInfo,
    stage_overrides: Mapping[str, str] | None = None,
    sponsors_fetched: bool = True,
) -> NormalizedBill:
    """Validate and normalize one Legistar matter with its sub-resources (``sponsors_fetched`` False: the
    sponsors were not asked for, the bill joins the sponsors backlog)."""
    if not isinstance(matter, dict):
        raise DataError(f"{slug}: a matter is not a JSON object")
    mid = _id(matter, "MatterId", f"{slug} matter")
    where = f"{slug} matter {mid}"
    status = clean_text(matter.get("MatterStatusName"))
    status_id = matter.get("MatterStatusId")
    guid = matter.get("MatterGuid")
    public_url = None
    if web_base:
        public_url = f"{web_base}/LegislationDetail.aspx?ID={mid}" + (f"&GUID={guid}" if guid else "")
    bill = NormalizedBill(
        source_id=mid,
        identifier=clean_text(matter.get("MatterFile")),
        title=clean_text(matter.get("MatterTitle")),
        name=clean_text(matter.get("MatterName")),
        type_name=clean_text(matter.get("MatterTypeName")),
        status=status,
        status_source_id=None if status_id is None else str(status_id),
        stage=stage_for(status, stage_overrides),
        body_name=clean_text(matter.get("MatterBodyName")),
        version=clean_text(matter.get("MatterVersion")),
        introduced=parse_local_date(matter.get("MatterIntroDate"), f"{where}: MatterIntroDate"),
        agenda_date=parse_local_date(matter.get("MatterAgendaDate"), f"{where}: MatterAgendaDate"),
        passed_date=parse_local_date(matter.get("MatterPassedDate"), f"{where}: MatterPassedDate"),
        enacted_date=parse_local_date(matter.get("MatterEnactmentDate"), f"{where}: MatterEnactmentDate"),
        enactment_number=clean_text(matter.get("MatterEnactmentNumber")),
        source_url=f"{api_base}/{client}/matters/{mid}",
        public_url=public_url,
        portal_modified_at=parse_utc(matter.get("MatterLastModifiedUtc"), f"{where}: MatterLastModifiedUtc"),
        portal_row_version=clean_text(matter.get("MatterRowVersion")),
        raw=matter,
        actions=_actions(_rows(histories, f"{where} histories"), where, zone),
        sponsors=_sponsors(_rows(sponsors, f"{where} sponsors")) if sponsors_fetched else None,
        attachments=None if attachments is None else normalize_attachments(attachments, where),
    )
    bill.content_hash = content_hash(bill)
    return bill


def bill_of(
    j: Settings, matter: Any, histories: Any, sponsors: Any, attachments: Any, sponsors_fetched: bool = True
) -> NormalizedBill:
    """One matter of a city on this platform, with its sub-resources (``attachments`` None: not fetched;
    ``sponsors_fetched`` False: its sponsors wait in the backlog)."""
    return normalize_matter(
        slug=j.slug,
        matter=matter,
        histories=histories,
        sponsors=sponsors,
        attachments=attachments,
        api_base=j.api_base,
        client=j.client,
        web_base=j.public_base,
        zone=j.zone,
        stage_overrides=j.stages,
        sponsors_fetched=sponsors_fetched,
    )


def bill_without_sponsors(j: Settings, matter: Any, histories: Any) -> NormalizedBill:
    """One matter of a full crawl whose sponsors wait in the backlog (crawler/attachments.py), and so do its
    attachments."""
    return bill_of(j, matter, histories, None, None, sponsors_fetched=False)


def attachments_of(j: Settings, matter: dict[str, Any], attachments: Any) -> AttachmentsUpdate:
    """The attachments fetched for a stored matter from the backlog."""
    mid = matter.get("MatterId")
    return AttachmentsUpdate(
        source_id=str(mid), attachments=normalize_attachments(attachments, f"{j.slug} matter {mid}")
    )


# -- events → meetings (docs/meetings.md) -----------------------------------------------------------------

#: The key of an event's ``raw`` under which the crawl records the event's :func:`event_stamp` when it read
#: the event's items (and roll calls) completely: a later crawl that lists the event with the same stamp
#: does not read them again.
ITEMS_STAMP_KEY = "_tracker_items_stamp"

_CANCEL_FIELDS = ("EventAgendaStatusName", "EventComment", "EventLocation")
_TIME = re.compile(
    r"^\s*(\d{1,2})(?::(\d{2}))?(?::\d{2})?\s*([AaPp])\.?\s*[Mm]?\.?\s*$|^\s*(\d{1,2}):(\d{2})\s*$"
)


def parse_event_time(value: Any) -> time | None:
    """Legistar's ``EventTime`` ("10:00 AM", "1:30PM", "19:00"): a local wall-clock time, or None when the
    portal gives none or something that is not a time (the meeting then starts at local midnight)."""
    if not isinstance(value, str):
        return None
    m = _TIME.match(value)
    if not m:
        return None
    if m.group(4) is not None:
        hour, minute = int(m.group(4)), int(m.group(5))
    else:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m.group(3).lower() == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def event_start(zone: ZoneInfo, event: Mapping[str, Any], where: str) -> tuple[date | None, datetime | None]:
    """An event's local date and its start as an aware instant (in ``zone``): ``EventDate`` (a local date)
    at ``EventTime``, or at local midnight when the time is missing or unusable."""
    day = parse_local_date(event.get("EventDate"), f"{where}: EventDate")
    if day is None:
        return None, None
    at = parse_event_time(event.get("EventTime")) or time(0, 0)
    try:
        return day, datetime.combine(day, at, tzinfo=zone)
    except (OverflowError, ValueError):
        raise DataError(f"{where}: EventDate out of range {event.get('EventDate')!r}") from None


def event_held(zone: ZoneInfo, event: Mapping[str, Any], where: str, now: datetime) -> bool:
    """Whether an event has been held by ``now``: its start has passed or, when it has no time (starting at
    local midnight), its local day has ended."""
    day, starts_at = event_start(zone, event, where)
    if day is None or starts_at is None:
        return False
    if parse_event_time(event.get("EventTime")) is None:
        return local_day_end(day, zone) <= now
    return starts_at <= now


def event_is_cancelled(event: Mapping[str, Any]) -> bool:
    """Legistar has no cancelled flag: a meeting is cancelled when its agenda status, its comment or its
    location says so ("CANCELLED", "Canceled", "Meeting cancelled")."""
    return any(isinstance(event.get(k), str) and "cancel" in event[k].lower() for k in _CANCEL_FIELDS)


def event_stamp(event: Mapping[str, Any], held: bool) -> str | None:
    """What changes when anything of an event a crawl stores may have changed: its row version and
    modification stamp, its agenda's and minutes' publication stamps and statuses, and whether it has been
    held (its roll calls come after). None when the portal gives neither a row version nor a modification
    stamp (nothing to trust: the crawl reads its items every time)."""
    if not event.get("EventRowVersion") and not event.get("EventLastModifiedUtc"):
        return None
    parts = [
        event.get(k)
        for k in (
            "EventRowVersion",
            "EventLastModifiedUtc",
            "EventAgendaLastPublishedUTC",
            "EventMinutesLastPublishedUTC",
            "EventAgendaStatusId",
            "EventMinutesStatusId",
        )
    ]
    return "|".join("" if p is None else str(p) for p in parts) + ("|held" if held else "|upcoming")


# Legistar's VoteValueName words → VOTE_VALUES (lower case, without punctuation); anything else is "other",
# with the portal's word kept beside it.
VOTE_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ("aye", "ayes", "yes", "yea", "y", "affirmative", "approve", "approved", "in favor"), "yes"
    ),
    **dict.fromkeys(("nay", "nays", "no", "n", "negative", "oppose", "opposed", "against"), "no"),
    **dict.fromkeys(("abstain", "abstained", "abstention", "abstaining"), "abstain"),
    **dict.fromkeys(("absent", "absent not voting", "not present", "did not vote"), "absent"),
    **dict.fromkeys(("excused", "excused absence", "absent excused", "excused from voting"), "excused"),
    **dict.fromkeys(("recused", "recuse", "recusal", "conflict", "conflict of interest"), "recused"),
    **dict.fromkeys(("present", "present not voting"), "present"),
}
_NOT_WORD = re.compile(r"[^a-z]+")


def vote_value(text: Any) -> str:
    """One of :data:`~tracker.contract.VOTE_VALUES` for a Legistar vote word ("Aye" → yes, "Nay" → no,
    "Excused" → excused; unknown words → other)."""
    if not isinstance(text, str):
        return "other"
    word = _NOT_WORD.sub(" ", text.lower()).strip()
    found = VOTE_WORDS.get(word)
    if found:
        return found
    for needle, value in (
        ("excus", "excused"),
        ("recus", "recused"),
        ("abstain", "abstain"),
        ("absent", "absent"),
    ):
        if needle in word:
            return value
    return "other"


def normalize_votes(rows: Any, where: str) -> list[NormalizedVote]:
    """An event item's vote rows → its roll call, in the portal's order (``VoteSort``, then id)."""
    rows = _rows(rows, f"{where} votes")
    for row in rows:
        _id(row, "VoteId", f"{where} vote")
    ordered = sorted(rows, key=lambda r: (_int_or(r.get("VoteSort")), str(r.get("VoteId"))))
    votes = []
    for row in ordered:
        name = clean_text(row.get("VotePersonName"))
        if not name:
            raise DataError(f"{where} vote {row.get('VoteId')}: missing VotePersonName")
        text = clean_text(row.get("VoteValueName"))
        votes.append(NormalizedVote(member=name, vote=vote_value(text), text=text))
    return votes


def _int_or(value: Any, default: int = 1 << 30) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _http(value: Any) -> str | None:
    url = clean_text(value)
    return url if url and url.lower().startswith(("http://", "https://")) else None


def normalize_event_items(
    rows: Any, votes: Mapping[str, Any] | None, where: str
) -> list[NormalizedMeetingItem]:
    """An event's items → agenda items, in agenda order (minutes order for items added at the meeting).
    ``votes``: event item id → its vote rows (the roll calls the crawl read)."""
    rows = _rows(rows, f"{where} event items")
    keyed = []
    for row in rows:
        iid = _id(row, "EventItemId", f"{where} event item")
        keyed.append(
            (
                _int_or(row.get("EventItemAgendaSequence")),
                _int_or(row.get("EventItemMinutesSequence")),
                int(iid) if ascii_digits(iid) else 0,
                iid,
                row,
            )
        )
    keyed.sort(key=lambda k: k[:4])
    items: list[NormalizedMeetingItem] = []
    for *_, iid, row in keyed:
        here = f"{where} event item {iid}"
        matter_id = row.get("EventItemMatterId")
        if matter_id is not None and (isinstance(matter_id, bool) or not isinstance(matter_id, int | str)):
            raise DataError(f"{here}: invalid EventItemMatterId ({matter_id!r})")
        item_votes = (votes or {}).get(iid)
        items.append(
            NormalizedMeetingItem(
                source_id=iid,
                sequence=len(items),
                title=clean_text(row.get("EventItemTitle")),
                bill_source_id=None if matter_id in (None, "") else str(matter_id),
                identifier=clean_text(row.get("EventItemMatterFile")),
                action=clean_text(row.get("EventItemActionName")),
                result=clean_text(row.get("EventItemPassedFlagName")),
                tally=clean_text(row.get("EventItemTally")),
                agenda_note=clean_text(row.get("EventItemAgendaNote")),
                minutes_note=clean_text(row.get("EventItemMinutesNote")),
                votes=[] if item_votes is None else _votes_of(item_votes, here),
            )
        )
    return items


def _votes_of(value: Any, where: str) -> list[NormalizedVote]:
    """Vote rows read now, or the roll call stored before (a list of :class:`NormalizedVote`)."""
    if isinstance(value, list) and all(isinstance(v, NormalizedVote) for v in value) and value:
        return list(value)
    return normalize_votes(value, where)


def normalize_event(
    *,
    slug: str,
    event: Any,
    items: Any,
    votes: Mapping[str, Any] | None,
    zone: ZoneInfo,
    time_zone: str,
    items_stamp: str | None = None,
) -> NormalizedMeeting:
    """Validate and normalize one Legistar event. ``items`` None: its items were not read (the meeting is
    staged with ``items_complete`` False, so no stored item is taken off its agenda). ``items_stamp``: the
    event's :func:`event_stamp` when its items and roll calls were read completely (kept in ``raw``)."""
    if not isinstance(event, dict):
        raise DataError(f"{slug}: an event is not a JSON object")
    eid = _id(event, "EventId", f"{slug} event")
    where = f"{slug} event {eid}"
    local_date, starts_at = event_start(zone, event, where)
    raw = dict(event)
    raw.pop("EventItems", None)  # [] unless asked for; the items are stored as items
    raw.pop(ITEMS_STAMP_KEY, None)
    if items_stamp is not None and items is not None:
        raw[ITEMS_STAMP_KEY] = items_stamp
    return NormalizedMeeting(
        source_id=eid,
        body_name=clean_text(event.get("EventBodyName")),
        starts_at=None if starts_at is None else starts_at.astimezone(UTC),
        local_date=local_date,
        time_zone=time_zone,
        location=clean_text(event.get("EventLocation")),
        agenda_url=_http(event.get("EventAgendaFile")),
        minutes_url=_http(event.get("EventMinutesFile")),
        public_url=_http(event.get("EventInSiteURL")),
        comment_instructions=public_comment(clean_text(event.get("EventComment"))),
        cancelled=event_is_cancelled(event),
        items=[] if items is None else normalize_event_items(items, votes, where),
        items_complete=items is not None,
        raw=raw,
        timed=starts_at is not None and parse_event_time(event.get("EventTime")) is not None,
    )


def meeting_of(
    j: Settings,
    event: Any,
    items: Any,
    votes: Mapping[str, Any] | None = None,
    items_stamp: str | None = None,
) -> NormalizedMeeting:
    """One event of a city on this platform, with its items (None: not read) and the roll calls read."""
    return normalize_event(
        slug=j.slug,
        event=event,
        items=items,
        votes=votes,
        zone=j.zone,
        time_zone=j.timezone,
        items_stamp=items_stamp,
    )


def events_window(zone: ZoneInfo, now: datetime, back_days: int, ahead_days: int) -> tuple[date, date]:
    """The local dates of the meetings a crawl reads: from ``back_days`` before the local today to
    ``ahead_days`` after it (both included); the second date is the first one after the window."""
    today = now.astimezone(zone).date()
    return today - timedelta(days=back_days), today + timedelta(days=ahead_days + 1)


# -- office records → members ------------------------------------------------------------------------------


def group_office_records(rows: list[Any]) -> list[list[Any]]:
    """Office records by person (``OfficeRecordPersonId``, else the full name), in listing order; a row
    that is not an object stays alone (and is rejected alone by :func:`member_of`)."""
    groups: dict[Any, list[Any]] = {}
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            groups[("row", n)] = [row]
            continue
        person = row.get("OfficeRecordPersonId")
        key = ("id", str(person)) if isinstance(person, int | str) and person != "" else ("name", n)
        if key[0] == "name" and isinstance(row.get("OfficeRecordFullName"), str):
            key = ("name", row["OfficeRecordFullName"].strip().lower())
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def member_of(j: Settings, rows: list[Any]) -> NormalizedMember:
    """One person's office records → a member with their terms (seats on bodies)."""
    rows = _rows(rows, f"{j.slug} office records")
    if not rows:
        raise DataError(f"{j.slug}: a member without office records")
    first = rows[0]
    rid = first.get("OfficeRecordId")
    where = f"{j.slug} office record {rid}"
    name = clean_text(first.get("OfficeRecordFullName"))
    if not name:
        raise DataError(f"{where}: missing OfficeRecordFullName")
    person = first.get("OfficeRecordPersonId")
    terms = []
    for row in rows:
        here = f"{j.slug} office record {row.get('OfficeRecordId')}"
        body = clean_text(row.get("OfficeRecordBodyName"))
        if not body:
            raise DataError(f"{here}: missing OfficeRecordBodyName")
        terms.append(
            NormalizedTerm(
                body_name=body,
                title=clean_text(row.get("OfficeRecordTitle")),
                start=parse_local_date(row.get("OfficeRecordStartDate"), f"{here}: OfficeRecordStartDate"),
                end=parse_local_date(row.get("OfficeRecordEndDate"), f"{here}: OfficeRecordEndDate"),
            )
        )
    return NormalizedMember(
        name=name,
        source_id=None if isinstance(person, bool) or not isinstance(person, int | str) else str(person),
        terms=terms,
    )
