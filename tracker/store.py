"""The importer: staged bills of one completed crawl → the database, in one transaction.

What it guarantees (tests/test_crawl_*.py, tests/test_hostile_portal.py):

- a bill whose normalized content hash is unchanged is not written at all, so a repeated crawl over
  unchanged data writes nothing but its crawl-run record;
- a bill seen for the first time gets a ``first_seen`` event; a bill whose raw status differs from the
  stored one gets exactly one ``changed`` event, with the history row that explains it when there is one;
- importers of one jurisdiction are serialised by a row lock on the jurisdiction (PostgreSQL) or the
  database write lock (SQLite), and the log's natural key ``(bill_id, seq)`` backs that up, so two crawls
  racing on one jurisdiction cannot duplicate an event;
- bills are never deleted: when a crawl that lists every matter no longer lists one, it is marked vanished,
  unless the listing collapsed (far fewer matters than stored), which makes the crawl *suspect* and
  changes nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Engine, Table, delete, func, insert, or_, select, update
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StatementError,
)
from sqlalchemy.orm import Session

from crawler.jobs import CrawlJob
from db.engine import insert_ignore, session_scope
from db.models import Action, Attachment, Bill, CrawlRun, Jurisdiction, Sponsor, StatusChange
from db.types import utcnow
from tracker.contract import (
    AttachmentsUpdate,
    NormalizedAction,
    NormalizedAttachment,
    NormalizedBill,
    NormalizedMeeting,
    NormalizedMember,
    NormalizedSponsor,
    Staged,
    content_hash,
    identifier_key,
    read_staged,
)
from tracker.identity import adopt_moved, key_unkeyed, record_sources
from tracker.platforms.base import JurisdictionConfig

if TYPE_CHECKING:
    from tracker.matcher.precompute import MatchProcess

logger = logging.getLogger(__name__)

BATCH = 500
# What one record can make the database refuse (a value it cannot hold, a constraint): the record is skipped.
# A lost connection or a locked database (OperationalError) is not about one record and fails the import.
_RECORD_ERRORS = (DataError, IntegrityError, ProgrammingError, StatementError, ValueError, TypeError)
_NOT_RECORD_ERRORS = (OperationalError, InterfaceError)
# Below this many stored bills a collapse cannot be told from a small portal's ordinary churn.
COLLAPSE_MIN_STORED = 20


@dataclass
class RunSummary:
    slug: str
    mode: str
    status: str  # succeeded | partial | failed | suspect
    seen: int = 0
    new: int = 0
    changed: int = 0
    status_changes: int = 0
    vanished: int = 0
    errors: int = 0
    requests: int = 0
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def line(self) -> str:
        text = (
            f"{self.slug}: {self.status} ({self.mode}) - {self.seen} bills seen, {self.new} new, "
            f"{self.changed} changed, {self.status_changes} status changes, {self.vanished} vanished, "
            f"{self.errors} errors, {self.requests} requests"
        )
        if self.message:
            text += f" - {self.message}"
        return text


# -- jurisdiction state ----------------------------------------------------------------------------------


def ensure_jurisdiction(session: Session, cfg: JurisdictionConfig) -> Jurisdiction:
    """The jurisdiction's row, created on first use (safely, when two crawls start at once)."""
    row = session.scalar(select(Jurisdiction).where(Jurisdiction.slug == cfg.slug))
    if row is None:
        session.execute(
            insert_ignore(session, Jurisdiction).values(
                slug=cfg.slug, name=cfg.name, platform=cfg.platform, created_at=utcnow()
            )
        )
        row = session.scalars(select(Jurisdiction).where(Jurisdiction.slug == cfg.slug)).one()
    if (row.name, row.platform) != (cfg.name, cfg.platform):
        row.name, row.platform = cfg.name, cfg.platform
    return row


def last_success(
    session: Session, jurisdiction_id: int, modes: Iterable[str] | None = None
) -> datetime | None:
    """Start time of the last crawl that succeeded completely (optionally of the given modes)."""
    q = select(func.max(CrawlRun.started_at)).where(
        CrawlRun.jurisdiction_id == jurisdiction_id, CrawlRun.status == "succeeded"
    )
    # without modes: any crawl but a track crawl, which fetches a few bills and says nothing of the rest
    q = q.where(CrawlRun.mode.in_(list(modes)) if modes is not None else CrawlRun.mode != "track")
    value = session.scalar(q)
    if value is not None and value.tzinfo is None:  # SQLite aggregate bypasses the column type
        value = value.replace(tzinfo=UTC)
    return value


