"""SQLAlchemy 2.x typed models: bills, their actions, sponsors and attachments, the status-change log and
the record of every crawl.

Design rules (see docs/architecture.md):
- bills are keyed on (jurisdiction, source id) and are never deleted: a bill that leaves the portal gets
  ``vanished_at``;
- the status-change log is append-only; ``(bill_id, seq)`` is its natural key, so two importers racing on
  the same bill cannot both append the same event;
- every time is an aware UTC datetime (:class:`db.types.UTCDateTime`); portal-local calendar dates are
  plain dates.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from db.types import UTCDateTime, utcnow
from tracker.errors import DataError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        date: Date(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


@functools.cache
def text_limits(table: Table) -> tuple[tuple[Column[Any], int], ...]:
    """The table's text columns with a length (``String(n)``) and that length: what SQLite stores beyond
    and PostgreSQL refuses (the flush check below, and ``tracker db copy``'s check of a source)."""
    return tuple(
        (column, column.type.length)
        for column in table.columns
        if isinstance(column.type, String) and column.type.length
    )


@event.listens_for(Session, "before_flush")
def _check_lengths(session: Session, _context: Any, _instances: Any) -> None:
    """Text longer than its column is refused on both engines, as PostgreSQL refuses it: SQLite would store
    it, and a pilot's database holding it could not be copied to PostgreSQL (tracker db copy). Raised as a
    :class:`~tracker.errors.DataError` naming the column, before anything of the flush is written."""
    for obj in (*session.new, *session.dirty):
        table = getattr(obj, "__table__", None)
        if table is None:
            continue
        for column, limit in text_limits(table):
            value = obj.__dict__.get(column.key)
            if isinstance(value, str) and len(value) > limit:
                raise DataError(
                    f"{table.name}.{column.name}: {len(value):,} characters, more than the {limit} it holds"
                )


class Jurisdiction(Base):
    """A council (or other body) whose legislation is tracked; configured in tracker.toml by slug."""

    __tablename__ = "jurisdictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    platform: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Touched by every import under a row lock: serialises importers of one jurisdiction.
    last_import_at: Mapped[datetime | None]
    # The source its bills come from now ("legistar:chicago", "elms:api.chicityclerkelms.chicago.gov");
    # a change must be declared in the config (moved_from). None until the first crawl.
    source_key: Mapped[str | None] = mapped_column(String(200))

    bills: Mapped[list[Bill]] = relationship(back_populates="jurisdiction")


class Bill(Base):
    """One piece of legislation (a Legistar matter) as last seen on its portal."""

    __tablename__ = "bills"
    # A bill is one source's record until a portal move: ids of two sources of a jurisdiction may collide.
    __table_args__ = (UniqueConstraint("jurisdiction_id", "source_key", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id", ondelete="RESTRICT"))
    source_id: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str | None] = mapped_column(String(100), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    type_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(20), index=True)
    body_name: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[str | None] = mapped_column(String(20))
    introduced: Mapped[date | None]
    agenda_date: Mapped[date | None]
    passed_date: Mapped[date | None]
    enacted_date: Mapped[date | None]
    enactment_number: Mapped[str | None] = mapped_column(String(100))
    source_url: Mapped[str | None] = mapped_column(Text)
    public_url: Mapped[str | None] = mapped_column(Text)
    portal_modified_at: Mapped[datetime | None]
    portal_row_version: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    raw: Mapped[dict[str, Any]]
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    vanished_at: Mapped[datetime | None]
    # When attachments were first fetched; None while the bill waits in the attachments backlog.
    attachments_fetched_at: Mapped[datetime | None]
    # When sponsors were first fetched; None while the bill waits in the sponsors backlog of a backfill.
    sponsors_fetched_at: Mapped[datetime | None]
    # The normalized file number (tracker.contract.identifier_key): how a bill is recognised across sources.
    identifier_key: Mapped[str | None] = mapped_column(String(100), index=True)
    # The source that describes the bill now (see Jurisdiction.source_key).
    source_key: Mapped[str | None] = mapped_column(String(200))
    # Tracked by link (tracker track URL, or the web app's paste box): fetched by every crawl.
    tracked_at: Mapped[datetime | None]
    tracked_by: Mapped[str | None] = mapped_column(String(200))

    jurisdiction: Mapped[Jurisdiction] = relationship(back_populates="bills")
    actions: Mapped[list[Action]] = relationship(
        back_populates="bill", order_by="Action.sequence", cascade="all, delete-orphan"
    )
    sponsors: Mapped[list[Sponsor]] = relationship(
        back_populates="bill", order_by="Sponsor.sequence", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="bill", order_by="Attachment.sequence", cascade="all, delete-orphan"
    )
    status_changes: Mapped[list[StatusChange]] = relationship(
        back_populates="bill", order_by="StatusChange.seq", cascade="all, delete-orphan"
    )
    sources: Mapped[list[BillSource]] = relationship(
        back_populates="bill", order_by="BillSource.first_seen_at", cascade="all, delete-orphan"
    )


class BillSource(Base):
    """One source that described a bill: a platform and client or host, the bill's id and URL there.

    A bill keeps its internal id across portal moves; every source it was seen on stays recorded, so old
    links keep resolving (docs/platforms.md)."""

    __tablename__ = "bill_sources"
    __table_args__ = (UniqueConstraint("source_key", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    source_key: Mapped[str] = mapped_column(String(200))
    source_id: Mapped[str] = mapped_column(String(64))
    identifier: Mapped[str | None] = mapped_column(String(100))
    identifier_key: Mapped[str | None] = mapped_column(String(100))
    public_url: Mapped[str | None] = mapped_column(Text)
    source_url: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]

    bill: Mapped[Bill] = relationship(back_populates="sources")


class Action(Base):
    """One row of a bill's history (a Legistar MatterHistory)."""

    __tablename__ = "actions"
    __table_args__ = (UniqueConstraint("bill_id", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer)
    action_date: Mapped[date | None]
    acted_at: Mapped[datetime | None]
    description: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    body_name: Mapped[str | None] = mapped_column(String(300))
    result: Mapped[str | None] = mapped_column(String(100))
    tally: Mapped[str | None] = mapped_column(String(100))
    classification: Mapped[str] = mapped_column(String(32))
    status_source_id: Mapped[str | None] = mapped_column(String(64))
    event_source_id: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[dict[str, Any]]

    bill: Mapped[Bill] = relationship(back_populates="actions")


class Sponsor(Base):
    __tablename__ = "sponsors"
    __table_args__ = (UniqueConstraint("bill_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    bill: Mapped[Bill] = relationship(back_populates="sponsors")


class Attachment(Base):
    """A document linked from a bill (kept as a link; documents are fetched by a later stage)."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("bill_id", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)

    bill: Mapped[Bill] = relationship(back_populates="attachments")


class StatusChange(Base):
    """One observed change of a bill's status; ``kind`` is ``first_seen`` for the first observation."""

    __tablename__ = "status_changes"
    __table_args__ = (
        UniqueConstraint("bill_id", "seq"),
        Index("ix_status_changes_observed_at", "observed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    old_status: Mapped[str | None] = mapped_column(String(200))
    new_status: Mapped[str | None] = mapped_column(String(200))
    old_stage: Mapped[str | None] = mapped_column(String(20))
    new_stage: Mapped[str] = mapped_column(String(20))
    observed_at: Mapped[datetime]
    # Indexed: deleting a crawl run or an action sets these to NULL, which would otherwise scan the table.
    crawl_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL"), index=True
    )
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"), index=True)

    bill: Mapped[Bill] = relationship(back_populates="status_changes")
    action: Mapped[Action | None] = relationship()


class CrawlRun(Base):
    """What one crawl of one jurisdiction did; succeeded runs define the incremental watermark.

    A crawl is recorded before it starts, as ``running`` with its owner (host, pid, the scheduler's
    generation) and a heartbeat; the importer's own record replaces it when the crawl ends. A ``running`` run
    whose owner is gone is closed as ``interrupted`` (tracker.supervise)."""

    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_jurisdiction_started", "jurisdiction_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(16))  # full | incremental | sweep | track | unknown
    # succeeded | partial | failed | suspect | running | interrupted
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    since: Mapped[datetime | None]
    seen: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    status_changes: Mapped[int] = mapped_column(Integer, default=0)
    vanished: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    # Who runs a `running` crawl: the process that supervises it (the scheduler, or `tracker crawl` run by
    # hand), on which host, and the scheduler's generation (SchedulerLease) when a scheduler started it.
    owner_host: Mapped[str | None] = mapped_column(String(255))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    owner_token: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None]
    # The crawl's temporary stage directory, removed when an interrupted run is closed.
    stage_dir: Mapped[str | None] = mapped_column(Text)


class SchedulerLease(Base):
    """One row: the generation of the scheduler that holds this database's lock. Each scheduler takes the
    next generation when it gets the lock, and every job it starts checks (in the transaction that records
    the job) that the generation is still its own: a scheduler that lost its lock to another can start
    nothing (a fencing token)."""

    __tablename__ = "scheduler_lease"

    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    owner_host: Mapped[str | None] = mapped_column(String(255))
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    acquired_at: Mapped[datetime]
    checked_at: Mapped[datetime]
