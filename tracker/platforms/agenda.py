"""What agenda platforms (PrimeGov, CivicClerk) share: their settings, and agenda items → bills.

An agenda platform shows meetings and the items on their agendas, not bills with a status. The tracker reads
the meetings in a window (``lookback_days`` back from today, and what the portal lists as upcoming) and turns
each item it sees on an agenda into an :class:`Appearance`. Appearances are grouped into bills:

- an item with a file, resolution or ordinance number is the bill of that number: its source id is the
  normalized number (:func:`tracker.contract.identifier_key`, so ``CF 21-0745`` and ``cf 21 - 0745`` are one
  bill), whatever meeting it appears at;
- an item without a number gets a stable key, ``item:`` and a hash of its normalized title and type, so the
  same untitled-number item ("Consent calendar", "Public comment on items not on the agenda") seen at two
  crawls is one bill, not two. Its limit: two different items with the same title and type are one bill
  (every meeting's "Approval of the minutes" is one bill with one action per meeting), and an item whose
  title is edited becomes a new bill.

Each appearance becomes one action of its bill (date = the meeting's local date, body = the meeting's name,
description = the recorded outcome, or ``On agenda`` when none is recorded yet). The bill's status is the
outcome of its latest appearance in the window, so the status log says "seen on an agenda with outcome X",
never more. The crawl sees only the window: ``actions_complete`` is False, so the import keeps the actions of
meetings that left the window.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, TypeVar, overload
from zoneinfo import ZoneInfo

from pydantic import Field

from tracker.contract import (
    NormalizedAction,
    NormalizedAttachment,
    NormalizedBill,
    NormalizedMeeting,
    NormalizedMeetingItem,
    NormalizedVote,
    identifier_key,
)
from tracker.errors import DataError, LayoutChanged
from tracker.platforms.base import JurisdictionConfig
from tracker.safe_output import ascii_digits
from tracker.stages import classify_action, stage_for

#: The status of an item seen on an agenda whose outcome is not recorded (yet).
ON_AGENDA = "On agenda"

# Column sizes of the tables the values end up in (db/models.py): scraped text is clipped to them.
_STATUS_MAX = 200
_BODY_MAX = 300
_TYPE_MAX = 200
_RESULT_MAX = 100
_TALLY_MAX = 100
# A file number is a bill's source id (64 characters) and identifier (100): longer ones are not numbers.
FILE_NUMBER_MAX = 60

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A problem names its record briefly, whatever a portal put in an id or an exception's message.
_NAME_CHARS = 24
_MESSAGE_CHARS = 300


class AgendaSettings(JurisdictionConfig):
    """Settings every agenda platform has (each platform's ``Settings`` adds its own)."""

    # How far back meetings are read (outcomes of older meetings are not seen; their actions stay stored).
    lookback_days: int = Field(365, ge=1, le=3650)


def clip(value: str | None, size: int) -> str | None:
    if value is None or len(value) <= size:
        return value
    return value[: size - 1].rstrip() + "…"


def short(value: object, size: int = _NAME_CHARS) -> str:
    """A portal's value, for naming a record in a problem: cut to ``size`` characters."""
    text = str(value)
    return text if len(text) <= size else text[: size - 1] + "…"


def read_one(problems: list[str], where: str, read: Callable[[], T]) -> T | None:
    """Read one record (an agenda item) with ``read()``; None when it is rejected.

    A :class:`LayoutChanged` propagates (the page is not in the layout read: the city fails). A
    :class:`DataError`, or any other exception (a parser meeting a field it was not written for: a number
    where text is expected, an id ``int()`` cannot read), rejects this record alone: ``where`` and the
    reason are added to ``problems`` and the caller goes on with the next record."""
    try:
        return read()
    except LayoutChanged:
        raise
    except DataError as exc:
        problems.append(f"{where}: {short(exc, _MESSAGE_CHARS)}")
    except Exception as exc:
        reason = short(f"{type(exc).__name__}: {exc}", _MESSAGE_CHARS)
        problems.append(f"{where}: could not be read ({reason})")
        logger.debug("%s: the parser's error", where, exc_info=True)  # for a developer, with -v
    return None


def local_instant(naive: datetime, zone: ZoneInfo) -> datetime:
    """A portal's local wall-clock time (no offset) as a UTC instant."""
    return naive.replace(tzinfo=zone).astimezone(UTC)


@overload
def int_field(row: dict[str, Any], key: str, where: str, *, optional: Literal[False] = False) -> int: ...
@overload
def int_field(row: dict[str, Any], key: str, where: str, *, optional: bool) -> int | None: ...
def int_field(row: dict[str, Any], key: str, where: str, *, optional: bool = False) -> int | None:
    """An integer field of a portal's JSON row (not a bool); None when absent and ``optional``."""
    value = row.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{where}: missing or invalid {key} ({value!r})")
    return value


_KEY_PUNCT = re.compile(r"[^\w\s]")


def item_key(number: str | None, title: str | None, type_name: str | None) -> str:
    """The bill's source id of an agenda item: its normalized file number, else a stable ``item:`` key."""

    key = identifier_key(number)
    if key:
        return key
    words = " ".join(_KEY_PUNCT.sub(" ", f"{title or ''}").lower().split())
    kind = " ".join((type_name or "").lower().split())
    return "item:" + hashlib.sha256(f"{words}\x1f{kind}".encode()).hexdigest()[:24]


@dataclass
class Appearance:
    """One item on one meeting's agenda, as the portal showed it."""

    meeting_id: str
    item_id: str
    # position of the item on its agenda (0-based), to order two appearances at one meeting
    position: int
    meeting_date: date
    # the meeting's start as a UTC instant, when the portal gives a time
    meeting_at: datetime | None
    body: str | None  # the meeting's name ("City Council Regular Meeting", a committee...)
    number: str | None  # the file, resolution or ordinance number as shown
    title: str | None
    type_name: str | None
    # the recorded outcome ("Adopted", "Continued"...), None when the agenda records none (yet)
    outcome: str | None
    result: str | None = None  # "Pass" / "Fail" when the portal says so
    tally: str | None = None
    text: str | None = None  # the portal's own wording of the action (motions, vote counts)
    public_url: str | None = None
    source_url: str | None = None
    attachments: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # (id, name, url)
    raw: dict[str, Any] = field(default_factory=dict)
    # the roll call of the recorded outcome, when the portal names each member's vote
    votes: list[NormalizedVote] = field(default_factory=list)

    @property
    def key(self) -> str:
        return item_key(self.number, self.title, self.type_name)

    @property
    def status(self) -> str:
        return clip(self.outcome, _STATUS_MAX) or ON_AGENDA

    def order(self) -> tuple[Any, ...]:
        return (*meeting_order(self.meeting_id, self.meeting_date, self.meeting_at), self.position)

    def check(self) -> None:
        """Compute what :func:`build_bills` will (the key, the order, the sequence), so that a spider reading
        one item can reject that item alone when a field defeats them, before it joins the city's bills."""
        _ = (self.key, self.order(), _sequence(self, 0))  # computed for their exceptions


def meeting_order(meeting_id: str, day: date, at: datetime | None) -> tuple[Any, ...]:
    """Where a meeting's items sort among the appearances (:meth:`Appearance.order` without the item's
    position): by day, start, then id."""
    mid = int(meeting_id) if ascii_digits(meeting_id) else 0
    return (day, at.timestamp() if at else 0.0, mid, meeting_id)


def kept_as_stored(
    appearances: Iterable[Appearance],
    unread: Mapping[str, tuple[Any, ...]],
    stored: Container[str],
    stored_actions: Mapping[str, Iterable[str]],
) -> set[str]:
    """The bills a crawl must not stage because an agenda it could not read may hold them: their stored
    record stands (the importer keeps a bill it is not given) until a crawl reads every agenda again.

    ``unread``: the meetings whose agenda request failed for good, with their :func:`meeting_order`. A bill
    stored (in ``stored``) is kept when one of its stored actions (``stored_actions``: source ids
    ``meeting:item``) is at an unread meeting: its status, title and attachments may come from that agenda.
    Any other bill (a new one, or any bill of a crawl not given the stored actions: a full crawl) is kept when
    an unread meeting comes after its latest appearance read, since its status could come from that agenda;
    staged anyway, it would be written with an older outcome than the one the portal shows."""
    if not unread:
        return set()
    last_unread = max(unread.values())
    latest: dict[str, tuple[Any, ...]] = {}
    for a in appearances:
        key, order = a.key, a.order()[:-1]
        if key not in latest or order > latest[key]:
            latest[key] = order
    held = set()
    for key, order in latest.items():
        if key in stored:
            if any(action.split(":", 1)[0] in unread for action in stored_actions.get(key, ())):
                held.add(key)
        elif order < last_unread:
            held.add(key)
    return held


def _sequence(appearance: Appearance, rank: int) -> int:
    """An action's sequence that orders actions across crawls: meetings that left the window keep their
    stored actions, and the sequences of new ones sort after them (a day's ordinal times 1000, plus its
    rank that day)."""
    return appearance.meeting_date.toordinal() * 1000 + min(rank, 999)


def build_bills(
    appearances: Iterable[Appearance],
    platform: str,
    stage_overrides: Mapping[str, str] | None = None,
    problems: list[str] | None = None,
) -> list[NormalizedBill]:
    """Group appearances into one bill per key, oldest appearance first, each appearance one action.

    With ``problems``, a bill that cannot be built (an exception on one of its appearances' fields) is
    left out and named there, and the other bills are built; without it, the exception propagates."""
    by_key: dict[str, list[Appearance]] = {}
    for a in appearances:
        by_key.setdefault(a.key, []).append(a)
    bills = []
    for key, group in by_key.items():
        try:
            bills.append(_build_bill(key, group, platform, stage_overrides))
        except Exception as exc:
            if problems is None:
                raise
            reason = f"{type(exc).__name__}: {exc}"
            problems.append(f"bill {key[:64]}: could not be built ({reason[:300]})")
    bills.sort(key=lambda b: b.source_id)
    return bills


def _build_bill(
    key: str, group: list[Appearance], platform: str, stage_overrides: Mapping[str, str] | None
) -> NormalizedBill:
    """The bill of one key (see :func:`build_bills`)."""
    group.sort(key=Appearance.order)
    actions = []
    ranks: dict[date, int] = {}
    seen_ids: set[str] = set()
    for a in group:
        action_id = f"{a.meeting_id}:{a.item_id}"
        if action_id in seen_ids:
            continue  # the same item listed twice by one page: one action
        seen_ids.add(action_id)
        rank = ranks.get(a.meeting_date, 0)
        ranks[a.meeting_date] = rank + 1
        description = a.status
        actions.append(
            NormalizedAction(
                source_id=action_id,
                sequence=_sequence(a, rank),
                action_date=a.meeting_date,
                acted_at=a.meeting_at,
                description=description,
                text=a.text,
                body_name=clip(a.body, _BODY_MAX),
                result=clip(a.result, _RESULT_MAX),
                tally=clip(a.tally, _TALLY_MAX),
                classification=classify_action(None if a.outcome is None else description, a.text),
                # the action that set the bill's status is the latest one (see status_source_id below)
                status_source_id=action_id,
                event_source_id=a.meeting_id,
                raw=a.raw,
            )
        )
    latest = group[-1]
    attachments: list[NormalizedAttachment] = []
    taken: set[str] = set()
    for a in group:
        for source_id, name, url in a.attachments:
            if source_id in taken:
                continue
            taken.add(source_id)
            attachments.append(
                NormalizedAttachment(source_id=source_id, sequence=len(attachments), name=name, url=url)
            )
    status = latest.status
    return NormalizedBill(
        source_id=key,
        identifier=latest.number if not key.startswith("item:") else None,
        title=latest.title,
        name=None,
        type_name=clip(latest.type_name, _TYPE_MAX),
        status=status,
        status_source_id=actions[-1].source_id,
        stage=stage_for(status, stage_overrides),
        body_name=clip(latest.body, _BODY_MAX),
        version=None,
        introduced=None,
        agenda_date=latest.meeting_date,
        passed_date=None,
        enacted_date=None,
        enactment_number=None,
        source_url=latest.source_url,
        public_url=latest.public_url,
        portal_modified_at=None,
        portal_row_version=None,
        raw={"platform": platform, "appearances": len(group), **latest.raw},
        actions=actions,
        sponsors=[],
        attachments=attachments,
        actions_complete=False,
    )


# -- meetings ------------------------------------------------------------------------------------------------

_CANCEL = re.compile(r"\bcancel", re.I)


def says_cancelled(*texts: str | None) -> bool:
    """Whether any of a meeting's texts (its title, a notice, a document's name) says it is cancelled
    ("Cancelled", "CANCELED", "Notice of Cancellation")."""
    return any(t and _CANCEL.search(t) for t in texts)


def meeting_start(day: date, start: datetime | None, zone: ZoneInfo) -> datetime:
    """A meeting's start as a UTC instant: its local wall-clock start, or local midnight of its day when the
    portal gives no time."""
    return local_instant(start if start is not None else datetime.combine(day, time()), zone)


def local_window(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants from local midnight of ``first`` to local midnight after ``last``."""
    begin = local_instant(datetime.combine(first, time()), zone)
    end = local_instant(datetime.combine(last + timedelta(days=1), time()), zone)
    return begin, end


def meeting_item(a: Appearance) -> NormalizedMeetingItem:
    """One appearance as an item of its meeting: it points at the bill it became (the same key)."""
    return NormalizedMeetingItem(
        source_id=a.item_id,
        sequence=a.position,
        title=a.title,
        bill_source_id=a.key,
        identifier=a.number if identifier_key(a.number) else None,
        action=a.outcome,
        result=clip(a.result, _RESULT_MAX),
        tally=clip(a.tally, _TALLY_MAX),
        minutes_note=a.text,
        votes=list(a.votes),
    )


def build_meetings(
    meetings: Mapping[str, NormalizedMeeting], appearances: Iterable[Appearance], incomplete: set[str]
) -> list[NormalizedMeeting]:
    """The listed meetings with the items read on their agendas (each item once, in agenda order).

    ``meetings`` come from the listing with ``items_complete`` True when their agenda was read, False when
    none was (a cancellation notice, PDFs only); a meeting in ``incomplete`` had an item rejected, so its
    list of items is not the whole agenda. A page read without a single item (an agenda not filled in yet,
    or a layout that hides its items) takes no stored item off either."""
    items: dict[str, dict[str, NormalizedMeetingItem]] = {}
    for a in sorted(appearances, key=lambda x: x.position):
        items.setdefault(a.meeting_id, {}).setdefault(a.item_id, meeting_item(a))
    out = []
    for source_id, record in meetings.items():
        record.items = list(items.get(source_id, {}).values())
        record.items_complete = record.items_complete and source_id not in incomplete and bool(record.items)
        out.append(record)
    out.sort(key=lambda m: (m.starts_at or datetime.max.replace(tzinfo=UTC), m.source_id))
    return out