def _of_source(source_key: str | None) -> Any:
    """Bills described by this source now (or not keyed yet: stored before sources were recorded)."""
    return or_(Bill.source_key == source_key, Bill.source_key.is_(None))


def tracked_ids(session: Session, jurisdiction_id: int, source_key: str | None = None) -> set[str]:
    """Source ids of the bills tracked by link (every crawl fetches them)."""
    return set(
        session.scalars(
            select(Bill.source_id).where(
                Bill.jurisdiction_id == jurisdiction_id, Bill.tracked_at.is_not(None), _of_source(source_key)
            )
        )
    )


@dataclass
class KnownState:
    """What incremental crawls and sweeps compare the portal's listing against."""

    # source id -> (row version, status) of every stored, present bill
    rows: dict[str, tuple[str | None, str | None]]
    # source ids whose attachments were never fetched (the backlog)
    attachments_pending: set[str]
    # source ids whose sponsors were never fetched (the sponsors backlog of a backfill)
    sponsors_pending: set[str]
    # source id -> the history ids stored as its actions
    actions: dict[str, frozenset[str]]


def known_state(session: Session, jurisdiction_id: int, source_key: str | None = None) -> KnownState:
    present = (Bill.jurisdiction_id == jurisdiction_id, Bill.vanished_at.is_(None), _of_source(source_key))
    rows = session.execute(
        select(
            Bill.source_id,
            Bill.portal_row_version,
            Bill.status,
            Bill.attachments_fetched_at,
            Bill.sponsors_fetched_at,
        ).where(*present)
    )
    known: dict[str, tuple[str | None, str | None]] = {}
    pending: set[str] = set()
    no_sponsors: set[str] = set()
    for sid, rv, st, fetched, sponsors_fetched in rows:
        known[sid] = (rv, st)
        if fetched is None:
            pending.add(sid)
        if sponsors_fetched is None:
            no_sponsors.add(sid)
    actions: dict[str, set[str]] = {}
    for sid, action_id in session.execute(
        select(Bill.source_id, Action.source_id).join(Action).where(*present)
    ):
        actions.setdefault(sid, set()).add(action_id)
    return KnownState(known, pending, no_sponsors, {sid: frozenset(ids) for sid, ids in actions.items()})


def has_bills(session: Session, jurisdiction_id: int) -> bool:
    """Whether any bill of the jurisdiction is stored (present or vanished, of any source)."""
    return session.scalar(select(Bill.id).where(Bill.jurisdiction_id == jurisdiction_id).limit(1)) is not None


# -- helpers ---------------------------------------------------------------------------------------------


def _table(model: type[Any]) -> Table:
    """A model's table, for Core statements (see :meth:`Importer._insert_new` on why inserts use them)."""
    return cast(Table, model.__table__)


