"""Chicago eLMS public API: matters with their actions, sponsors and attachments.

Settings of a city on this platform, ``parse_url`` (public matter page → matterId), the strict reader of the
API's list envelope and the normalizer of a matter; the spider is crawler/spiders/elms.py and the wire format
is described in docs/platform-elms.md.

What the code relies on comes from the recorded ``GET /meeting`` answer (../shared/portal-samples/elms/) and
from the public code that reads the API (field names only: opencivicdata/scrapers-us-municipal
chicago/bills.py and chicago/base.py; the clerk's URLs and ``status``/``controllingBody``/
``lastPublicationDate`` as other public eLMS clients read them; the ``GET /meeting-agenda/{meetingId}`` shape
from public live captures of it, mroconnell/rtr-deeplink tests/fixtures/chicago_elms, field names only). No
recorded matter answer exists, so the normalizer is strict: a missing id, an unknown sponsor type or a
malformed date raises :class:`~tracker.errors.DataError` naming the matter and the field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from tracker.config_fields import check_http_url
from tracker.contract import (
    MEETING_PART_KEY,
    NormalizedAction,
    NormalizedAttachment,
    NormalizedBill,
    NormalizedMeeting,
    NormalizedMeetingItem,
    NormalizedSponsor,
    NormalizedVote,
    public_comment,
)
from tracker.errors import DataError, PortalError
from tracker.platforms.base import JurisdictionConfig, LinkTarget
from tracker.platforms.legistar import ITEMS_STAMP_KEY, vote_value
from tracker.sanitize import clean_text
from tracker.stages import classify_action, stage_for

ELMS_API = "https://api.chicityclerkelms.chicago.gov"
ELMS_WEB = "https://chicityclerkelms.chicago.gov"
# Where the clerk's files live (the ``path`` of attachments and meeting files in the recorded sample).
ELMS_FILE_HOST = "occprodstoragev1.blob.core.usgovcloudapi.net"

# Clerk workflow steps listed among a matter's actions that are not legislative actions (the names
# scrapers-us-municipal chicago/bills.py leaves out); they are dropped by exact name.
WORKFLOW_STEPS = frozenset({"Create", "Submit", "Accept", "Post to Public"})
# sponsorType -> primary? (the four values scrapers-us-municipal knows; any other value is an error)
SPONSOR_TYPES = {"Sponsor": True, "Filing Sponsor": True, "CoSponsor": False, "": False}


class Settings(JurisdictionConfig):
    platform: Literal["elms"]
    api_base: str = ELMS_API
    # The public site, for links to a matter's page.
    web_base: str = ELMS_WEB
    # Matters asked per list page (`top`); the API's own default is 100.
    page_size: int = Field(100, ge=1, le=1000)
    # The largest `skip` the API accepts; past it the listing restarts from a cursor on its sort field.
    max_offset: int = Field(100_000, ge=1, le=10_000_000)

    @field_validator("api_base", "web_base")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else check_http_url(v)

    @property
    def source_key(self) -> str:
        return "elms:" + (urlsplit(self.api_base).hostname or "")

    @property
    def hosts(self) -> set[str]:
        found = {urlsplit(self.api_base).hostname, urlsplit(self.web_base).hostname, ELMS_FILE_HOST}
        return {h for h in found if h}


# -- track by link -----------------------------------------------------------------------------------------

_MATTER_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_GUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def parse_url(url: str) -> LinkTarget | None:
    """``https://chicityclerkelms.chicago.gov/Matter/?matterId={id}`` → that matter (ids are GUIDs, kept in
    the API's upper case)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path.lower().rstrip("/") != "/matter":
        return None
    ids = parse_qs(parts.query).get("matterId")
    if not ids or len(ids) != 1 or not _MATTER_ID.match(ids[0]):
        return None
    matter_id = ids[0].upper() if _GUID.match(ids[0]) else ids[0]
    return LinkTarget(platform="elms", host=parts.hostname.lower(), source_id=matter_id, url=url)


