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
from datetime import date, datetime
from typing import Any


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


_DASHES = re.compile(r"[\u2010-\u2015\u2212_]")
_SPACE = re.compile(r"\s+")


def identifier_key(identifier: str | None) -> str | None:
    """A file number in one spelling: upper case, no spaces, one kind of dash (``o 2023 - 1234`` and
    ``O2023\u20131234`` are ``O2023-1234``)."""
    if not identifier:
        return None
    key = _SPACE.sub("", _DASHES.sub("-", identifier)).upper()
    return key[:100] or None