def _batches(
    items: Iterable[NormalizedBill | AttachmentsUpdate], size: int = BATCH
) -> Iterator[list[NormalizedBill | AttachmentsUpdate]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def read_stage(job: CrawlJob) -> Iterator[Staged]:
    for path in (job.stage_path, *job.other_stage_paths):
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield read_staged(line)


def _action_row(bill_id: int, a: NormalizedAction) -> dict[str, Any]:
    return {
        "bill_id": bill_id,
        "source_id": a.source_id,
        "sequence": a.sequence,
        "action_date": a.action_date,
        "acted_at": a.acted_at,
        "description": a.description,
        "text": a.text,
        "body_name": a.body_name,
        "result": a.result,
        "tally": a.tally,
        "classification": a.classification,
        "status_source_id": a.status_source_id,
        "event_source_id": a.event_source_id,
        "raw": a.raw,
    }


def _sponsor_row(bill_id: int, s: NormalizedSponsor) -> dict[str, Any]:
    return {"bill_id": bill_id, "sequence": s.sequence, "name": s.name, "is_primary": s.is_primary}


def _attachment_row(bill_id: int, a: NormalizedAttachment) -> dict[str, Any]:
    return {
        "bill_id": bill_id,
        "source_id": a.source_id,
        "sequence": a.sequence,
        "name": a.name,
        "url": a.url,
    }


def explaining_action(bill: NormalizedBill, previous: set[str]) -> str | None:
    """The history row that explains the bill's current status: the latest new row that set this status,
    else the latest new row, else the latest row that set this status."""
    new_rows = [a for a in bill.actions if a.source_id not in previous]
    setting = [
        a for a in bill.actions if bill.status_source_id and a.status_source_id == bill.status_source_id
    ]
    for group in (
        [a for a in new_rows if a in setting],
        new_rows,
        setting,
    ):
        if group:
            return group[-1].source_id
    return None


# -- the import ------------------------------------------------------------------------------------------


#: Fields of a stored bill that a record without them does not erase (:meth:`Importer._keep_stored`).
KEPT_WHEN_MISSING = ("title", "identifier", "status")


class Importer:
    def __init__(
        self,
        session: Session,
        jurisdiction: Jurisdiction,
        run: CrawlRun,
        observed_at: datetime,
        *,
        source_key: str | None = None,
        moved_from: Iterable[str] = (),
    ):
        self.s = session
        self.j = jurisdiction
        self.run = run
        self.observed_at = observed_at
        self.source_key = source_key or jurisdiction.source_key
        self.moved_from = list(moved_from)
        self.adopted = 0
        # Bills inserted or changed by this import (for the stages that follow ingest, e.g. matching).
        self.touched: set[int] = set()
        # Records the database refused (each named), skipped while the others are stored.
        self.failed: list[str] = []

    def apply_guarded(self, batch: list[NormalizedBill | AttachmentsUpdate]) -> None:
        """:meth:`apply` inside a savepoint. When the database refuses the batch, it is applied again one
        record at a time, each in its own savepoint, so one record the database cannot take is reported in
        ``failed`` and skipped, and the jurisdiction's other records are stored (on both engines)."""
        try:
            self._in_savepoint(batch)
            return
        except _RECORD_ERRORS as exc:
            if isinstance(exc, _NOT_RECORD_ERRORS):
                raise
            if len(batch) == 1:
                self._failed(batch[0], exc)
                return
            reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]  # one line, no SQL dump
            logger.warning(
                "%s: a batch was refused (%s); storing its records one by one", self.j.slug, reason
            )
        for record in batch:
            try:
                self._in_savepoint([record])
            except _RECORD_ERRORS as exc:
                if isinstance(exc, _NOT_RECORD_ERRORS):
                    raise
                self._failed(record, exc)

    def _in_savepoint(self, batch: list[NormalizedBill | AttachmentsUpdate]) -> None:
        counters = (self.run.seen, self.run.new, self.run.changed, self.run.status_changes, self.adopted)
        touched = set(self.touched)
        try:
            with self.s.begin_nested():
                self.apply(batch)
        except _RECORD_ERRORS:
            self.run.seen, self.run.new, self.run.changed, self.run.status_changes, self.adopted = counters
            self.touched = touched
            raise

    def _failed(self, record: NormalizedBill | AttachmentsUpdate, exc: Exception) -> None:
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
        message = f"{self.j.slug} bill {record.source_id[:64]!r}: the database refused it ({detail})"
        logger.warning("%s", message)
        self.failed.append(message)

    def apply(self, batch: list[NormalizedBill | AttachmentsUpdate]) -> None:
        bills = [b for b in batch if isinstance(b, NormalizedBill)]
        updates = [u for u in batch if isinstance(u, AttachmentsUpdate)]
        existing = self._existing([b.source_id for b in batch])
        if self.moved_from and self.source_key:
            unknown = [b for b in bills if b.source_id not in existing]
            adopted = adopt_moved(self.s, self.j.id, self.source_key, self.moved_from, unknown)
            if adopted:
                self.adopted += adopted
                # Adopted bills are stored bills now: their content is compared and updated as usual.
                existing = self._existing([b.source_id for b in batch])
        self.run.seen += len(bills)
        fresh = [b for b in bills if b.source_id not in existing]
        completed = [b for b in bills if b.source_id in existing and _completes(b, existing[b.source_id])]
        done = {b.source_id for b in completed}
        changed = [
            b
            for b in bills
            if b.source_id in existing
            and b.source_id not in done
            and (existing[b.source_id].content_hash != b.content_hash or existing[b.source_id].vanished_at)
        ]
        new_ids = self._insert_new(fresh) if fresh else {}
        if changed:
            self._update(changed, existing)
        if completed:
            self._complete_sponsors(completed, existing)
        if self.source_key and (fresh or changed):
            seen = [(new_ids[b.source_id], b) for b in fresh]
            seen += [(existing[b.source_id].id, b) for b in changed]
            record_sources(self.s, self.source_key, seen, self.observed_at)
        fetched = [
            (b.source_id, b.attachments)
            for b in bills
            if b.source_id in existing and b.attachments is not None
        ]
        fetched += [(u.source_id, u.attachments) for u in updates if u.source_id in existing]
        if fetched:
            already = {b.source_id for b in changed}
            self._sync_attachments(fetched, existing, already)

    def _complete_sponsors(self, bills: list[NormalizedBill], existing: dict[str, Any]) -> None:
        """Store the first sponsors of bills from the backlog: this completes the bills, it does not change
        them (no ``changed`` count, no status change)."""
        self._replace_sponsors(bills, existing)
        self.s.execute(
            update(Bill),
            [
                {
                    "id": existing[b.source_id].id,
                    "content_hash": b.content_hash,
                    "sponsors_fetched_at": self.observed_at,
                }
                for b in bills
            ],
        )

    def _existing(self, ids: list[str]) -> dict[str, Any]:
        return {
            row.source_id: row
            for row in self.s.execute(
                select(
                    Bill.id,
                    Bill.source_id,
                    Bill.identifier,
                    Bill.title,
                    Bill.status,
                    Bill.stage,
                    Bill.content_hash,
                    Bill.vanished_at,
                    Bill.attachments_fetched_at,
                    Bill.sponsors_fetched_at,
                ).where(
                    Bill.jurisdiction_id == self.j.id,
                    Bill.source_id.in_(ids),
                    # ids of another source (before a move) may name other bills
                    _of_source(self.source_key),
                )
            )
        }

    def _insert_new(self, bills: list[NormalizedBill]) -> dict[str, int]:
        """Insert new bills with their children and first-seen events; their ids by source id."""
        now = self.observed_at
        rows = [
            {
                **b.bill_columns(),
                "identifier_key": identifier_key(b.identifier),
                "source_key": self.source_key,
                "jurisdiction_id": self.j.id,
                "first_seen_at": now,
                "updated_at": now,
                "attachments_fetched_at": None if b.attachments is None else now,
                "sponsors_fetched_at": None if b.sponsors is None else now,
            }
            for b in bills
        ]
        # Plain executemany, then one select for the ids: RETURNING over a bulk insert is much slower.
        # Core inserts on the tables here and below: the ORM's bulk insert leaves a row's None values out
        # of its parameters and starts a new statement at every change of the keys, which made 3,710
        # statements of a backfill's 10,220 actions (the same rows; none of these columns has a default
        # that a None would have let apply).
        self.s.execute(insert(_table(Bill)), rows)
        ids = dict(
            self.s.execute(
                select(Bill.source_id, Bill.id).where(
                    Bill.jurisdiction_id == self.j.id,
                    Bill.source_key == self.source_key,
                    Bill.source_id.in_([b.source_id for b in bills]),
                )
            ).all()
        )
        self.touched.update(ids.values())
        self.run.new += len(bills)
        action_ids = self._insert_children(bills, ids)
        events = []
        for b in bills:
            explains = explaining_action(b, set())
            events.append(
                {
                    "bill_id": ids[b.source_id],
                    "seq": 1,
                    "kind": "first_seen",
                    "old_status": None,
                    "new_status": b.status,
                    "old_stage": None,
                    "new_stage": b.stage,
                    "observed_at": now,
                    "crawl_run_id": self.run.id,
                    "action_id": action_ids.get((ids[b.source_id], explains)) if explains else None,
                }
            )
        self.s.execute(insert(_table(StatusChange)), events)
        return ids

    def _insert_children(
        self, bills: list[NormalizedBill], ids: dict[str, int]
    ) -> dict[tuple[int, str], int]:
        actions = [_action_row(ids[b.source_id], a) for b in bills for a in b.actions]
        action_ids: dict[tuple[int, str], int] = {}
        if actions:
            action_ids = self._insert_actions(actions)
        sponsors = [_sponsor_row(ids[b.source_id], sp) for b in bills for sp in b.sponsors or ()]
        if sponsors:
            self.s.execute(insert(_table(Sponsor)), sponsors)
        attachments = [_attachment_row(ids[b.source_id], a) for b in bills for a in b.attachments or ()]
        if attachments:
            self.s.execute(insert(_table(Attachment)), attachments)
        return action_ids

    def _insert_actions(self, rows: list[dict[str, Any]]) -> dict[tuple[int, str], int]:
        """Insert action rows; their ids by (bill id, source id)."""
        self.s.execute(insert(_table(Action)), rows)
        wanted = {(r["bill_id"], r["source_id"]) for r in rows}
        found = self.s.execute(
            select(Action.bill_id, Action.source_id, Action.id).where(
                Action.bill_id.in_({bill_id for bill_id, _ in wanted})
            )
        )
        return {(b, sid): aid for b, sid, aid in found if (b, sid) in wanted}

    def _update(self, bills: list[NormalizedBill], existing: dict[str, Any]) -> None:
        """Write changed bills: their columns, their actions (synchronised row by row: status events point
        at them), their sponsors (replaced), and a status change for each whose status moved."""
        bills = self._keep_stored(bills, existing)
        bill_ids = [existing[b.source_id].id for b in bills]
        self.touched.update(bill_ids)
        self._update_bill_rows(bills, existing)
        previous, action_ids = self._sync_actions(bills, existing, bill_ids)
        self._replace_sponsors(bills, existing)
        self._record_status_changes(bills, existing, previous, action_ids)

    def _keep_stored(self, bills: list[NormalizedBill], existing: dict[str, Any]) -> list[NormalizedBill]:
        """The bills with the stored title, file number and status (with its stage) where the portal sent
        none for a bill that has them: a record that lost them is a portal's glitch, not a change to store
        (no bill loses its title, no status change "to nothing"). Logged once per batch; the content hash
        stays the one of what the portal sent, so the same record again is no change."""
        kept: list[NormalizedBill] = []
        named: list[str] = []
        for b in bills:
            row = existing[b.source_id]
            missing = [f for f in KEPT_WHEN_MISSING if not getattr(b, f) and getattr(row, f)]
            if not missing:
                kept.append(b)
                continue
            values = {f: getattr(row, f) for f in missing}
            if "status" in missing:
                values["stage"] = row.stage
            kept.append(dataclasses.replace(b, **values))
            named.append(f"{b.source_id[:64]!r} ({', '.join(missing)})")
        if named:
            logger.warning(
                "%s: the portal sent %d stored bill(s) without a title, file number or status; the stored "
                "values are kept: %s",
                self.j.slug,
                len(named),
                "; ".join(named[:5]) + (" ..." if len(named) > 5 else ""),
            )
        return kept

    def _update_bill_rows(self, bills: list[NormalizedBill], existing: dict[str, Any]) -> None:
        self.s.execute(
            update(Bill),
            [
                {
                    **b.bill_columns(),
                    "identifier_key": identifier_key(b.identifier),
                    "source_key": self.source_key,
                    "id": existing[b.source_id].id,
                    "updated_at": self.observed_at,
                    "vanished_at": None,
                    # when its sponsors were first fetched: kept once set, else now if this crawl fetched them
                    "sponsors_fetched_at": existing[b.source_id].sponsors_fetched_at
                    or (None if b.sponsors is None else self.observed_at),
                }
                for b in bills
            ],
        )
        self.run.changed += len(bills)

    def _sync_actions(
        self, bills: list[NormalizedBill], existing: dict[str, Any], bill_ids: list[int]
    ) -> tuple[dict[int, set[str]], dict[tuple[int, str], int]]:
        """Insert, update and delete the bills' actions to match the source (an incomplete list, an agenda
        window, keeps the others). Returns the source ids each bill had before, and the id of every action
        kept or inserted by (bill id, source id)."""
        stored_actions: dict[tuple[int, str], int] = {
            (bill_id, source_id): action_id
            for bill_id, source_id, action_id in self.s.execute(
                select(Action.bill_id, Action.source_id, Action.id).where(Action.bill_id.in_(bill_ids))
            )
        }
        previous: dict[int, set[str]] = {}
        by_bill: dict[int, list[tuple[int, str]]] = {}
        for bill_id, source_id in stored_actions:
            previous.setdefault(bill_id, set()).add(source_id)
            by_bill.setdefault(bill_id, []).append((bill_id, source_id))
        to_insert: list[dict[str, Any]] = []
        to_update: list[dict[str, Any]] = []
        keep: set[tuple[int, str]] = set()
        for b in bills:
            bill_id = existing[b.source_id].id
            if not b.actions_complete:
                # the source showed only some actions (an agenda window): the others stay
                keep.update(by_bill.get(bill_id, ()))
            for a in b.actions:
                key = (bill_id, a.source_id)
                row = _action_row(bill_id, a)
                if key in stored_actions:
                    keep.add(key)
                    to_update.append({**row, "id": stored_actions[key]})
                else:
                    to_insert.append(row)
        gone = [aid for key, aid in stored_actions.items() if key not in keep]
        if gone:
            self.s.execute(
                update(StatusChange).where(StatusChange.action_id.in_(gone)).values(action_id=None)
            )
            self.s.execute(delete(Action).where(Action.id.in_(gone)))
        if to_update:
            self.s.execute(update(Action), to_update)
        action_ids = {key: aid for key, aid in stored_actions.items() if key in keep}
        if to_insert:
            action_ids.update(self._insert_actions(to_insert))
        return previous, action_ids

    def _replace_sponsors(self, bills: list[NormalizedBill], existing: dict[str, Any]) -> None:
        fetched = [b for b in bills if b.sponsors is not None]  # the others keep their stored sponsors
        if not fetched:
            return
        self.s.execute(
            delete(Sponsor).where(Sponsor.bill_id.in_([existing[b.source_id].id for b in fetched]))
        )
        sponsors = [_sponsor_row(existing[b.source_id].id, sp) for b in fetched for sp in b.sponsors or ()]
        if sponsors:
            self.s.execute(insert(_table(Sponsor)), sponsors)

    def _record_status_changes(
        self,
        bills: list[NormalizedBill],
        existing: dict[str, Any],
        previous: dict[int, set[str]],
        action_ids: dict[tuple[int, str], int],
    ) -> None:
        """A ``changed`` status change for each bill whose status moved, with the action that explains it
        (:func:`explaining_action`)."""
        moved = [b for b in bills if b.status != existing[b.source_id].status]
        if not moved:
            return
        last_seq = dict(
            self.s.execute(
                select(StatusChange.bill_id, func.max(StatusChange.seq))
                .where(StatusChange.bill_id.in_([existing[b.source_id].id for b in moved]))
                .group_by(StatusChange.bill_id)
            ).all()
        )
        events = []
        for b in moved:
            old = existing[b.source_id]
            explains = explaining_action(b, previous.get(old.id, set()))
            events.append(
                {
                    "bill_id": old.id,
                    "seq": last_seq.get(old.id, 0) + 1,
                    "kind": "changed",
                    "old_status": old.status,
                    "new_status": b.status,
                    "old_stage": old.stage,
                    "new_stage": b.stage,
                    "observed_at": self.observed_at,
                    "crawl_run_id": self.run.id,
                    "action_id": action_ids.get((old.id, explains)) if explains else None,
                }
            )
        self.s.execute(insert(_table(StatusChange)), events)
        self.run.status_changes += len(events)

    def _sync_attachments(
        self,
        fetched: list[tuple[str, list[NormalizedAttachment]]],
        existing: dict[str, Any],
        already_changed: set[str],
    ) -> None:
        """Replace the attachments of bills whose fetched list differs from the stored one."""
        bill_ids = [existing[sid].id for sid, _ in fetched]
        stored: dict[int, list[tuple[str, str | None, str | None]]] = {bid: [] for bid in bill_ids}
        for bill_id, source_id, name, url in self.s.execute(
            select(Attachment.bill_id, Attachment.source_id, Attachment.name, Attachment.url)
            .where(Attachment.bill_id.in_(bill_ids))
            .order_by(Attachment.bill_id, Attachment.sequence)
        ):
            stored[bill_id].append((source_id, name, url))
        replace, first_fetch = [], []
        for sid, attachments in fetched:
            row = existing[sid]
            if row.attachments_fetched_at is None:
                first_fetch.append(row.id)
            if [(a.source_id, a.name, a.url) for a in attachments] != stored[row.id]:
                replace.append((row.id, attachments))
                # a first fetch from the backlog completes the bill; it does not change it
                if sid not in already_changed and row.attachments_fetched_at is not None:
                    self.run.changed += 1
        if replace:
            self.touched.update(bid for bid, _ in replace)
            self.s.execute(delete(Attachment).where(Attachment.bill_id.in_([bid for bid, _ in replace])))
            rows = [_attachment_row(bid, a) for bid, attachments in replace for a in attachments]
            if rows:
                self.s.execute(insert(_table(Attachment)), rows)
        if first_fetch:
            self.s.execute(
                update(Bill).where(Bill.id.in_(first_fetch)).values(attachments_fetched_at=self.observed_at)
            )

    def mark_vanished(self, listed: set[str]) -> None:
        present = self.s.execute(
            select(Bill.id, Bill.source_id, Bill.source_key).where(
                Bill.jurisdiction_id == self.j.id, Bill.vanished_at.is_(None)
            )
        ).all()
        # a bill of an earlier source that no bill of this listing adopted has left the portal too
        gone = [bid for bid, sid, key in present if key != self.source_key or sid not in listed]
        for chunk in (gone[i : i + BATCH] for i in range(0, len(gone), BATCH)):
            self.s.execute(update(Bill).where(Bill.id.in_(chunk)).values(vanished_at=self.observed_at))
        self.run.vanished = len(gone)


