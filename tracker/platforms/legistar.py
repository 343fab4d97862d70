"""The Legistar Web API (webapi.legistar.com/v1/{client}): a city's settings, its public URLs, and its
records → the tracker's bill, actions, sponsors and attachments (the spider is crawler/spiders/legistar.py).

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
from datetime import UTC, date, datetime
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
    NormalizedSponsor,
    content_hash,
)
from tracker.errors import DataError
from tracker.platforms.base import JurisdictionConfig, LinkTarget
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
    if not ids or not ids[0].isdigit():
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
        parsed.append((day or date.min, int(hid) if hid.isdigit() else 0, hid, day, at, row))
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
) -> NormalizedBill:
    """Validate and normalize one Legistar matter with its sub-resources."""
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
        sponsors=_sponsors(_rows(sponsors, f"{where} sponsors")),
        attachments=None if attachments is None else normalize_attachments(attachments, where),
    )
    bill.content_hash = content_hash(bill)
    return bill


def bill_of(j: Settings, matter: Any, histories: Any, sponsors: Any, attachments: Any) -> NormalizedBill:
    """One matter of a city on this platform, with its sub-resources (``attachments`` None: not fetched)."""
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
    )


def attachments_of(j: Settings, matter: dict[str, Any], attachments: Any) -> AttachmentsUpdate:
    """The attachments fetched for a stored matter from the backlog."""
    mid = matter.get("MatterId")
    return AttachmentsUpdate(
        source_id=str(mid), attachments=normalize_attachments(attachments, f"{j.slug} matter {mid}")
    )
