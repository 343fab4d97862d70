"""Legistar Web API records → the tracker's bill, actions, sponsors and attachments.

Parsing is intentionally strict: a missing id, a malformed date or a row of the wrong shape raises
:class:`~tracker.errors.DataError` naming the jurisdiction, the matter and the field. The crawl decides
what that means (the record is skipped, counted and the crawl reported as partial); this module never
guesses.

Legistar dates (see ../shared/portal-samples/README.md): fields ending in ``Utc``/``UTC`` are UTC written
without an offset and with a variable number of fraction digits; every other date is local wall-clock time
without an offset.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tracker.errors import DataError
from tracker.sanitize import clean_text
from tracker.stages import classify_action, stage_for

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


_text = clean_text  # every platform's one text helper (tracker/sanitize.py)


def _id(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise DataError(f"{where}: missing or invalid {key} ({value!r})")
    return str(value)


def _rows(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise DataError(f"{where}: expected a list of objects")
    return value


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
    sponsors: list[NormalizedSponsor] = field(default_factory=list)
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
        doc["sponsors"] = [dict(s.__dict__) for s in self.sponsors]
        doc["attachments"] = (
            None if self.attachments is None else [dict(a.__dict__) for a in self.attachments]
        )
        return doc

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), default=_json_default, separators=(",", ":"), sort_keys=True)

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
        sponsors = [NormalizedSponsor(**s) for s in data.pop("sponsors")]
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
        return json.dumps({"attachments_update": asdict(self)}, separators=(",", ":"))

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AttachmentsUpdate:
        return cls(
            source_id=doc["source_id"], attachments=[NormalizedAttachment(**a) for a in doc["attachments"]]
        )


def read_staged(line: str) -> NormalizedBill | AttachmentsUpdate:
    if line.startswith('{"attachments_update":'):
        return AttachmentsUpdate.from_doc(json.loads(line)["attachments_update"])
    return NormalizedBill.from_json(line)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


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
    blob = json.dumps(content, default=_json_default, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


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
        parsed.append((day or date.min, int(hid) if hid.isdigit() else 0, hid, day, at, row))
    parsed.sort(key=lambda p: (p[0], p[1], p[2]))
    actions: list[NormalizedAction] = []
    seen: set[tuple[Any, ...]] = set()
    for _, _, hid, day, at, row in parsed:
        name = _text(row.get("MatterHistoryActionName"))
        body = _text(row.get("MatterHistoryActionBodyName"))
        result = _text(row.get("MatterHistoryPassedFlagName"))
        key = (day, (name or "").lower(), (body or "").lower(), (result or "").lower())
        if name and key in seen:
            continue
        seen.add(key)
        text = _text(row.get("MatterHistoryActionText"))
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
                tally=_text(row.get("MatterHistoryTally")),
                classification=classify_action(name, text),
                status_source_id=None if status_id is None else str(status_id),
                event_source_id=None if event_id is None else str(event_id),
                raw=row,
            )
        )
    return actions


def _sponsors(rows: list[dict[str, Any]]) -> list[NormalizedSponsor]:
    ordered = sorted(
        rows,
        key=lambda r: (
            r.get("MatterSponsorSequence") if isinstance(r.get("MatterSponsorSequence"), int) else 1 << 30
        ),
    )
    names: list[str] = []
    for row in ordered:
        name = _text(row.get("MatterSponsorName"))
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
        url = _text(row.get("MatterAttachmentHyperlink"))
        if url and not url.lower().startswith(("http://", "https://")):
            url = None
        out.append(
            NormalizedAttachment(
                source_id=aid, sequence=len(out), name=_text(row.get("MatterAttachmentName")), url=url
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
    stage_overrides: dict[str, str] | None = None,
) -> NormalizedBill:
    """Validate and normalize one Legistar matter with its sub-resources."""
    if not isinstance(matter, dict):
        raise DataError(f"{slug}: a matter is not a JSON object")
    mid = _id(matter, "MatterId", f"{slug} matter")
    where = f"{slug} matter {mid}"
    status = _text(matter.get("MatterStatusName"))
    status_id = matter.get("MatterStatusId")
    guid = matter.get("MatterGuid")
    public_url = None
    if web_base:
        public_url = f"{web_base}/LegislationDetail.aspx?ID={mid}" + (f"&GUID={guid}" if guid else "")
    bill = NormalizedBill(
        source_id=mid,
        identifier=_text(matter.get("MatterFile")),
        title=_text(matter.get("MatterTitle")),
        name=_text(matter.get("MatterName")),
        type_name=_text(matter.get("MatterTypeName")),
        status=status,
        status_source_id=None if status_id is None else str(status_id),
        stage=stage_for(status, stage_overrides),
        body_name=_text(matter.get("MatterBodyName")),
        version=_text(matter.get("MatterVersion")),
        introduced=parse_local_date(matter.get("MatterIntroDate"), f"{where}: MatterIntroDate"),
        agenda_date=parse_local_date(matter.get("MatterAgendaDate"), f"{where}: MatterAgendaDate"),
        passed_date=parse_local_date(matter.get("MatterPassedDate"), f"{where}: MatterPassedDate"),
        enacted_date=parse_local_date(matter.get("MatterEnactmentDate"), f"{where}: MatterEnactmentDate"),
        enactment_number=_text(matter.get("MatterEnactmentNumber")),
        source_url=f"{api_base}/{client}/matters/{mid}",
        public_url=public_url,
        portal_modified_at=parse_utc(matter.get("MatterLastModifiedUtc"), f"{where}: MatterLastModifiedUtc"),
        portal_row_version=_text(matter.get("MatterRowVersion")),
        raw=matter,
        actions=_actions(_rows(histories, f"{where} histories"), where, zone),
        sponsors=_sponsors(_rows(sponsors, f"{where} sponsors")),
        attachments=None if attachments is None else normalize_attachments(attachments, where),
    )
    bill.content_hash = content_hash(bill)
    return bill
