"""The demo portal's data: Legistar clients whose matters follow fixed timelines, seen through a clock.

A :class:`Portal` holds several :class:`ClientData` (one per Legistar client name, e.g. ``"riverton"``) and a
clock, ``portal.now``. Every matter carries a timeline of :class:`Change` objects, each visible from an
instant ``at`` on: the first change creates the matter (on its intro date), the others add a history row,
set a status or edit matter fields. What the API shows is the state at the clock:

* a matter is listed once its creating change is visible (and it is not hidden);
* its histories are the history rows of its visible changes;
* ``MatterStatusId``/``MatterStatusName`` come from its latest visible change that sets a status;
* ``MatterRowVersion`` is the row version of its latest visible change that touches the matter row, and
  ``MatterLastModifiedUtc`` the time of its latest visible change that *bumps* it. Legistar does not always
  bump the stamp (the samples README, "Incremental scraping"): matters with ``stale_last_modified`` get
  their status changes without a new ``MatterLastModifiedUtc``, though their row version still moves.

A history row appears when the clerk records it, at ``Change.at``: a few hours after the meeting or action it
describes (``MatterHistoryActionDate``, a local date). Moving the clock (``set_clock``/``advance``) is all it
takes to make the timeline unfold; the mutation methods of :class:`ClientData` add changes *at the clock* for
tests. All reads and writes hold ``portal.lock``; the rows handed out are shared and must not be mutated.
"""

from __future__ import annotations

import random
import threading
from bisect import bisect_right, insort
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.demo import events as meetings
from tracker.demo import odata
from tracker.demo.wire import (
    BODY,
    MATTER,
    MATTER_ATTACHMENT,
    MATTER_HISTORY,
    MATTER_SPONSOR,
    MATTER_STATUS,
    MATTER_TYPE,
    PERSON,
    format_local,
    format_utc,
    from_ts,
    guid,
    rowversion,
    stable_uuid,
    to_ts,
)
from tracker.safe_output import ascii_digits

Row = dict[str, Any]
_V = TypeVar("_V")
FieldValues = tuple[tuple[str, Any], ...]

# Standard-time offsets, used only when the system has no time zone database.
_FALLBACK_OFFSETS = {
    "America/New_York": -5,
    "America/Chicago": -6,
    "America/Denver": -7,
    "America/Phoenix": -7,
    "America/Los_Angeles": -8,
}


def zone(name: str) -> tzinfo:
    """The IANA zone ``name``; a fixed standard-time offset where no tz database is installed."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return timezone(timedelta(hours=_FALLBACK_OFFSETS.get(name, 0)), name)


# --------------------------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True, slots=True)
class Body:
    """A legislative body: the council, a committee, or an office such as the Mayor's."""

    id: int
    name: str
    type_id: int
    type_name: str
    members: int = 0
    meets: bool = True
    sort: int = 0


@dataclass(frozen=True, slots=True)
class Status:
    """A matter status of one client's vocabulary (e.g. "In Committee", "Signed by Mayor")."""

    id: int
    name: str
    sort: int = 0


@dataclass(frozen=True, slots=True)
class MatterType:
    """A matter type (e.g. "Ordinance", "Resolution", "Council Bill")."""

    id: int
    name: str
    sort: int = 0