def _completes(bill: NormalizedBill, row: Any) -> bool:
    """Whether ``bill`` only adds the sponsors its stored row waits for (the sponsors backlog of a
    backfill): the stored hash is the hash of the same content without sponsors."""
    if bill.sponsors is None or row.sponsors_fetched_at is not None or row.vanished_at is not None:
        return False
    return bool(row.content_hash == content_hash(dataclasses.replace(bill, sponsors=None)))


def _lock(session: Session, jurisdiction: Jurisdiction) -> None:
    """Serialise importers of one jurisdiction: a row lock on PostgreSQL, the write lock on SQLite."""
    session.execute(
        update(Jurisdiction).where(Jurisdiction.id == jurisdiction.id).values(last_import_at=utcnow())
    )


def _present_count(session: Session, jurisdiction_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Bill)
            .where(Bill.jurisdiction_id == jurisdiction_id, Bill.vanished_at.is_(None))
        )
        or 0
    )


def _record(
    session: Session,
    jurisdiction: Jurisdiction,
    job: CrawlJob,
    status: str,
    requests: int,
    message: str | None,
) -> CrawlRun:
    run = CrawlRun(
        jurisdiction_id=jurisdiction.id,
        mode=job.mode,
        status=status,
        started_at=job.started_at,
        finished_at=None,
        since=job.since,
        seen=0,
        new=0,
        changed=0,
        status_changes=0,
        vanished=0,
        errors=job.errors,
        requests=requests,
        message=message,
    )
    session.add(run)
    session.flush()
    return run


