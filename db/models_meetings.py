"""Meetings, their agenda items and roll calls, council members, and the log of hearing changes.

Design rules (docs/meetings.md):
- meetings are keyed on (jurisdiction, source id) and never deleted: a meeting that leaves the portal's
  listing of a window the crawl read completely gets ``vanished_at``;
- ``state`` is ``scheduled`` or ``cancelled`` as the portal says, ``moved`` when its start changed before it
  happened, ``held`` once its start has passed (and it was not cancelled); ``sequence`` counts the changes a
  calendar subscriber must see (RFC 5545 SEQUENCE: a move or a cancellation bumps it);
- a meeting whose portal gives no time starts at local midnight of its date and counts as upcoming until
  the end of that local day (:attr:`Meeting.day_end`; None for a meeting with a time);
- an agenda item points at its bill when the import can find it (by the platform's source id, else by file
  number); a bill found later is linked by a later import;
- ``hearing_changes`` is append-only, like ``status_changes``: one row each time a bill is placed on the
  agenda of an upcoming meeting, the meeting moves, is cancelled, or the bill is taken off it. Digests
  announce each row once (``digest_items`` kind ``hearing``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models import Base, Bill, JSONType, Jurisdiction
from db.types import utcnow


class Meeting(Base):
    """One meeting of a body (a Legistar event, a PrimeGov or CivicClerk meeting, an eLMS meeting)."""

    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "source_id"),
        Index("ix_meetings_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(String(64))
    body_name: Mapped[str | None] = mapped_column(String(300))
    starts_at: Mapped[datetime | None]
    local_date: Mapped[date | None]
    time_zone: Mapped[str] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(Text)
    agenda_url: Mapped[str | None] = mapped_column(Text)
    minutes_url: Mapped[str | None] = mapped_column(Text)
    public_url: Mapped[str | None] = mapped_column(Text)
    comment_instructions: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))  # scheduled | moved | cancelled | held
    # The start the meeting had before its last move (None when it never moved).
    moved_from: Mapped[datetime | None]
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    vanished_at: Mapped[datetime | None]
    # A meeting without a time: the end of its local day (the next local midnight, 23 or 25 hours after its
    # start on the days the clocks change); None: it has a time. A meeting has not started while
    # ``starts_at`` or ``day_end`` is after now (read_model.not_started).
    day_end: Mapped[datetime | None]

    jurisdiction: Mapped[Jurisdiction] = relationship()
    items: Mapped[list[MeetingItem]] = relationship(
        back_populates="meeting", order_by="MeetingItem.sequence", cascade="all, delete-orphan"
    )

    @property
    def timed(self) -> bool:
        """False when the portal gave no time (the start is local midnight of the meeting's date)."""
        return self.day_end is None

    def upcoming_until(self) -> datetime | None:
        """The instant the meeting stops being upcoming: its start, or, without a time, the end of its local
        day."""
        return self.day_end or self.starts_at


class MeetingItem(Base):
    """One item on a meeting's agenda, with what happened to it (action, result, tally, roll call)."""

    __tablename__ = "meeting_items"
    __table_args__ = (UniqueConstraint("meeting_id", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer)
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id", ondelete="SET NULL"), index=True)
    bill_source_id: Mapped[str | None] = mapped_column(String(64))
    identifier: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[str | None] = mapped_column(String(100))
    tally: Mapped[str | None] = mapped_column(String(100))
    agenda_note: Mapped[str | None] = mapped_column(Text)
    minutes_note: Mapped[str | None] = mapped_column(Text)
    # Set while the item is on the meeting's agenda; the time it was seen gone from a complete agenda.
    removed_at: Mapped[datetime | None]

    meeting: Mapped[Meeting] = relationship(back_populates="items")
    bill: Mapped[Bill | None] = relationship()
    votes: Mapped[list[Vote]] = relationship(
        back_populates="item", order_by="Vote.id", cascade="all, delete-orphan"
    )


class Member(Base):
    """A council member of a jurisdiction; ``name_key`` (lower case, single spaces) joins sponsors and
    votes, which portals give by name."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300), index=True)
    source_id: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    jurisdiction: Mapped[Jurisdiction] = relationship()
    terms: Mapped[list[MemberTerm]] = relationship(
        back_populates="member", order_by="MemberTerm.start", cascade="all, delete-orphan"
    )


class MemberTerm(Base):
    """A member's seat on a body."""

    __tablename__ = "member_terms"
    __table_args__ = (UniqueConstraint("member_id", "body_name", "title", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    body_name: Mapped[str] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(200))
    start: Mapped[date | None]
    end: Mapped[date | None]

    member: Mapped[Member] = relationship(back_populates="terms")


class Vote(Base):
    """One member's vote in the roll call of a meeting item."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("meeting_item_id", "member_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_item_id: Mapped[int] = mapped_column(ForeignKey("meeting_items.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    member_name: Mapped[str] = mapped_column(String(300))
    vote: Mapped[str] = mapped_column(String(16))  # tracker.contract.VOTE_VALUES
    text: Mapped[str | None] = mapped_column(String(100))

    item: Mapped[MeetingItem] = relationship(back_populates="votes")
    member: Mapped[Member | None] = relationship()


HEARING_KINDS = ("scheduled", "moved", "cancelled", "removed")


class HearingChange(Base):
    """A bill's hearing changed: placed on an upcoming meeting's agenda (``scheduled``), the meeting moved
    (``moved``, ``old_starts_at`` the start before), was cancelled (``cancelled``), or the bill was taken off
    its agenda or the meeting left the portal (``removed``). Append-only."""

    __tablename__ = "hearing_changes"
    __table_args__ = (Index("ix_hearing_changes_observed_at", "observed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime | None]
    old_starts_at: Mapped[datetime | None]
    observed_at: Mapped[datetime]
    crawl_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL"), index=True
    )

    meeting: Mapped[Meeting] = relationship()
    bill: Mapped[Bill] = relationship()