@dataclass(frozen=True, slots=True)
class Action:
    """A history action (e.g. "Introduced and Referred", "Recommended to Pass", "Passed")."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Person:
    """A council member, mayor or clerk (sponsors, movers, seconders)."""

    id: int
    first: str
    last: str

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


# --------------------------------------------------------------------------------------------- timeline


@dataclass(slots=True)
class History:
    """One MatterHistory row."""

    id: int
    action_date: datetime  # local wall-clock time, naive
    action: Action
    body: Body
    text: str | None = None
    event_id: int | None = None
    agenda_sequence: int | None = None
    minutes_sequence: int | None = None
    passed: bool | None = None
    roll_call: bool | None = None
    tally: str | None = None
    consent: int = 0
    mover: Person | None = None
    seconder: Person | None = None
    status: Status | None = None
    version: str = "1"
    votes: tuple[tuple[Person, str], ...] = ()  # the roll call of a roll-call vote: (member, VoteValueName)


@dataclass(slots=True)
class Change:
    """Something that happens to a matter at ``at`` (UTC epoch seconds) and is visible from then on."""

    at: float
    history: History | None = None
    status: Status | None = None
    fields: FieldValues = ()  # matter fields set by this change, as wire values
    bumps: bool = True  # whether MatterLastModifiedUtc moves
    rowversion: int = 0

    @property
    def touches_matter(self) -> bool:
        """Whether the matter row itself changes (a bare history row leaves it alone)."""
        return self.status is not None or bool(self.fields)


@dataclass(slots=True)
class Attachment:
    """A MatterAttachment (a PDF on ``{client}.legistar1.com``, or on the demo server itself when the
    portal's ``document_base`` is set), visible from ``at``. ``paragraphs``: the PDF's text (demo data);
    without them the PDF says only which file it belongs to."""

    id: int
    name: str
    at: float
    sort: int = 0
    supporting: bool = False
    matter_version: str = "0"
    rowversion: int = 0
    paragraphs: tuple[str, ...] = ()


@dataclass(slots=True)
class Matter:
    """A matter and its timeline; ``changes[0]`` creates it. ``label`` is demo ground truth, never served."""

    id: int
    file: str
    title: str
    type: MatterType
    body: Body
    intro: datetime  # local midnight
    changes: list[Change]
    name: str | None = None
    sponsors: tuple[Person, ...] = ()
    attachments: list[Attachment] = field(default_factory=list)
    static: FieldValues = ()  # other fields fixed at creation (MatterRequester, MatterCost, ...)
    stale_last_modified: bool = False
    restricted: bool = False
    hidden_at: float | None = None
    label: str | None = None

    @property
    def created_at(self) -> float:
        return self.changes[0].at


def _at(change: Change) -> float:
    return change.at


# --------------------------------------------------------------------------------------------- snapshot


@dataclass
class _Snapshot:
    """The matters visible at one clock reading and client version, with a small query cache."""

    now: float
    version: int
    rows: list[Row]
    by_id: dict[int, Row]
    queries: OrderedDict[tuple[object, ...], list[Row]] = field(default_factory=OrderedDict)


_QUERY_CACHE_SIZE = 64


# --------------------------------------------------------------------------------------------- client


class ClientData:
    """One Legistar client (a council): vocabularies, people, bodies and matters.

    Vocabulary helpers (:meth:`body`, :meth:`status`, :meth:`matter_type`, :meth:`action`, :meth:`person`)
    get or create by name. Generators add matters with :meth:`add_generated_matter` and call
    :meth:`finalize` once; tests mutate through :meth:`set_status`, :meth:`add_history`,
    :meth:`add_matter`, :meth:`remove_matter`, :meth:`restore_matter` and :meth:`touch_fraction`, which act
    at the portal's clock.
    """

    def __init__(
        self,
        name: str,
        display_name: str,
        timezone: str = "America/Chicago",
        *,
        seed: object = 0,
        since: datetime | None = None,
    ) -> None:
        self.name = name.lower()
        self.display_name = display_name
        self.timezone = timezone
        self.tz = zone(timezone)
        self.portal: Portal | None = None
        self.rng = random.Random(f"{seed}/{self.name}/mutations")
        self.since = to_ts(since or datetime(2019, 6, 3, 14, 12, 9, tzinfo=UTC))  # vocabulary stamps
        self.bodies: dict[int, Body] = {}
        self.statuses: dict[int, Status] = {}
        self.types: dict[int, MatterType] = {}
        self.actions: dict[int, Action] = {}
        self.persons: dict[int, Person] = {}
        self.matters: dict[int, Matter] = {}
        self.action_for_status: dict[str, str] = {}  # status name -> action that usually sets it
        self.initial_status: str = "Introduced"
        self.council: Body | None = None
        self.file_format = "{year}-{seq:04d}"
        self._ids = {"body": 100, "status": 50, "type": 10, "action": 300, "person": 1000}
        self._next_matter_id = 1000
        self._next_history_id = 100000
        self._next_attachment_id = 10000
        self._rowversion = 0x02400000
        self._version = 0
        self._snapshot: _Snapshot | None = None
        self._row_cache: dict[int, tuple[int, Row]] = {}
        # meetings (tracker.demo.events): events by EventId, agenda items by EventItemId, seats on bodies
        self.events: dict[int, meetings.Event] = {}
        self.office_records: list[meetings.OfficeRecord] = []
        self._items: dict[int, tuple[meetings.Event, meetings.EventItem]] = {}
        self._next_event_item_id = 0

    def __repr__(self) -> str:
        return f"<ClientData {self.name!r}: {len(self.matters)} matters>"

    # ---------------------------------------------------------------- vocabulary

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def body(self, name: str, type_name: str = "Committee", *, members: int = 5, meets: bool = True) -> Body:
        """The body called ``name``, created if new."""
        for body in self.bodies.values():
            if body.name == name:
                return body
        type_id = {"Primary Legislative Body": 40, "Committee": 42, "Office": 44}.get(type_name, 46)
        body = Body(self._next("body"), name, type_id, type_name, members, meets, sort=len(self.bodies) + 1)
        self.bodies[body.id] = body
        return body

    def status(self, name: str) -> Status:
        """The status called ``name``, created if new."""
        for status in self.statuses.values():
            if status.name == name:
                return status
        status = Status(self._next("status"), name, sort=len(self.statuses) + 1)
        self.statuses[status.id] = status
        return status

    def matter_type(self, name: str) -> MatterType:
        """The matter type called ``name``, created if new."""
        for matter_type in self.types.values():
            if matter_type.name == name:
                return matter_type
        matter_type = MatterType(self._next("type"), name, sort=len(self.types) + 1)
        self.types[matter_type.id] = matter_type
        return matter_type

    def action(self, name: str) -> Action:
        """The action called ``name``, created if new."""
        for action in self.actions.values():
            if action.name == name:
                return action
        action = Action(self._next("action"), name)
        self.actions[action.id] = action
        return action

    def person(self, full_name: str) -> Person:
        """The person called ``full_name`` ("First Last"), created if new."""
        for person in self.persons.values():
            if person.full == full_name:
                return person
        first, _, last = full_name.rpartition(" ")
        person = Person(self._next("person"), first or last, last if first else "")
        self.persons[person.id] = person
        return person

    def allocate_matter_id(self) -> int:
        self._next_matter_id += 1
        return self._next_matter_id

    def allocate_history_id(self) -> int:
        self._next_history_id += 1
        return self._next_history_id

    def allocate_attachment_id(self) -> int:
        self._next_attachment_id += 1
        return self._next_attachment_id

    def set_id_bases(self, *, matter: int, history: int, attachment: int, rowversion_base: int) -> None:
        """Where the id counters start (before any matter is added), so clients look distinct."""
        self._next_matter_id, self._next_history_id, self._next_attachment_id = matter, history, attachment
        self._rowversion = rowversion_base

    # ---------------------------------------------------------------- building

    def add_generated_matter(self, matter: Matter) -> None:
        """Add a matter built by a generator (ids already allocated). Call :meth:`finalize` afterwards."""
        self.matters[matter.id] = matter

    def finalize(self) -> None:
        """Sort every timeline and assign row versions in chronological order, as SQL Server would."""
        stamped: list[tuple[float, int, Change | Attachment]] = []
        for matter in self.matters.values():
            matter.changes.sort(key=_at)
            stamped.extend((change.at, matter.id, change) for change in matter.changes)
            stamped.extend((att.at, matter.id, att) for att in matter.attachments)
        stamped.sort(key=lambda item: (item[0], item[1]))
        for _, _, obj in stamped:
            self._rowversion += 1
            obj.rowversion = self._rowversion
        self._invalidate()

    def _invalidate(self) -> None:
        self._version += 1
        self._snapshot = None

    # ---------------------------------------------------------------- clock helpers

    def _portal(self) -> Portal:
        if self.portal is None:
            raise RuntimeError(f"client {self.name!r} is not part of a portal (no clock)")
        return self.portal

    def local(self, ts: float) -> datetime:
        """The client's local wall-clock time (naive) at UTC epoch seconds ``ts``."""
        return datetime.fromtimestamp(ts, self.tz).replace(tzinfo=None)

    def utc_ts(self, local: datetime) -> float:
        """UTC epoch seconds of a naive local wall-clock time."""
        return local.replace(tzinfo=self.tz).timestamp()

    # ---------------------------------------------------------------- views at the clock

    def _visible_count(self, matter: Matter, now: float) -> int:
        if matter.hidden_at is not None and matter.hidden_at <= now:
            return 0
        return bisect_right(matter.changes, now, key=_at)

    def _matter_row(self, matter: Matter, k: int) -> Row:
        cached = self._row_cache.get(matter.id)
        if cached is not None and cached[0] == k:
            return cached[1]
        row = MATTER.blank()
        row["MatterId"] = matter.id
        row["MatterGuid"] = guid(self.name, "matter", matter.id)
        row["MatterFile"] = matter.file
        row["MatterName"] = matter.name
        row["MatterTitle"] = matter.title
        row["MatterTypeId"] = matter.type.id
        row["MatterTypeName"] = matter.type.name
        row["MatterBodyId"] = matter.body.id
        row["MatterBodyName"] = matter.body.name
        row["MatterIntroDate"] = format_local(matter.intro)
        row["MatterVersion"] = "1"
        row["MatterAgiloftId"] = 0
        row["MatterRestrictViewViaWeb"] = matter.restricted
        row["MatterReports"] = []
        for key, value in matter.static:
            row[key] = value
        status: Status | None = None
        last_modified = matter.created_at
        last_touch: Change = matter.changes[0]
        for change in matter.changes[:k]:
            if not change.touches_matter:
                continue
            if change.status is not None:
                status = change.status
            for key, value in change.fields:
                row[key] = value
            if change.bumps:
                last_modified = max(last_modified, change.at)
            last_touch = change
        if status is not None:
            row["MatterStatusId"] = status.id
            row["MatterStatusName"] = status.name
        row["MatterLastModifiedUtc"] = format_utc(last_modified)
        row["MatterRowVersion"] = rowversion(last_touch.rowversion)
        self._row_cache[matter.id] = (k, row)
        return row

    def snapshot(self) -> _Snapshot:
        """The matters visible now (built once per clock reading and client version)."""
        portal = self._portal()
        with portal.lock:
            now = portal.now_ts
            snap = self._snapshot
            if snap is not None and snap.now == now and snap.version == self._version:
                return snap
            rows: list[Row] = []
            for matter_id in sorted(self.matters):
                matter = self.matters[matter_id]
                k = self._visible_count(matter, now)
                if k:
                    rows.append(self._matter_row(matter, k))
            snap = _Snapshot(now, self._version, rows, {row["MatterId"]: row for row in rows})
            self._snapshot = snap
            return snap

    def matter_rows(self) -> list[Row]:
        """Every visible matter as the API shows it, by MatterId."""
        return self.snapshot().rows

    def matter_row(self, matter_id: int) -> Row | None:
        """One visible matter as ``/matters/{id}`` shows it, or None."""
        return self.snapshot().by_id.get(matter_id)

    def query_matters(
        self, options: odata.QueryOptions, max_nodes: int = odata.DEFAULT_MAX_NODES
    ) -> list[Row]:
        """Visible matters filtered and sorted per ``options`` (unpaged; cached per snapshot)."""
        snap = self.snapshot()
        key = (*options.cache_key, max_nodes)
        with self._portal().lock:
            hit = snap.queries.get(key)
            if hit is not None:
                snap.queries.move_to_end(key)
                return hit
        result = odata.filter_and_sort(snap.rows, MATTER, options, max_nodes)
        with self._portal().lock:
            snap.queries[key] = result
            while len(snap.queries) > _QUERY_CACHE_SIZE:
                snap.queries.popitem(last=False)
        return result

    def _visible_matter(self, matter_id: int) -> tuple[Matter, int] | None:
        matter = self.matters.get(matter_id)
        if matter is None:
            return None
        k = self._visible_count(matter, self._portal().now_ts)
        return (matter, k) if k else None

    def history_rows(self, matter_id: int) -> list[Row]:
        """``/matters/{id}/histories``: the visible history rows, by id ([] for an unknown matter)."""
        with self._portal().lock:
            found = self._visible_matter(matter_id)
            if found is None:
                return []
            matter, k = found
            changes = [c for c in matter.changes[:k] if c.history is not None]
        rows = [self._history_row(c, c.history) for c in changes if c.history is not None]
        rows.sort(key=lambda row: row["MatterHistoryId"])
        return rows

    def _history_row(self, change: Change, history: History) -> Row:
        row = MATTER_HISTORY.blank()
        row["MatterHistoryId"] = history.id
        row["MatterHistoryGuid"] = guid(self.name, "history", history.id)
        row["MatterHistoryLastModifiedUtc"] = format_utc(change.at)
        row["MatterHistoryRowVersion"] = rowversion(change.rowversion)
        row["MatterHistoryEventId"] = history.event_id
        row["MatterHistoryAgendaSequence"] = history.agenda_sequence
        row["MatterHistoryMinutesSequence"] = history.minutes_sequence
        if history.agenda_sequence is not None:
            row["MatterHistoryAgendaNumber"] = str(history.agenda_sequence)
        row["MatterHistoryVersion"] = history.version
        row["MatterHistoryActionDate"] = format_local(history.action_date)
        row["MatterHistoryActionId"] = history.action.id
        row["MatterHistoryActionName"] = history.action.name
        row["MatterHistoryActionText"] = history.text
        row["MatterHistoryActionBodyId"] = history.body.id
        row["MatterHistoryActionBodyName"] = history.body.name
        if history.passed is not None:
            row["MatterHistoryPassedFlag"] = int(history.passed)
            row["MatterHistoryPassedFlagName"] = "Pass" if history.passed else "Fail"
        if history.roll_call is not None:
            row["MatterHistoryRollCallFlag"] = int(history.roll_call)
            row["MatterHistoryFlagExtra"] = 0
        row["MatterHistoryTally"] = history.tally
        row["MatterHistoryConsent"] = history.consent
        if history.mover is not None:
            row["MatterHistoryMoverId"] = history.mover.id
            row["MatterHistoryMoverName"] = history.mover.full
        if history.seconder is not None:
            row["MatterHistorySeconderId"] = history.seconder.id
            row["MatterHistorySeconderName"] = history.seconder.full
        if history.status is not None:
            row["MatterHistoryMatterStatusId"] = history.status.id
        return row

    def sponsor_rows(self, matter_id: int) -> list[Row]:
        """``/matters/{id}/sponsors``: sponsors in sequence order ([] for an unknown matter)."""
        with self._portal().lock:
            found = self._visible_matter(matter_id)
        if found is None:
            return []
        matter, _ = found
        creation = matter.changes[0]
        council = self.council or matter.body
        rows = []
        for sequence, person in enumerate(matter.sponsors):
            sponsor_id = matter.id * 8 + sequence
            row = MATTER_SPONSOR.blank()
            row.update(
                MatterSponsorId=sponsor_id,
                MatterSponsorGuid=guid(self.name, "sponsor", sponsor_id),
                MatterSponsorLastModifiedUtc=format_utc(creation.at),
                MatterSponsorRowVersion=rowversion(creation.rowversion),
                MatterSponsorMatterId=matter.id,
                MatterSponsorMatterVersion="1",
                MatterSponsorNameId=person.id,
                MatterSponsorBodyId=council.id,
                MatterSponsorName=person.full,
                MatterSponsorActiveFlag=1,
                MatterSponsorSequence=sequence,
                MatterSponsorLinkFlag=0,
            )
            rows.append(row)
        return rows

    def attachment_rows(self, matter_id: int) -> list[Row]:
        """``/matters/{id}/attachments``: the visible attachments, by id ([] for an unknown matter)."""
        with self._portal().lock:
            now = self._portal().now_ts
            found = self._visible_matter(matter_id)
            if found is None:
                return []
            attachments = sorted((a for a in found[0].attachments if a.at <= now), key=lambda a: a.id)
        base = self._portal().document_base or f"https://{self.name}.legistar1.com"
        rows = []
        for att in attachments:
            file_name = self.attachment_file_name(att)
            row = MATTER_ATTACHMENT.blank()
            row.update(
                MatterAttachmentId=att.id,
                MatterAttachmentGuid=guid(self.name, "attachment", att.id),
                MatterAttachmentLastModifiedUtc=format_utc(att.at),
                MatterAttachmentRowVersion=rowversion(att.rowversion),
                MatterAttachmentName=att.name,
                MatterAttachmentHyperlink=f"{base}/{self.name}/attachments/{file_name}",
                MatterAttachmentFileName=file_name,
                MatterAttachmentMatterVersion=att.matter_version,
                MatterAttachmentIsHyperlink=False,
                MatterAttachmentIsSupportingDocument=att.supporting,
                MatterAttachmentShowOnInternetPage=True,
                MatterAttachmentIsMinuteOrder=False,
                MatterAttachmentIsBoardLetter=False,
                MatterAttachmentAgiloftId=0,
                MatterAttachmentPrintWithReports=True,
                MatterAttachmentSort=att.sort,
            )
            rows.append(row)
        return rows

    def attachment_file_name(self, att: Attachment) -> str:
        return f"{stable_uuid(self.name, 'file', att.id)}.pdf"

    def attachment_pdf(self, file_name: str) -> bytes | None:
        """The PDF behind a visible attachment's ``MatterAttachmentFileName`` (None: no such file now)."""
        from tracker.demo.documents import make_pdf

        with self._portal().lock:
            now = self._portal().now_ts
            for matter in self.matters.values():
                for att in matter.attachments:
                    if att.at <= now and self.attachment_file_name(att) == file_name:
                        if self._visible_matter(matter.id) is None:
                            return None
                        paragraphs = list(att.paragraphs) or [
                            f"{att.name} - File No. {matter.file}",
                            f"{self.display_name}. A placeholder document served by the demo portal "
                            "(fictional demo data).",
                        ]
                        return make_pdf(paragraphs)
        return None

    def _sorted(self, vocabulary: dict[int, _V]) -> list[_V]:
        """A vocabulary's entries by id (read under the lock: tests may add entries while serving)."""
        with self._portal().lock:
            return [vocabulary[key] for key in sorted(vocabulary)]

    def body_rows(self) -> list[Row]:
        """``/bodies``."""
        rows = []
        for body in self._sorted(self.bodies):
            row = BODY.blank()
            row.update(
                BodyId=body.id,
                BodyGuid=guid(self.name, "body", body.id),
                BodyLastModifiedUtc=format_utc(self.since),
                BodyRowVersion=rowversion(0x01000000 + body.id),
                BodyName=body.name,
                BodyTypeId=body.type_id,
                BodyTypeName=body.type_name,
                BodyMeetFlag=int(body.meets),
                BodyActiveFlag=1,
                BodySort=body.sort,
                BodyUsedControlFlag=1,
                BodyNumberOfMembers=body.members,
                BodyUsedActingFlag=0,
                BodyUsedTargetFlag=0,
                BodyUsedSponsorFlag=int(body.type_name == "Primary Legislative Body"),
            )
            rows.append(row)
        return rows

    def status_rows(self) -> list[Row]:
        """``/matterstatuses``."""
        rows = []
        for status in self._sorted(self.statuses):
            row = MATTER_STATUS.blank()
            row.update(
                MatterStatusId=status.id,
                MatterStatusGuid=guid(self.name, "status", status.id),
                MatterStatusLastModifiedUtc=format_utc(self.since),
                MatterStatusRowVersion=rowversion(0x01000000 + status.id),
                MatterStatusName=status.name,
                MatterStatusSort=status.sort,
                MatterStatusActiveFlag=1,
                MatterStatusUsedFlag=1,
            )
            rows.append(row)
        return rows

    def type_rows(self) -> list[Row]:
        """``/mattertypes``."""
        rows = []
        for matter_type in self._sorted(self.types):
            row = MATTER_TYPE.blank()
            row.update(
                MatterTypeId=matter_type.id,
                MatterTypeGuid=guid(self.name, "type", matter_type.id),
                MatterTypeLastModifiedUtc=format_utc(self.since),
                MatterTypeRowVersion=rowversion(0x01000000 + matter_type.id),
                MatterTypeName=matter_type.name,
                MatterTypeSort=matter_type.sort,
                MatterTypeActiveFlag=1,
                MatterTypeUsedFlag=1,
            )
            rows.append(row)
        return rows

    def person_rows(self) -> list[Row]:
        """``/persons``."""
        rows = []
        for person in self._sorted(self.persons):
            row = PERSON.blank()
            row.update(
                PersonId=person.id,
                PersonGuid=guid(self.name, "person", person.id),
                PersonLastModifiedUtc=format_utc(self.since),
                PersonRowVersion=rowversion(0x01000000 + person.id),
                PersonFirstName=person.first,
                PersonLastName=person.last,
                PersonFullName=person.full,
                PersonActiveFlag=1,
                PersonCanViewFlag=0,
                PersonUsedSponsorFlag=1,
            )
            rows.append(row)
        return rows

    # ---------------------------------------------------------------- meetings

    def allocate_event_item_id(self) -> int:
        self._next_event_item_id += 1
        return self._next_event_item_id

    def finalize_events(self, item_id_base: int) -> None:
        """Number agenda items and give events and items row versions in chronological order (call after
        :meth:`finalize`: the matters' row versions stay as they are)."""
        self._next_event_item_id = item_id_base
        items = sorted(
            (
                (item.at, event.id, item.sequence, item)
                for event in self.events.values()
                for item in event.items
            ),
            key=lambda x: x[:3],
        )
        for _, _, _, item in items:
            item.id = self.allocate_event_item_id()
        stamped: list[tuple[float, int, meetings.Event | meetings.EventItem]] = [
            (item.at, 1, item) for _, _, _, item in items
        ]
        for event in self.events.values():
            event.items.sort(key=lambda i: (i.sequence, i.id))
            event.stamps = []
            stamped.extend((at, 0, event) for at in event.moments())
        self._items = {item.id: (event, item) for event in self.events.values() for item in event.items}
        stamped.sort(key=lambda x: (x[0], x[1], x[2].id))
        for at, _, obj in stamped:
            self._rowversion += 1
            if isinstance(obj, meetings.Event):
                obj.stamps.append((at, self._rowversion))
            else:
                obj.rowversion = self._rowversion

    def _listed_event(self, event_id: int) -> meetings.Event | None:
        event = self.events.get(event_id)
        if event is None or event.listed_at > self._portal().now_ts:
            return None
        return event

    def event_rows(self) -> list[Row]:
        """``/events``: the meetings on the calendar at the clock, by EventId."""
        with self._portal().lock:
            now = self._portal().now_ts
            listed = [self.events[k] for k in sorted(self.events) if self.events[k].listed_at <= now]
            return [meetings.event_row(self, event, now) for event in listed]

    def event_row(self, event_id: int) -> Row | None:
        """``/events/{id}``, or None when it is not on the calendar (yet)."""
        with self._portal().lock:
            event = self._listed_event(event_id)
            return None if event is None else meetings.event_row(self, event, self._portal().now_ts)

    def event_item_rows(
        self,
        event_id: int,
        *,
        agenda_note: bool = False,
        minutes_note: bool = False,
        attachments: bool = False,
    ) -> list[Row]:
        """``/events/{id}/eventitems``: the items on its agenda at the clock, in agenda order. Notes are
        filled in only when asked for (``AgendaNote=1``, ``MinutesNote=1``), the matters' attachments with
        ``Attachments=1``, as on Legistar."""
        with self._portal().lock:
            event = self._listed_event(event_id)
            if event is None:
                return []
            now = self._portal().now_ts
            minutes_out = not event.cancelled(now) and event.minutes_at <= now
            return [
                meetings.item_row(
                    self,
                    item,
                    now,
                    agenda_note=agenda_note,
                    minutes_note=minutes_note,
                    attachments=attachments,
                    event_id=event.id,
                    minutes_out=minutes_out,
                )
                for item in event.items
                if item.at <= now
            ]

    def vote_rows(self, item_id: int) -> list[Row]:
        """``/eventitems/{id}/votes``: the roll call of a roll-call item once it is recorded, else []."""
        with self._portal().lock:
            found = self._items.get(item_id)
            now = self._portal().now_ts
            if found is None or found[1].at > now or self._listed_event(found[0].id) is None:
                return []
            return meetings.vote_rows(self, found[1], now)

    def office_record_rows(self) -> list[Row]:
        """``/officerecords``: every seat on every body, by id."""
        with self._portal().lock:
            records = sorted(self.office_records, key=lambda r: r.id)
        return [meetings.office_record_row(self, record) for record in records]

    def meeting_pdf(self, file_name: str) -> bytes | None:
        """The agenda or minutes PDF of ``EventAgendaFile``/``EventMinutesFile`` (None: not published)."""
        from tracker.demo.documents import make_pdf

        head, _, rest = file_name.partition("_")
        kind = rest[:1]
        if not ascii_digits(head) or kind not in ("A", "M"):
            return None
        with self._portal().lock:
            event = self._listed_event(int(head))
            now = self._portal().now_ts
            if event is None:
                return None
            row = meetings.event_row(self, event, now)
            url = row["EventAgendaFile"] if kind == "A" else row["EventMinutesFile"]
            if not url or not url.endswith("/" + file_name):
                return None
            items = self.event_item_rows(event.id, agenda_note=True, minutes_note=kind == "M")
        what = "Agenda" if kind == "A" else "Minutes"
        paragraphs = [
            f"{self.display_name} - {row['EventBodyName']} - {what}",
            f"{row['EventDate'][:10]} {row['EventTime']}, {row['EventLocation']}",
            *([row["EventComment"]] if row["EventComment"] else []),
        ]
        for item in items:
            line = f"{item['EventItemAgendaSequence']}. "
            if item["EventItemMatterFile"]:
                line += f"{item['EventItemMatterFile']} "
            line += item["EventItemTitle"] or ""
            if kind == "M" and item["EventItemActionName"]:
                line += f" - {item['EventItemActionName']}"
                if item["EventItemTally"]:
                    line += f" ({item['EventItemTally']})"
            paragraphs.append(line)
        paragraphs.append("Fictional demo data served by the demo portal.")
        return make_pdf(paragraphs)

    def move_event(self, event_id: int, start: datetime) -> None:
        """Reschedule a meeting now to the local start ``start`` (naive): same EventId, new date and time."""
        portal = self._portal()
        with portal.lock:
            event = self.events[event_id]
            self._rowversion += 1
            event.schedule.append((portal.now_ts, start))
            event.stamps.append((portal.now_ts, self._rowversion))

    def cancel_event(self, event_id: int) -> None:
        """Cancel a meeting now (shown the client's way, ``Event.cancel_style``)."""
        portal = self._portal()
        with portal.lock:
            event = self.events[event_id]
            self._rowversion += 1
            event.cancelled_at = portal.now_ts
            event.stamps.append((portal.now_ts, self._rowversion))

    def labels(self) -> dict[int, str]:
        """Ground truth of the demo data: MatterId -> label (e.g. ``"detainers_warrants:expands"``)."""
        return {m.id: m.label for m in self.matters.values() if m.label}

    # ---------------------------------------------------------------- mutations at the clock

    def _require(self, matter_id: int) -> Matter:
        matter = self.matters.get(matter_id)
        if matter is None:
            raise KeyError(f"client {self.name!r} has no matter {matter_id}")
        return matter

    def _add_change(self, matter: Matter, change: Change) -> Change:
        self._rowversion += 1
        change.rowversion = self._rowversion
        insort(matter.changes, change, key=_at)
        self._row_cache.pop(matter.id, None)
        self._invalidate()
        return change

    def _now_history(
        self,
        matter: Matter,
        action_name: str,
        status: Status | None,
        body_name: str | None,
        passed: bool | None,
        text: str | None,
        now: float,
    ) -> History:
        body = self.body(body_name) if body_name else (self.council or matter.body)
        local_midnight = self.local(now).replace(hour=0, minute=0, second=0, microsecond=0)
        return History(
            id=self.allocate_history_id(),
            action_date=local_midnight,
            action=self.action(action_name),
            body=body,
            text=text,
            passed=passed,
            status=status,
        )

    def add_history(
        self,
        matter_id: int,
        action_name: str,
        *,
        status_name: str | None = None,
        body_name: str | None = None,
        passed: bool | None = None,
        text: str | None = None,
        bump_last_modified: bool = True,
    ) -> int:
        """Record an action now (dated today, local); optionally set a status. Returns the history id."""
        portal = self._portal()
        with portal.lock:
            matter = self._require(matter_id)
            now = portal.now_ts
            status = self.status(status_name) if status_name else None
            history = self._now_history(matter, action_name, status, body_name, passed, text, now)
            self._add_change(matter, Change(now, history=history, status=status, bumps=bump_last_modified))
            return history.id

    def set_status(
        self,
        matter_id: int,
        status_name: str,
        *,
        bump_last_modified: bool = True,
        action_name: str | None = None,
        body_name: str | None = None,
        passed: bool | None = None,
    ) -> None:
        """Change a matter's status now. With ``action_name`` a history row records the change too.

        ``bump_last_modified=False`` reproduces the Legistar quirk: the row version moves but
        ``MatterLastModifiedUtc`` stays where it was.
        """
        portal = self._portal()
        with portal.lock:
            matter = self._require(matter_id)
            now = portal.now_ts
            status = self.status(status_name)
            history = None
            if action_name is not None:
                history = self._now_history(matter, action_name, status, body_name, passed, None, now)
            self._add_change(matter, Change(now, history=history, status=status, bumps=bump_last_modified))

    def edit_matter(self, matter_id: int, *, bump_last_modified: bool = True, **fields: Any) -> None:
        """Set matter fields now, e.g. ``edit_matter(5, MatterTitle="...")`` (wire values, no validation)."""
        unknown = set(fields) - set(MATTER.fields)
        if unknown:
            raise KeyError(f"not Matter fields: {sorted(unknown)}")
        portal = self._portal()
        with portal.lock:
            matter = self._require(matter_id)
            change = Change(portal.now_ts, fields=tuple(fields.items()), bumps=bump_last_modified)
            self._add_change(matter, change)

    def add_matter(
        self,
        title: str,
        *,
        type_name: str = "Ordinance",
        status_name: str | None = None,
        file: str | None = None,
        name: str | None = None,
        sponsors: Iterable[str] = (),
        body_name: str | None = None,
        label: str | None = None,
    ) -> int:
        """Introduce a new matter now (intro date = today, local). Returns its MatterId."""
        portal = self._portal()
        with portal.lock:
            now = portal.now_ts
            local_today = self.local(now).replace(hour=0, minute=0, second=0, microsecond=0)
            matter_id = self.allocate_matter_id()
            body = self.body(body_name) if body_name else self.council
            if body is None:
                body = self.body("City Council", "Primary Legislative Body")
            status = self.status(status_name or self.initial_status)
            matter = Matter(
                id=matter_id,
                file=file or self.file_format.format(year=local_today.year, seq=matter_id % 10000, prefix=""),
                title=title,
                type=self.matter_type(type_name),
                body=body,
                intro=local_today,
                changes=[],
                name=name,
                sponsors=tuple(self.person(s) for s in sponsors),
                label=label,
            )
            self.matters[matter_id] = matter
            self._add_change(matter, Change(now, status=status))
            return matter_id

    def remove_matter(self, matter_id: int) -> None:
        """Hide a matter from now on (Legistar deletes or restricts matters now and then)."""
        portal = self._portal()
        with portal.lock:
            self._require(matter_id).hidden_at = portal.now_ts
            self._invalidate()

    def restore_matter(self, matter_id: int) -> None:
        """Undo :meth:`remove_matter`."""
        with self._portal().lock:
            self._require(matter_id).hidden_at = None
            self._invalidate()

    def touch_fraction(
        self,
        fraction: float,
        *,
        bump_last_modified: bool | None = None,
        with_history: bool = True,
        statuses: Iterable[str] | None = None,
    ) -> list[int]:
        """Give ``fraction`` of the visible matters a new status now; return their ids (sorted).

        Each picked matter moves to another status of ``statuses`` (default: the client's vocabulary), with a
        history row when ``with_history``. ``bump_last_modified=None`` follows each matter's
        ``stale_last_modified`` quirk; True/False forces it. Deterministic for a given seed and call order.
        """
        portal = self._portal()
        with portal.lock:
            visible = [row["MatterId"] for row in self.matter_rows()]
            count = round(len(visible) * fraction)
            if fraction > 0 and visible and count == 0:
                count = 1
            chosen = sorted(self.rng.sample(visible, count))
            names = list(statuses) if statuses is not None else [s.name for s in self.statuses.values()]
            vocabulary = [self.status(n) for n in names]
            now = portal.now_ts
            for matter_id in chosen:
                matter = self.matters[matter_id]
                current = self._matter_row(matter, self._visible_count(matter, now))["MatterStatusId"]
                status = self.rng.choice([s for s in vocabulary if s.id != current] or vocabulary)
                bump = (not matter.stale_last_modified) if bump_last_modified is None else bump_last_modified
                history = None
                if with_history:
                    action_name = self.action_for_status.get(status.name, status.name)
                    history = self._now_history(matter, action_name, status, None, None, None, now)
                self._add_change(matter, Change(now, history=history, status=status, bumps=bump))
            return chosen


# --------------------------------------------------------------------------------------------- portal


class Portal:
    """Several Legistar clients and one clock (``now``, aware UTC)."""

    def __init__(self, clients: Iterable[ClientData] = (), now: datetime | None = None) -> None:
        self.lock = threading.RLock()
        # where attachment links point ("http://127.0.0.1:PORT/files"): set by a server that serves them
        self.document_base: str | None = None
        self._now = to_ts(now) if now is not None else datetime.now(UTC).timestamp()
        self._clients: dict[str, ClientData] = {}
        for client in clients:
            self.add_client(client)

    def __repr__(self) -> str:
        return f"<Portal now={format_utc(self._now)}Z clients={list(self._clients)}>"

    def __iter__(self) -> Iterator[ClientData]:
        return iter(list(self._clients.values()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._clients

    def config_lines(self, api_base: str, *extra: str) -> list[str]:
        """Every council as a ``[[jurisdictions]]`` entry of a tracker config, crawled from the portal served
        at ``api_base``; ``extra`` lines go into each entry."""
        lines = []
        for client in self:
            lines += [
                "[[jurisdictions]]",
                f'slug = "{client.name}"',
                f'name = "{client.display_name}"',
                'platform = "legistar"',
                f'client = "{client.name}"',
                f'api_base = "{api_base}"',
                f'timezone = "{client.timezone}"',
                *extra,
                "",
            ]
        return lines

    @property
    def now(self) -> datetime:
        """The clock, as an aware UTC datetime."""
        return from_ts(self._now)

    @property
    def now_ts(self) -> float:
        """The clock, as UTC epoch seconds."""
        return self._now

    def add_client(self, client: ClientData) -> ClientData:
        with self.lock:
            if client.name in self._clients:
                raise ValueError(f"duplicate client {client.name!r}")
            client.portal = self
            self._clients[client.name] = client
            return client

    def client(self, name: str) -> ClientData:
        """The client called ``name`` (case-insensitive, like Legistar's URLs); KeyError if unknown."""
        try:
            return self._clients[name.lower()]
        except KeyError:
            raise KeyError(f"no Legistar client {name!r} in this portal") from None

    def get(self, name: str) -> ClientData | None:
        return self._clients.get(name.lower())

    def set_clock(self, when: datetime) -> datetime:
        """Move the clock to ``when`` (naive means UTC). Moving it back is allowed."""
        with self.lock:
            self._now = to_ts(when)
            return self.now

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        """Move the clock forward; returns the new ``now``."""
        delta = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        with self.lock:
            self._now += delta.total_seconds()
            return self.now