def _summary(run: CrawlRun, slug: str) -> RunSummary:
    return RunSummary(
        slug=slug,
        mode=run.mode,
        status=run.status,
        seen=run.seen,
        new=run.new,
        changed=run.changed,
        status_changes=run.status_changes,
        vanished=run.vanished,
        errors=run.errors,
        requests=run.requests,
        message=run.message,
    )


def _report(run: CrawlRun, job: CrawlJob, failed: list[str]) -> None:
    """The run's status and message from the records rejected while crawling, those the database refused
    (``failed``) and those stored with a field cut (tracker/sanitize.py). Rejected records make the crawl
    partial (and hold the incremental watermark); a cut record is stored, counted and named, not an error."""
    rejected = job.rejected + len(failed)
    first = (job.problems or failed or [""])[0] if job.rejected else (failed or [""])[0]
    parts = []
    if rejected:
        parts.append(f"{rejected} records rejected, first: {_bounded(first)}")
    if job.cut:
        parts.append(f"{job.cut} records stored with a field cut, first: {_bounded(job.cuts[0])}")
    warnings = list(getattr(job, "warnings", []) or [])
    parts = [f"warning: {_bounded(w)}" for w in warnings] + parts
    run.status = "partial" if rejected or warnings else "succeeded"
    run.errors = job.errors + len(failed)
    run.message = "; ".join(parts) or None


