"""Digests: subscriptions, the transactional outbox of digests and their deliveries, and operator
alerts.

Exactly-once rests on the database, not on the scheduler:

- ``digests`` is the outbox: one row per (subscription, period), written with its rendered content and its
  items in one transaction *before* anything is sent; a second sender's insert conflicts and does nothing;
- ``digest_items`` has one row per thing a subscriber received, unique per (subscription, kind, ref), so no
  measure or status change can reach a subscriber twice, whatever the periods;
- ``digest_deliveries`` has one row per digest and channel (e-mail, webhook) with its own state machine
  (``pending → sending → sent``, ``retry``, ``held``, ``failed``, ``cancelled``; see
  :mod:`tracker.digests.outbox`); a sender claims a row with a conditional update, so two senders never
  both send it;
- ``alerts`` are the operator alerts about crawl health; at most one is open per key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models import Base
from db.types import utcnow

FREQUENCIES = ("immediate", "daily", "weekly")
SUBSCRIPTION_STATES = ("active", "paused", "removed")
CHANNELS = ("email", "webhook", "slack")
WEBHOOK_FORMATS = ("json", "slack")
DELIVERY_STATES = ("pending", "sending", "sent", "retry", "held", "failed", "cancelled")
ITEM_KINDS = ("measure", "status_change", "hearing", "vote")


class Subscription(Base):
    """A staff member's digest: who, which measures (filters), how often, through which channels."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    # Filters; an empty list means every jurisdiction / every category, no direction means any.
    jurisdictions: Mapped[list[Any]]
    categories: Mapped[list[Any]]
    direction: Mapped[str | None] = mapped_column(String(16))
    confirmed_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # Matches the model is unsure about (docs/matching.md) reach the subscriber only when asked for.
    include_uncertain: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status_changes: Mapped[bool] = mapped_column(Boolean, default=True)
    # A saved search: only bills whose text contains these words (the web search's matching), matched to
    # sanctuary or not; new ones and their status changes.
    search_text: Mapped[str | None] = mapped_column(String(200))
    # A followed bill: that bill's status changes only, whatever its match (the other filters are unused).
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), index=True)
    # A followed member: their new sponsorships and their votes on matched measures.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    # When: immediate | daily | weekly, at a local time (HH:MM) in ``timezone``; weekly on ``weekday``
    # (0 = Monday).
    frequency: Mapped[str] = mapped_column(String(16))
    at_time: Mapped[str] = mapped_column(String(5), default="08:00")
    weekday: Mapped[int] = mapped_column(Integer, default=0)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Channels: e-mail to ``email`` unless disabled; a webhook (plain JSON or Slack-compatible). Every
    # subscription also has an Atom feed, named by the unguessable ``feed_token``.
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_format: Mapped[str] = mapped_column(String(8), default="json")
    feed_token: Mapped[str] = mapped_column(String(43), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="active")
    # Nothing observed before this time is announced (the creation time; before migration 0018, or after a
    # pause that migration did not see, the time of the last resume).
    starts_at: Mapped[datetime]
    # The last pause, and the resume that ended it: nothing observed in between is announced (unless the
    # resume caught up, which clears both); what came before the pause and was not yet sent still is.
    paused_at: Mapped[datetime | None]
    resumed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    digests: Mapped[list[Digest]] = relationship(back_populates="subscription", order_by="Digest.id")


class Digest(Base):
    """The outbox: one digest per subscription and period, recorded with its frozen content before any
    channel is tried."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("subscription_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    # The period's key: a local date (daily), an ISO week (weekly) or a UTC minute (immediate).
    period: Mapped[str] = mapped_column(String(32))
    # The scheduled instant the period stands for (UTC).
    scheduled_for: Mapped[datetime]
    # Stable identity for every channel: e-mail Message-ID, webhook event id, Atom entry id.
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # The structured content every rendering is made from (the webhook's payload).
    content: Mapped[dict[str, Any]]
    measures: Mapped[int] = mapped_column(Integer, default=0)
    changes: Mapped[int] = mapped_column(Integer, default=0)

    subscription: Mapped[Subscription] = relationship(back_populates="digests")
    deliveries: Mapped[list[DigestDelivery]] = relationship(
        back_populates="digest", order_by="DigestDelivery.id", cascade="all, delete-orphan"
    )


class DigestItem(Base):
    """What a subscriber has received: a measure (``ref_id`` = bill id), a status change (``ref_id`` =
    status change id), a hearing change (``hearing``: the hearing change id) or a followed member's vote
    (``vote``: the agenda item id, as votes are rewritten with their roll call). Unique per subscription, so
    nothing is announced twice."""

    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("subscription_id", "kind", "ref_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int] = mapped_column(Integer)


class DigestDelivery(Base):
    """One channel's delivery of one digest, with its attempts."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("digest_id", "channel"),
        Index("ix_digest_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook | slack
    # The address or URL at recording time (a later change of the subscription does not redirect it).
    target: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # While sending: ``claimed`` (nothing transmitted yet: safe to retry) or ``transmitting`` (the message
    # may have reached the server: in doubt if the sender dies).
    phase: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    held_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    released_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    digest: Mapped[Digest] = relationship(back_populates="deliveries")


class Alert(Base):
    """An operator alert (a jurisdiction that stopped crawling, keeps failing or suddenly lists nothing; a
    held digest). At most one alert per key is open (``resolved_at`` is null)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_key",
            "key",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    # When the operator was last told that it is open, and told that it cleared.
    notified_at: Mapped[datetime | None]
    resolved_notified_at: Mapped[datetime | None]


__all__ = [
    "CHANNELS",
    "DELIVERY_STATES",
    "FREQUENCIES",
    "ITEM_KINDS",
    "SUBSCRIPTION_STATES",
    "WEBHOOK_FORMATS",
    "Alert",
    "Digest",
    "DigestDelivery",
    "DigestItem",
    "Subscription",
]
