"""Scraped text made safe to store and show: the normalizer boundary every platform's records pass through.

Portals are untrusted: a title may hold a NUL byte (which PostgreSQL's ``text`` and ``jsonb`` cannot store),
terminal escape sequences, characters XML 1.0 forbids (which break Atom feeds), or 250,000 characters. Every
record a spider stages goes through :func:`sanitize_record` in the stage pipeline (crawler/pipelines.py), so
no platform can forget it, and the importer and everything after it can rely on what it guarantees
(docs/architecture.md, "The normalizer boundary"):

- **Characters.** :func:`scrub` removes what PostgreSQL or XML 1.0 cannot hold or a terminal would obey:
  C0 controls other than tab, line feed and carriage return (NUL, BEL, ESC...), DEL, lone surrogates, and
  the noncharacters U+FFFE and U+FFFF. C1 controls (U+0080 to U+009F) are, in scraped text, almost always
  Windows-1252 bytes decoded as Latin-1 (``\\x92`` for a right quote): they are mapped to the Windows-1252
  characters, as HTML5 parsers do for numeric references; the five C1 code points Windows-1252 leaves
  undefined are removed. Nothing else is changed (bidirectional marks, emoji and any other text stay).
- **Whitespace.** :func:`clean_text` also collapses runs of whitespace (line breaks included) into one
  space and returns None for empty text: the one helper the platforms' parsers use for a field's text.
- **Lengths.** Every field has a limit (:data:`BILL_LIMITS`, :data:`ACTION_LIMITS`...): the column's size
  where the column has one, 10,000 characters for titles, names and action text, 4,096 for URLs. Longer
  *text* is cut to the limit and the cut is recorded: a warning naming the bill and the field, the original
  length under ``raw["_tracker_cut"]``, and a count in the crawl's summary line. A longer *key* (a source
  id, file number or row version) is not cut, since a cut key could name another record: the record is
  rejected. A URL over its limit is dropped (a cut URL leads nowhere).
- **Types and dates.** A field of the wrong type (a list where text belongs, a string where a date
  belongs) rejects the record; a number where text belongs is written as text. A date outside
  :data:`EARLIEST`..:data:`LATEST` (year 1 or 9999: a placeholder or a typo) is dropped and the drop
  recorded like a cut.
- **Raw payloads** (``raw``, kept for reference) get the same character rules, strings cut to
  :data:`RAW_TEXT_LIMIT`, non-finite numbers and integers beyond 64 bits written as text, and nesting
  beyond :data:`RAW_DEPTH` levels dropped.

A record that cannot be made safe raises :class:`~tracker.errors.DataError`: the crawl rejects that record
only (it is named in the crawl's summary and the crawl is *partial*), and stores the others.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from tracker.errors import DataError

if TYPE_CHECKING:
    from tracker.contract import (
        AttachmentsUpdate,
        NormalizedAttachment,
        NormalizedBill,
        NormalizedMeeting,
        NormalizedMember,
    )

# -- characters -------------------------------------------------------------------------------------------

# C0 controls but tab, LF and CR; DEL; surrogates (a str holding one is always a lone one); U+FFFE/U+FFFF.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_C1 = re.compile("[\x80-\x9f]")
_SUSPECT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _cp1252(code: int) -> str:
    try:
        return bytes([code]).decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d: undefined in Windows-1252
        return ""


_C1_TABLE = {code: _cp1252(code) for code in range(0x80, 0xA0)}


def scrub(text: str) -> str:
    """``text`` without the characters PostgreSQL or XML 1.0 cannot hold or a terminal would act on (see
    the module's docstring); whitespace and everything else untouched."""
    if _SUSPECT.search(text) is None:  # the usual case: one scan in C
        return text
    if _C1.search(text) is not None:
        text = text.translate(_C1_TABLE)
    return _FORBIDDEN.sub("", text)


def clean_text(value: Any) -> str | None:
    """A scraped value as one line of text: :func:`scrub`-bed, whitespace collapsed, None when empty. The one
    helper every platform's parser uses for a field's text."""
    if value is None:
        return None
    text = " ".join(scrub(value if isinstance(value, str) else str(value)).split())
    return text or None


# -- limits ---------------------------------------------------------------------------------------------

TEXT_LIMIT = 10_000  # titles, names, action text: the longest real ones are a few thousand characters
URL_LIMIT = 4_096
RAW_TEXT_LIMIT = 10_000
RAW_DEPTH = 32
EARLIEST = date(1800, 1, 1)
LATEST = date(2200, 12, 31)

# field -> (kind, limit); kinds: "key" (too long: the record is rejected), "text" (cut), "url" (dropped).
# The limits of sized columns are the column sizes (db/models.py).
BILL_LIMITS: dict[str, tuple[str, int]] = {
    "source_id": ("key", 64),
    "identifier": ("key", 100),
    "title": ("text", TEXT_LIMIT),
    "name": ("text", TEXT_LIMIT),
    "type_name": ("text", 200),
    "status": ("text", 200),
    "status_source_id": ("key", 64),
    "stage": ("key", 20),
    "body_name": ("text", 300),
    "version": ("text", 20),
    "enactment_number": ("text", 100),
    "source_url": ("url", URL_LIMIT),
    "public_url": ("url", URL_LIMIT),
    "portal_row_version": ("key", 64),
    "content_hash": ("key", 64),
}
ACTION_LIMITS: dict[str, tuple[str, int]] = {
    "source_id": ("key", 64),
    "description": ("text", TEXT_LIMIT),
    "text": ("text", TEXT_LIMIT),
    "body_name": ("text", 300),
    "result": ("text", 100),
    "tally": ("text", 100),
    "classification": ("key", 32),
    "status_source_id": ("key", 64),
    "event_source_id": ("key", 64),
}
SPONSOR_LIMITS: dict[str, tuple[str, int]] = {"name": ("text", 300)}
ATTACHMENT_LIMITS: dict[str, tuple[str, int]] = {
    "source_id": ("key", 64),
    "name": ("text", TEXT_LIMIT),
    "url": ("url", URL_LIMIT),
}
BILL_DATES = ("introduced", "agenda_date", "passed_date", "enacted_date")
BILL_TIMES = ("portal_modified_at",)
MAX_ROWS = 10_000  # actions, sponsors or attachments of one bill
CUT_KEY = "_tracker_cut"


@dataclass
class Outcome:
    """What :func:`sanitize_record` changed: ``cuts`` names each field cut or dropped (``"title: 250000
    characters cut to 10000"``); ``changed`` is True when any value changed at all (the content hash is then
    computed again)."""

    cuts: list[str] = field(default_factory=list)
    changed: bool = False


class _Boundary:
    def __init__(self, where: str) -> None:
        self.where = where
        self.out = Outcome()
        self.lengths: dict[str, int] = {}

    def cut(self, path: str, message: str, length: int | None = None) -> None:
        self.out.cuts.append(f"{path}: {message}")
        self.out.changed = True
        if length is not None:
            self.lengths[path] = length

    def text(self, value: Any, path: str, kind: str, limit: int, *, required: bool = False) -> Any:
        if value is None:
            if required:
                raise DataError(f"{self.where}: {path} is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise DataError(f"{self.where}: {path}: expected text, got {type(value).__name__}")
        text = value if isinstance(value, str) else str(value)
        clean = scrub(text)
        if kind == "key" and clean != text:
            # an id is compared, not read: cleaned, "ID\x00" would become "ID", another record's id, and
            # overwrite that bill (until 2026-12-07)
            raise DataError(f"{self.where}: {path}: {text[:64]!r} holds control characters")
        if clean != value:
            self.out.changed = True
            if not clean.strip():  # nothing but removed characters (and spaces) was there
                clean = ""
        if not clean:
            if required:
                raise DataError(f"{self.where}: {path} is empty")
            return None if value != "" else value
        if len(clean) <= limit:
            return clean
        if kind == "key":
            raise DataError(f"{self.where}: {path}: {len(clean)} characters (at most {limit})")
        if kind == "url":
            self.cut(path, f"a URL of {len(clean)} characters dropped (at most {limit})", len(clean))
            return None
        self.cut(path, f"{len(clean)} characters cut to {limit}", len(clean))
        return clean[:limit]

    def day(self, value: Any, path: str) -> Any:
        if value is None:
            return None
        if isinstance(value, datetime) or not isinstance(value, date):
            raise DataError(f"{self.where}: {path}: expected a date, got {type(value).__name__}")
        if not EARLIEST <= value <= LATEST:
            self.cut(path, f"date {value.isoformat()} outside {EARLIEST.year}-{LATEST.year} dropped")
            return None
        return value

    def instant(self, value: Any, path: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise DataError(f"{self.where}: {path}: expected an aware datetime, got {value!r:.60}")
        if not EARLIEST <= value.date() <= LATEST:
            self.cut(path, f"time {value.isoformat()} outside {EARLIEST.year}-{LATEST.year} dropped")
            return None
        return value

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            raise DataError(f"{self.where}: {path}: expected a small integer, got {value!r:.60}")
        return value

    def flag(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise DataError(f"{self.where}: {path}: expected true or false, got {value!r:.60}")
        return value

    def optional_rows(self, value: Any, path: str) -> list[Any] | None:
        return None if value is None else self.rows(value, path)

    def rows(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise DataError(f"{self.where}: {path}: expected a list, got {type(value).__name__}")
        if len(value) > MAX_ROWS:
            raise DataError(f"{self.where}: {len(value)} {path} (at most {MAX_ROWS})")
        return value

    def fields(self, obj: Any, limits: dict[str, tuple[str, int]], prefix: str, required: set[str]) -> None:
        for name, (kind, limit) in limits.items():
            value = getattr(obj, name)
            new = self.text(value, prefix + name, kind, limit, required=name in required)
            if new is not value:
                setattr(obj, name, new)

    def raw(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise DataError(f"{self.where}: {path}: expected an object, got {type(value).__name__}")
        checked: dict[str, Any] = self._raw(value, path, 0)
        return checked

    # Raw payloads are most of a record's strings: the walk takes the plain cases inline and names a value's
    # place (:func:`_render`) only when it is cut.
    def _raw(self, value: Any, path: Any, depth: int) -> Any:
        kind = type(value)
        if kind is str:
            if len(value) <= RAW_TEXT_LIMIT and _SUSPECT.search(value) is None:
                return value
            clean = scrub(value)
            if len(clean) > RAW_TEXT_LIMIT:
                self.cut(_render(path), f"{len(clean)} characters cut to {RAW_TEXT_LIMIT}")
                clean = clean[:RAW_TEXT_LIMIT]
            if clean != value:
                self.out.changed = True
            return clean
        if value is None or kind is bool:
            return value
        if kind is int:
            if -(2**63) <= value < 2**63:
                return value
            self.out.changed = True
            return str(value)[:RAW_TEXT_LIMIT]
        if kind is float:
            if math.isfinite(value):
                return value
            self.out.changed = True
            return str(value)
        if isinstance(value, date | datetime):
            return value.isoformat()
        if isinstance(value, dict | list | tuple) and depth >= RAW_DEPTH:
            self.cut(_render(path), f"nested deeper than {RAW_DEPTH} levels: dropped")
            return None
        if isinstance(value, dict):
            out = {}
            search = _SUSPECT.search
            for k, v in value.items():
                key = k if type(k) is str and search(k) is None else self._raw(str(k), path, depth + 1)
                kind = type(v)
                if (
                    (kind is str and len(v) <= RAW_TEXT_LIMIT and search(v) is None)
                    or v is None
                    or kind is bool
                    or (kind is int and -(2**63) <= v < 2**63)
                ):
                    out[key] = v
                else:
                    out[key] = self._raw(v, (path, key), depth + 1)
            return out
        if isinstance(value, list | tuple):
            return [self._raw(v, (path, i), depth + 1) for i, v in enumerate(value)]
        if isinstance(value, str | int | float):  # subclasses (an IntEnum, a str subclass): plain values
            return self._raw(str(value) if isinstance(value, str) else repr(value), path, depth)
        self.out.changed = True
        return scrub(repr(value))[:RAW_TEXT_LIMIT]


def _render(path: Any) -> str:
    """A raw value's place, from the nested (parent, key) pairs of the walk: ``raw.MatterTitle``."""
    parts = []
    while isinstance(path, tuple):
        path, key = path
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key:.40}")
    return str(path) + "".join(reversed(parts))


def _attachments(b: _Boundary, rows: list[NormalizedAttachment], prefix: str) -> None:
    for i, a in enumerate(rows):
        here = f"{prefix}[{i}]."
        b.fields(a, ATTACHMENT_LIMITS, here, {"source_id"})
        a.sequence = b.integer(a.sequence, here + "sequence")


MEETING_LIMITS: dict[str, tuple[str, int]] = {
    "source_id": ("key", 64),
    "body_name": ("text", 300),
    "time_zone": ("key", 64),
    "location": ("text", TEXT_LIMIT),
    "agenda_url": ("url", URL_LIMIT),
    "minutes_url": ("url", URL_LIMIT),
    "public_url": ("url", URL_LIMIT),
    "comment_instructions": ("text", TEXT_LIMIT),
}
MEETING_ITEM_LIMITS: dict[str, tuple[str, int]] = {
    "source_id": ("key", 64),
    "title": ("text", TEXT_LIMIT),
    "bill_source_id": ("key", 64),
    "identifier": ("key", 100),
    "action": ("text", 200),
    "result": ("text", 100),
    "tally": ("text", 100),
    "agenda_note": ("text", TEXT_LIMIT),
    "minutes_note": ("text", TEXT_LIMIT),
}
VOTE_LIMITS: dict[str, tuple[str, int]] = {
    "member": ("text", 300),
    "vote": ("key", 16),
    "text": ("text", 100),
}
TERM_LIMITS: dict[str, tuple[str, int]] = {"body_name": ("text", 300), "title": ("text", 200)}


def _meeting(b: _Boundary, meeting: NormalizedMeeting) -> None:
    from tracker.contract import VOTE_VALUES

    b.fields(meeting, MEETING_LIMITS, "", {"source_id", "time_zone"})
    meeting.starts_at = b.instant(meeting.starts_at, "starts_at")
    meeting.local_date = b.day(meeting.local_date, "local_date")
    meeting.cancelled = b.flag(meeting.cancelled, "cancelled")
    meeting.items_complete = b.flag(meeting.items_complete, "items_complete")
    meeting.timed = b.flag(meeting.timed, "timed")
    seen: set[str] = set()
    items = []
    for i, item in enumerate(b.rows(meeting.items, "items")):
        here = f"items[{i}]."
        b.fields(item, MEETING_ITEM_LIMITS, here, {"source_id"})
        item.sequence = b.integer(item.sequence, here + "sequence")
        if item.source_id in seen:  # a portal's duplicate row: the first one is kept
            b.cut(here + "source_id", "a duplicate item dropped")
            continue
        seen.add(item.source_id)
        votes = []
        voters: set[str] = set()
        for k, vote in enumerate(b.rows(item.votes, here + "votes")):
            where = f"{here}votes[{k}]."
            b.fields(vote, VOTE_LIMITS, where, {"vote"})
            if vote.vote not in VOTE_VALUES:
                raise DataError(f"{b.where}: {where}vote: {vote.vote!r:.30} is not a vote")
            if vote.member is None or not vote.member.strip() or vote.member in voters:
                b.cut(where + "member", "a vote without a member, or a member's second vote, dropped")
                continue
            voters.add(vote.member)
            votes.append(vote)
        if len(votes) != len(item.votes):
            item.votes = votes
        items.append(item)
    if len(items) != len(meeting.items):
        meeting.items = items
    meeting.raw = b.raw(meeting.raw, "raw")


def _member(b: _Boundary, member: NormalizedMember) -> None:
    member.name = b.text(member.name, "name", "text", 300, required=True)
    member.source_id = b.text(member.source_id, "source_id", "key", 64)
    for i, term in enumerate(b.rows(member.terms, "terms")):
        here = f"terms[{i}]."
        b.fields(term, TERM_LIMITS, here, {"body_name"})
        term.start = b.day(term.start, here + "start")
        term.end = b.day(term.end, here + "end")


def sanitize_record(
    record: NormalizedBill | AttachmentsUpdate | NormalizedMeeting | NormalizedMember, where: str
) -> Outcome:
    """Make a staged record safe in place (see the module's docstring), or raise
    :class:`~tracker.errors.DataError` naming ``where`` and the field when it cannot be.

    The bill's ``raw`` records each cut's original length under ``_tracker_cut``."""
    from tracker.contract import AttachmentsUpdate, NormalizedMeeting, NormalizedMember

    b = _Boundary(where)
    if isinstance(record, NormalizedMeeting):
        _meeting(b, record)
        return b.out
    if isinstance(record, NormalizedMember):
        _member(b, record)
        return b.out
    if isinstance(record, AttachmentsUpdate):
        record.source_id = b.text(record.source_id, "source_id", "key", 64, required=True)
        _attachments(b, b.rows(record.attachments, "attachments"), "attachments")
        return b.out
    bill = record
    b.fields(bill, BILL_LIMITS, "", {"source_id", "stage"})
    for name in BILL_DATES:
        setattr(bill, name, b.day(getattr(bill, name), name))
    for name in BILL_TIMES:
        setattr(bill, name, b.instant(getattr(bill, name), name))
    for i, a in enumerate(b.rows(bill.actions, "actions")):
        here = f"actions[{i}]."
        b.fields(a, ACTION_LIMITS, here, {"source_id", "classification"})
        a.sequence = b.integer(a.sequence, here + "sequence")
        a.action_date = b.day(a.action_date, here + "action_date")
        a.acted_at = b.instant(a.acted_at, here + "acted_at")
        a.raw = b.raw(a.raw, here + "raw")
    listed = b.optional_rows(bill.sponsors, "sponsors")  # None: not fetched (the sponsors backlog)
    if listed is not None:
        sponsors = []
        for i, s in enumerate(listed):
            here = f"sponsors[{i}]."
            b.fields(s, SPONSOR_LIMITS, here, set())
            s.sequence = b.integer(s.sequence, here + "sequence")
            s.is_primary = b.flag(s.is_primary, here + "is_primary")
            if s.name is None or not s.name.strip():  # nothing but removed characters: not a name
                b.cut(here + "name", "an empty name dropped")
                continue
            sponsors.append(s)
        if len(sponsors) != len(listed):
            bill.sponsors = sponsors
    attachments = b.optional_rows(bill.attachments, "attachments")
    if attachments is not None:
        _attachments(b, attachments, "attachments")
    bill.actions_complete = b.flag(bill.actions_complete, "actions_complete")
    alternates = []
    for i, value in enumerate(b.rows(bill.alternate_identifiers, "alternate_identifiers")):
        alternates.append(b.text(value, f"alternate_identifiers[{i}]", "key", 100, required=True))
    bill.alternate_identifiers = alternates
    bill.raw = b.raw(bill.raw, "raw")
    if b.lengths:
        bill.raw = {**bill.raw, CUT_KEY: dict(b.lengths)}
    return b.out