def _every_listed_rejected(job: CrawlJob, listed: int) -> bool:
    """Whether a crawl that listed records read every one of them and rejected them all: nothing staged,
    nothing probed and found unchanged, every listed record fetched and at least as many rejected."""
    return job.staged == 0 and not job.probed_unchanged and job.fetched >= listed and job.rejected >= listed


def _bounded(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def import_job(
    engine: Engine, job: CrawlJob, requests: int, matches_ready: MatchProcess | None = None
) -> RunSummary:
    """Store what one crawl found, or only the record of its failure. ``matches_ready``: the match process
    that classified the bills beside the crawl (tracker.matcher.precompute), waited for before matching."""
    cfg = job.jurisdiction
    with session_scope(engine) as session:
        jurisdiction = ensure_jurisdiction(session, cfg)
        _lock(session, jurisdiction)
        if job.fatal:
            run = _record(session, jurisdiction, job, "failed", requests, job.fatal)
            run.finished_at = utcnow()
            return _summary(run, cfg.slug)

        if job.lists_everything:
            present = _present_count(session, jurisdiction.id)
            listed = len(job.listed)
            if job.rejected and (listed == 0 or _every_listed_rejected(job, listed)):
                # every record the portal listed was rejected (when listed, or when read): the records were
                # invalid, not absent
                first = job.problems[0] if job.problems else "no detail kept"
                message = (
                    f"every record the portal listed was invalid ({job.rejected} rejected, none stored); "
                    f"first problem: {_bounded(first)}"
                )
                run = _record(session, jurisdiction, job, "failed", requests, message)
                run.finished_at = utcnow()
                return _summary(run, cfg.slug)
            if listed == 0 and present == 0 and not cfg.allow_empty:
                message = "the portal listed no matters (set allow_empty = true if that is expected)"
                run = _record(session, jurisdiction, job, "failed", requests, message)
                run.finished_at = utcnow()
                return _summary(run, cfg.slug)
            if (present >= COLLAPSE_MIN_STORED and listed < present * job.settings.collapse_ratio) or (
                present > 0 and listed == 0
            ):
                message = (
                    f"suspect listing: the portal listed {listed} matters where {present} are stored; "
                    "nothing was changed"
                )
                run = _record(session, jurisdiction, job, "suspect", requests, message)
                run.seen = listed
                run.finished_at = utcnow()
                return _summary(run, cfg.slug)

        run = _record(session, jurisdiction, job, "succeeded", requests, None)
        _report(run, job, [])
        if jurisdiction.source_key is None:
            key_unkeyed(session, jurisdiction, cfg.source_key, job.started_at)
        importer = Importer(
            session,
            jurisdiction,
            run,
            job.started_at,
            source_key=cfg.source_key,
            moved_from=cfg.moved_from,
        )
        meetings: list[NormalizedMeeting] = []
        members: list[NormalizedMember] = []

        def bills_and_updates() -> Iterator[NormalizedBill | AttachmentsUpdate]:
            for record in read_stage(job):
                if isinstance(record, NormalizedMeeting):
                    meetings.append(record)
                elif isinstance(record, NormalizedMember):
                    members.append(record)
                else:
                    yield record

        for batch in _batches(bills_and_updates()):
            importer.apply_guarded(batch)
        if jurisdiction.source_key != cfg.source_key:
            logger.info(
                "%s: moved from %s to %s (%d bills matched by file number)",
                cfg.slug,
                jurisdiction.source_key,
                cfg.source_key,
                importer.adopted,
            )
            jurisdiction.source_key = cfg.source_key
        if job.lists_everything:
            importer.mark_vanished(job.listed)
        # Match new and changed bills against the sanctuary taxonomy, in the same transaction, with the
        # results the match process beside the crawl precomputed for them when they hold.
        from tracker.matcher.apply import match_bills, precomputed_path, read_precomputed

        precomputed = None
        if matches_ready is not None:
            matches_ready.wait()
            precomputed = read_precomputed(
                precomputed_path(p) for p in (job.stage_path, *job.other_stage_paths)
            )
        match_bills(session, importer.touched, precomputed=precomputed)
        if meetings or members or job.meetings_window is not None:
            _store_meetings(session, jurisdiction, run, job, meetings, members, importer.failed)
        _report(run, job, importer.failed)
        run.finished_at = utcnow()
        logger.info("%s: imported %s", cfg.slug, _summary(run, cfg.slug).line())
        return _summary(run, cfg.slug)


def _store_meetings(
    session: Session,
    jurisdiction: Jurisdiction,
    run: CrawlRun,
    job: CrawlJob,
    meetings: list[NormalizedMeeting],
    members: list[NormalizedMember],
    failed: list[str],
) -> None:
    """Meetings after bills (their agenda items link to bills of this import too), in a savepoint: a
    database refusal of the meetings is reported and leaves the bills of the import stored."""
    from tracker.meetings import MeetingImporter

    importer = MeetingImporter(
        session, jurisdiction, run, job.started_at, source_key=job.jurisdiction.source_key
    )
    try:
        with session.begin_nested():
            importer.store_members(members)
            summary = importer.store(meetings, job.meetings_window, job.meetings_listed)
    except _RECORD_ERRORS as exc:
        if isinstance(exc, _NOT_RECORD_ERRORS):
            raise
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
        message = f"{jurisdiction.slug} meetings: the database refused them ({detail})"
        logger.warning("%s", message)
        failed.append(message)
        return
    logger.info("%s: %s", jurisdiction.slug, summary.line())


def incremental_since(last: datetime | None, overlap_hours: float) -> datetime | None:
    return None if last is None else last - timedelta(hours=overlap_hours)