def matter_url(web_base: str, matter_id: str) -> str:
    return f"{web_base}/Matter/?matterId={quote(matter_id, safe='')}"


def detail_url(api_base: str, matter_id: str) -> str:
    return f"{api_base}/matter/{quote(matter_id, safe='')}"


# -- the list envelope ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One answer of a list endpoint: ``{"facets": [...], "data": [...], "meta": {...}}``."""

    rows: list[dict[str, Any]]
    skip: int
    top: int
    count: int
    pages: int
    facets: list[dict[str, Any]]


def _int(meta: dict[str, Any], key: str) -> int:
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PortalError(f"meta.{key} is {value!r}, not a count")
    return value


def parse_envelope(doc: Any) -> Page:
    """The list envelope, checked: PortalError says what is not as the API writes it."""
    if not isinstance(doc, dict):
        raise PortalError(f"expected the list envelope, got {type(doc).__name__}")
    missing = [k for k in ("data", "meta") if k not in doc]
    if missing:
        raise PortalError(f"the list envelope has no {' or '.join(repr(k) for k in missing)}")
    rows, meta, facets = doc["data"], doc["meta"], doc.get("facets", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise PortalError("'data' is not a list of objects")
    if not isinstance(meta, dict):
        raise PortalError("'meta' is not an object")
    if not isinstance(facets, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("values"), list)
        for f in facets
    ):
        raise PortalError("'facets' is not a list of {name, values}")
    page = Page(rows, _int(meta, "skip"), _int(meta, "top"), _int(meta, "count"), _int(meta, "pages"), facets)
    if page.top == 0 or len(rows) > page.top:
        raise PortalError(f"{len(rows)} rows on a page of top {page.top}")
    return page


# -- dates ---------------------------------------------------------------------------------------------------

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


def parse_datetime(value: Any, where: str, zone: ZoneInfo) -> tuple[datetime, bool] | None:
    """An eLMS date as an aware time in ``zone``, and whether it carried a time of day. The API writes UTC
    with an offset (``2023-10-12T15:00:00+00:00``); a value without an offset is taken as local wall-clock
    time; anything else raises DataError."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DataError(f"{where}: expected a date string, got {value!r}")
    m = _ISO.match(value.strip())
    if not m:
        raise DataError(f"{where}: malformed date {value!r}")
    year, month, day, hour, minute, second, frac, offset = m.groups()
    try:
        naive = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0").ljust(6, "0")[:6]),
        )
        if offset is None:
            return naive.replace(tzinfo=zone), hour is not None
        if offset == "Z":
            return naive.replace(tzinfo=UTC).astimezone(zone), True
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return naive.replace(tzinfo=timezone(sign * delta)).astimezone(zone), True
    except ValueError:
        raise DataError(f"{where}: malformed date {value!r}") from None


def parse_when(value: Any, where: str, zone: ZoneInfo) -> tuple[date | None, datetime | None]:
    """An eLMS date: its local calendar date in ``zone``, and the UTC instant when it carries a time that is
    not local midnight (a date alone is a calendar date, not an instant)."""
    parsed = parse_datetime(value, where, zone)
    if parsed is None:
        return None, None
    local, has_time = parsed
    if not has_time or (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return local.date(), None
    return local.date(), local.astimezone(UTC)


def instant(value: Any) -> datetime | None:
    """A list row's sort stamp (``recordCreateDate``) as an aware instant, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else None


# -- the normalizer ------------------------------------------------------------------------------------------


def _id(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise DataError(f"{where}: missing or invalid {key} ({value!r})")
    text = str(value).strip()
    if len(text) > 64:
        raise DataError(f"{where}: {key} is longer than 64 characters")
    return text


def _rows(matter: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """A nested list of the detail answer; null is an empty list (the API writes null for none)."""
    value = matter.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise DataError(f"{where}: {key} is not a list of objects")
    return value


def _digest(*parts: Any) -> str:
    blob = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _tally(votes: list[dict[str, Any]], where: str) -> str | None:
    """``votes[]`` (vote, voterName) → "Yea 48, Nay 1" (most frequent first)."""
    counts: Counter[str] = Counter()
    for vote in votes:
        value = clean_text(vote.get("vote"))
        if value is None:
            raise DataError(f"{where}: a vote without a value")
        counts[value] += 1
    if not counts:
        return None
    text = ", ".join(f"{v} {n}" for v, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return text[:100]


def _actions(matter: dict[str, Any], where: str, zone: ZoneInfo) -> list[NormalizedAction]:
    parsed = []
    for i, row in enumerate(_rows(matter, "actions", where)):
        name = clean_text(row.get("actionName"))
        if name in WORKFLOW_STEPS:
            continue
        here = f"{where} action {i}"
        day, at = parse_when(row.get("actionDate"), f"{here}: actionDate", zone)
        sort = row.get("sort")
        if sort is not None and (isinstance(sort, bool) or not isinstance(sort, int)):
            raise DataError(f"{here}: sort is {sort!r}, not a number")
        votes = row.get("votes") or []
        if not isinstance(votes, list) or not all(isinstance(v, dict) for v in votes):
            raise DataError(f"{here}: votes is not a list of objects")
        parsed.append((day or date.max, sort if sort is not None else 1 << 30, i, day, at, name, row, votes))
    parsed.sort(key=lambda p: (p[0], p[1], p[2]))
    actions: list[NormalizedAction] = []
    seen: set[str] = set()
    for _, _, _, day, at, name, row, votes in parsed:
        body = clean_text(row.get("actionByName"))
        # The API gives actions no id: one is derived from what identifies the row. Exact repeats collapse.
        source_id = "a" + _digest(row.get("actionDate"), row.get("sort"), name, body)
        if source_id in seen:
            continue
        seen.add(source_id)
        text = clean_text(row.get("actionText"))
        meeting = row.get("meetingId")
        actions.append(
            NormalizedAction(
                source_id=source_id,
                sequence=len(actions),
                action_date=day,
                acted_at=at,
                description=name,
                text=text,
                body_name=body,
                result=None,
                tally=_tally(votes, f"{where} action {name!r}"),
                classification=classify_action(name, text),
                status_source_id=None,
                event_source_id=clean_text(meeting),
                raw=row,
            )
        )
    return actions


def _sponsors(matter: dict[str, Any], where: str) -> list[NormalizedSponsor]:
    primary: list[str] = []
    others: list[str] = []
    for row in _rows(matter, "sponsors", where):
        kind = row.get("sponsorType")
        kind = "" if kind is None else kind
        if kind not in SPONSOR_TYPES:
            raise DataError(f"{where}: unknown sponsorType {kind!r}")
        name = clean_text(row.get("sponsorName"))
        if not name:
            continue
        (primary if SPONSOR_TYPES[kind] else others).append(name)
    names: list[str] = []
    for name in primary + others:
        if name not in names:
            names.append(name)
    n_primary = len(set(primary))
    return [NormalizedSponsor(sequence=i, name=n, is_primary=i < n_primary) for i, n in enumerate(names)]


def _attachments(matter: dict[str, Any], where: str) -> list[NormalizedAttachment]:
    rows = _rows(matter, "attachments", where)
    ordered = sorted(
        enumerate(rows),
        key=lambda p: (p[1].get("sort") if isinstance(p[1].get("sort"), int) else 1 << 30, p[0]),
    )
    out: list[NormalizedAttachment] = []
    seen: set[str] = set()
    for _, row in ordered:
        path = clean_text(row.get("path"))
        name = clean_text(row.get("fileName")) or clean_text(row.get("attachmentType"))
        if path is None and name is None:
            raise DataError(f"{where}: an attachment with neither path nor fileName")
        source_id = "f" + _digest(path or name)
        if source_id in seen:
            continue
        seen.add(source_id)
        url = path if path and path.lower().startswith(("http://", "https://")) else None
        out.append(NormalizedAttachment(source_id=source_id, sequence=len(out), name=name, url=url))
    return out


def normalize_matter(
    matter: Any,
    *,
    slug: str,
    api_base: str,
    web_base: str,
    zone: ZoneInfo,
    stage_overrides: Mapping[str, str] | None = None,
) -> NormalizedBill:
    """One ``GET /matter/{matterId}`` answer → a NormalizedBill (``legacyRecordNumber`` stays in ``raw``)."""
    if not isinstance(matter, dict):
        raise DataError(f"{slug}: a matter is not a JSON object")
    mid = _id(matter, "matterId", f"{slug} matter")
    where = f"{slug} matter {mid}"
    identifier = clean_text(matter.get("recordNumber"))
    if identifier is None:
        raise DataError(f"{where}: no recordNumber")
    if len(identifier) > 100:
        raise DataError(f"{where}: recordNumber is longer than 100 characters")
    status = clean_text(matter.get("status"))
    introduced, _ = parse_when(matter.get("introductionDate"), f"{where}: introductionDate", zone)
    # lastPublicationDate moves when the clerk republishes the matter: the sweep compares it like Legistar's
    # row version.
    stamp = clean_text(matter.get("lastPublicationDate"))
    published = parse_datetime(stamp, f"{where}: lastPublicationDate", zone)
    return NormalizedBill(
        source_id=mid,
        identifier=identifier,
        title=clean_text(matter.get("title")),
        name=None,
        type_name=clean_text(matter.get("type")),
        status=status,
        status_source_id=None,
        stage=stage_for(status, stage_overrides),
        body_name=clean_text(matter.get("controllingBody")),
        version=None,
        introduced=introduced,
        agenda_date=None,
        passed_date=None,
        enacted_date=None,
        enactment_number=None,
        source_url=detail_url(api_base, mid),
        public_url=matter_url(web_base, mid),
        portal_modified_at=None if published is None else published[0].astimezone(UTC),
        portal_row_version=stamp[:64] if stamp else None,
        raw=matter,
        actions=_actions(matter, where, zone),
        sponsors=_sponsors(matter, where),
        attachments=_attachments(matter, where),
        actions_complete=True,
        alternate_identifiers=[x for x in [clean_text(matter.get("legacyRecordNumber"))] if x],
    )


# -- meetings ------------------------------------------------------------------------------------------------

_CANCEL = re.compile(r"\bcancel", re.I)


def meeting_page_url(web_base: str, meeting_id: str) -> str:
    return f"{web_base}/Meeting/?meetingId={quote(meeting_id, safe='')}"


def meeting_agenda_url(api_base: str, meeting_id: str) -> str:
    """``GET /meeting-agenda/{meetingId}``: the meeting with its ``agenda`` (the listing leaves it null)."""
    return f"{api_base}/meeting-agenda/{quote(meeting_id, safe='')}"


# What of a listed meeting row a stamp covers: every field the normalizer reads, and the publication stamp
# when the listing carries one (the ``GET /meeting-agenda`` answers publicly recorded do).
_STAMPED = (
    "meetingId",
    "date",
    "status",
    "comment",
    "location",
    "body",
    "bodyId",
    "files",
    "lastPublicationDate",
)


def meeting_stamp(row: Mapping[str, Any], held: bool) -> str:
    """The stamp of a listed meeting (the API gives meetings no row version): a digest of what the listing
    shows of it, and whether it has been held (its agenda then carries the actions taken). A meeting listed
    with the stamp it had when its agenda was read is not read again (docs/meetings.md, "Chicago eLMS")."""
    shown = json.dumps({k: row.get(k) for k in _STAMPED}, sort_keys=True, default=str)
    return hashlib.sha256(shown.encode()).hexdigest()[:32] + ("|held" if held else "|upcoming")


def read_agenda(answer: Any, mid: str, where: str) -> list[NormalizedMeetingItem] | None:
    """The items of a ``GET /meeting-agenda/{meetingId}`` answer: the meeting object with
    ``agenda: {status, version, groups: [{title, items: [{matterId, matterTitle, recordNumber, actionName,
    ...}]}]}`` (as the public captures of that endpoint show it). None when the answer's ``agenda`` is null
    (no agenda published); :class:`DataError` when the answer is not that (another meeting, no ``agenda``,
    ``groups`` missing or not a list): its items are then not known, and none stored is taken off."""
    if not isinstance(answer, dict):
        raise DataError(f"{where}: the agenda answer is not a JSON object")
    answered = meeting_id(answer)
    if answered != mid:
        raise DataError(f"{where}: the agenda answer is for meeting {str(answered)[:64]!r}")
    if "agenda" not in answer:
        raise DataError(f"{where}: the agenda answer has no agenda")
    agenda = answer["agenda"]
    if agenda is None:
        return None
    if not isinstance(agenda, dict) or not isinstance(agenda.get("groups"), list):
        raise DataError(f"{where}: the agenda answer's agenda has no list of groups")
    return _agenda_items(agenda, where)


def with_agenda(
    meeting: NormalizedMeeting, items: list[NormalizedMeetingItem] | None, stamp: str | None
) -> NormalizedMeeting:
    """A listed meeting with the items of its agenda read completely (``items`` None: not read, the stored
    ones stay); ``stamp`` (kept in ``raw``) is the listing's :func:`meeting_stamp` when they were read."""
    raw = {k: v for k, v in meeting.raw.items() if k != ITEMS_STAMP_KEY}
    if items is None:
        if meeting.items_complete:  # the listed row carried its agenda: its items stand
            return replace(meeting, raw=raw)
        return replace(meeting, items=[], items_complete=False, raw=raw)
    if stamp is not None:
        raw[ITEMS_STAMP_KEY] = stamp
    return replace(meeting, items=items, items_complete=True, raw=raw)


def meetings_filter(start: datetime, end: datetime) -> str:
    """The ``filter`` of the meetings listing: start times from ``start`` (included) to ``end`` (excluded),
    in UTC like the API's own ``date`` values."""
    first = start.astimezone(UTC).isoformat(timespec="seconds")
    last = end.astimezone(UTC).isoformat(timespec="seconds")
    return f"date ge {first} and date lt {last}"


def meeting_id(row: Any) -> str | None:
    """A listed meeting's ``meetingId`` (GUIDs in the API's upper case), None when it has none usable."""
    value = row.get("meetingId") if isinstance(row, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if not text or len(text) > 64:
        return None
    return text.upper() if _GUID.match(text) else text


def _file_url(files: list[dict[str, Any]], kinds: tuple[str, ...]) -> str | None:
    """The link of the first file (by ``sort``) whose ``attachmentType`` is one of ``kinds``."""
    ordered = sorted(
        enumerate(files),
        key=lambda p: (p[1].get("sort") if isinstance(p[1].get("sort"), int) else 1 << 30, p[0]),
    )
    for _, row in ordered:
        kind = clean_text(row.get("attachmentType"))
        path = clean_text(row.get("path"))
        if kind and kind.lower() in kinds and path and path.lower().startswith(("http://", "https://")):
            return path
    return None


def _agenda_items(agenda: Any, where: str) -> list[NormalizedMeetingItem]:
    """The items of a meeting's ``agenda`` when the answer carries one (``groups[].items[]``, each item naming
    its matter by ``matterId`` and ``recordNumber``, as public clients of the API read it); the recorded
    listing has ``agenda`` null."""
    if agenda is None:
        return []
    if not isinstance(agenda, dict):
        raise DataError(f"{where}: agenda is not an object")
    groups = agenda.get("groups") or []
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise DataError(f"{where}: agenda.groups is not a list of objects")
    items: list[NormalizedMeetingItem] = []
    seen: set[str] = set()
    for g, group in enumerate(groups):
        rows = group.get("items") or []
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise DataError(f"{where}: agenda group {g}: items is not a list of objects")
        for n, row in enumerate(rows):
            matter = meeting_id({"meetingId": row.get("matterId")})
            own = clean_text(row.get("commentId")) if isinstance(row.get("commentId"), str) else None
            source_id = matter or own or f"{g}.{n}"
            if source_id in seen:
                continue
            seen.add(source_id)
            record = clean_text(row.get("recordNumber")) if isinstance(row.get("recordNumber"), str) else None
            if record is not None and len(record) > 100:
                raise DataError(
                    f"{where}: agenda item {source_id}: recordNumber is longer than 100 characters"
                )
            title = row.get("matterTitle") if isinstance(row.get("matterTitle"), str) else row.get("title")
            action = row.get("actionName")
            items.append(
                NormalizedMeetingItem(
                    source_id=source_id[:64],
                    sequence=len(items),
                    title=clean_text(title) if isinstance(title, str) else None,
                    bill_source_id=matter,
                    identifier=record,
                    action=clean_text(action) if isinstance(action, str) else None,
                )
            )
    return items


def normalize_meeting(row: Any, *, slug: str, web_base: str, timezone: str) -> NormalizedMeeting:
    """One row of ``GET /meeting`` → a NormalizedMeeting.

    ``date`` is UTC with an offset (a value without one is local time); ``status`` says ``Cancelled``, and
    rows older than the ``status`` field say it in ``comment`` ("CANCELLATION of Meeting"); ``comment`` is
    the meeting's public-comment instructions when it speaks of comment ("Written public comment deadline
    ..."). A row without an id or a readable date raises :class:`DataError` naming it."""
    if not isinstance(row, dict):
        raise DataError(f"{slug}: a meeting is not a JSON object")
    mid = meeting_id(row)
    if mid is None:
        raise DataError(f"{slug}: a meeting without a valid meetingId ({str(row.get('meetingId'))[:80]!r})")
    where = f"{slug} meeting {mid}"
    zone = ZoneInfo(timezone)
    parsed = parse_datetime(row.get("date"), f"{where}: date", zone)
    if parsed is None:
        raise DataError(f"{where}: no date")
    local, _ = parsed
    status = clean_text(row.get("status")) if isinstance(row.get("status"), str) else None
    comment = clean_text(row.get("comment")) if isinstance(row.get("comment"), str) else None
    location = clean_text(row.get("location")) if isinstance(row.get("location"), str) else None
    # the status when the row has one; older rows say it in their comment only
    cancelled = bool(_CANCEL.match(status)) if status else bool(comment and _CANCEL.search(comment))
    files = row.get("files") or []
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise DataError(f"{where}: files is not a list of objects")
    items = _agenda_items(row.get("agenda"), where)
    body = row.get("body")
    return NormalizedMeeting(
        source_id=mid,
        body_name=clean_text(body) if isinstance(body, str) else None,
        starts_at=local.astimezone(UTC),
        local_date=local.date(),
        time_zone=timezone,
        location=location,
        agenda_url=_file_url(files, ("agenda",)),
        minutes_url=_file_url(files, ("minutes", "journal")),
        public_url=meeting_page_url(web_base, mid),
        comment_instructions=public_comment(comment),
        cancelled=cancelled,
        items=items,
        # the listing's agenda is null: its items are not read, and none stored is taken off
        items_complete=bool(items),
        raw={
            "platform": "elms",
            **{
                k: row.get(k)
                for k in ("meetingId", "bodyId", "bodyAbbreviation", "status", "comment", "date")
            },
        },
    )


# -- roll calls ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollCall:
    """A matter's roll call at a meeting: an action of the matter naming its ``meetingId``, with
    ``votes[]``."""

    matter_id: str
    identifier: str | None
    title: str | None
    action: str | None
    votes: list[NormalizedVote]


def roll_calls(bill: NormalizedBill, where: str) -> dict[str, RollCall]:
    """The roll calls on a normalized matter's actions, by meeting id (in the API's upper case): each action
    with a non-empty ``votes[]`` and a ``meetingId``. A member is named by ``voterName``; ``vote`` is mapped
    to :data:`~tracker.contract.VOTE_VALUES` as Legistar's words are ("Yea" -> yes, unknown -> other, the
    portal's word kept). Two voted actions at one meeting: the later one is the meeting's roll call."""
    found: dict[str, RollCall] = {}
    for action in bill.actions:
        rows = action.raw.get("votes") or []
        mid = meeting_id({"meetingId": action.raw.get("meetingId")})
        if not rows or mid is None:
            continue
        votes: list[NormalizedVote] = []
        seen: set[str] = set()
        for row in rows:
            name = clean_text(row.get("voterName")) if isinstance(row.get("voterName"), str) else None
            if not name:
                raise DataError(f"{where} action {action.description!r}: a vote without voterName")
            name = name[:300]
            if name in seen:
                continue  # a member votes once per roll call
            seen.add(name)
            text = clean_text(row.get("vote"))
            votes.append(
                NormalizedVote(member=name, vote=vote_value(text), text=None if text is None else text[:100])
            )
        found[mid] = RollCall(bill.source_id, bill.identifier, bill.title, action.description, votes)
    return found


def with_roll_calls(
    meeting: NormalizedMeeting,
    calls: list[RollCall],
    stored: Mapping[tuple[str, str], tuple[str | None, list[NormalizedVote]]],
) -> NormalizedMeeting:
    """A meeting with the roll calls of the matters fetched by this crawl on its items (an item is the
    matter's by ``bill_source_id``; a matter voted on but not on the agenda read gets an item of its own),
    and on its other items the roll calls stored before (a re-read agenda does not erase them)."""
    by_matter = {call.matter_id: call for call in calls}
    items: list[NormalizedMeetingItem] = []
    for item in meeting.items:
        call = by_matter.pop(item.bill_source_id or item.source_id, None)
        if call is not None:
            item = replace(item, votes=list(call.votes), action=item.action or call.action)
        elif not item.votes and (meeting.source_id, item.source_id) in stored:
            item = replace(item, votes=list(stored[(meeting.source_id, item.source_id)][1]))
        items.append(item)
    listed = {item.source_id for item in items}
    for (mid, sid), (_tally_text, votes) in sorted(stored.items(), key=lambda kv: kv[0]):
        if mid == meeting.source_id and sid not in listed and sid not in by_matter and votes:
            # a voted matter's own item, not on the agenda: kept with its stored roll call
            items.append(
                NormalizedMeetingItem(
                    source_id=sid, sequence=len(items), bill_source_id=sid, votes=list(votes)
                )
            )
    for call in by_matter.values():
        items.append(
            NormalizedMeetingItem(
                source_id=call.matter_id[:64],
                sequence=len(items),
                title=call.title,
                bill_source_id=call.matter_id,
                identifier=call.identifier,
                action=call.action,
                votes=list(call.votes),
            )
        )
    return replace(meeting, items=items)


def roll_call_part(meeting_source_id: str, calls: list[RollCall], timezone: str) -> NormalizedMeeting:
    """The roll calls of matters read by a shard of a split crawl that does not read meetings, staged as a
    part of their meeting (``raw[MEETING_PART_KEY]``): one item per matter, as :func:`with_roll_calls`
    would add it. The import folds it into the meeting staged by the shard that reads meetings
    (:func:`tracker.meetings.merge_parts`); a part whose meeting is not staged is dropped."""
    items = [
        NormalizedMeetingItem(
            source_id=call.matter_id[:64],
            sequence=n,
            title=call.title,
            bill_source_id=call.matter_id,
            identifier=call.identifier,
            action=call.action,
            votes=list(call.votes),
        )
        for n, call in enumerate(calls)
    ]
    return NormalizedMeeting(
        source_id=meeting_source_id,
        body_name=None,
        starts_at=None,
        local_date=None,
        time_zone=timezone,
        items=items,
        items_complete=False,
        raw={"platform": "elms", MEETING_PART_KEY: True},
    )
