"""SQLAlchemy 2.x typed models of the matcher's results and the editors' review.

- ``bill_matches``: one row per bill, the *current* match. The machine's fields (``relevant``, ``score``,
  ``categories``, ``direction``, ``evidence``, the rules they were computed with and keys of the text they
  were computed from) are rewritten by every matching run; the editor's fields (``review_state``,
  ``decided_*``, ``editor_categories``, ``editor_direction``, ``note``) only by an editor. Rescoring and
  re-crawls never touch a decision; a material change of the bill after a decision sets ``needs_review``.
- ``review_events``: the append-only history of decisions (``confirmed``, ``rejected``, ``added``) and of
  ``flagged`` events (a decided bill changed materially), with a snapshot of what the editor saw.

See docs/review.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    case,
    false,
    func,
    null,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models import Base, Bill
from db.types import utcnow

#: Review states; ``None`` (no state) means "not relevant to the matcher and never decided": not in the queue.
REVIEW_STATES: tuple[str, ...] = ("pending", "confirmed", "rejected")
DECIDED_STATES: tuple[str, ...] = ("confirmed", "rejected")
#: Who put the bill on the list: the matcher, or an editor (``tracker review add``, a bill it missed).
MATCH_SOURCES: tuple[str, ...] = ("matcher", "editor")
# noted: an editor's note without a decision (the decision, if any, stands).
EVENT_KINDS: tuple[str, ...] = ("confirmed", "rejected", "added", "flagged", "noted")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class BillMatch(Base):
    """The current match of one bill and the editor's decision on it."""

    __tablename__ = "bill_matches"
    __table_args__ = (
        CheckConstraint(_in("review_state", REVIEW_STATES), name="review_state"),
        CheckConstraint(_in("source", MATCH_SOURCES), name="source"),
        # The editors' queue: `tracker review list --state pending`, flagged bills.
        Index("ix_bill_matches_review_state", "review_state"),
        Index("ix_bill_matches_needs_review", "needs_review"),
        # The relevant bills (/api/bills?relevant=true and its total).
        Index("ix_bill_matches_relevant_review_state", "relevant", "review_state"),
    )

    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"), primary_key=True)

    # -- the machine's result (rewritten by every matching run) ---------------------------------------
    relevant: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float)
    categories: Mapped[list[Any]]  # codes, best first; empty when not relevant
    direction: Mapped[str | None] = mapped_column(String(16))
    category_scores: Mapped[dict[str, Any]]
    evidence: Mapped[list[Any]]  # Evidence.to_dict() of every matched phrase, cue and hard negative
    rules_version: Mapped[int] = mapped_column(Integer)
    rules_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the rules file
    # sha256 of the exact inputs (title, name, text): an unchanged input under unchanged rules is skipped.
    input_hash: Mapped[str] = mapped_column(String(64))
    # Word-level keys of each input field ({"title": h, "name": h, "text": h}), for "changed materially".
    content_keys: Mapped[dict[str, Any]]
    matched_at: Mapped[datetime]
    # The learned layer (docs/matching.md): near the model's decision boundary, and what it adds to the
    # evidence (probability, similar labelled titles, why this direction, model version); None: rules only.
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    learned: Mapped[dict[str, Any] | None]

    # -- the review (written only by editors, and by the "changed after decision" flag) ----------------
    source: Mapped[str] = mapped_column(String(16), default="matcher")
    review_state: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    # What the editor confirmed (their corrections, or the machine's values they agreed with); None when
    # rejected or undecided. Kept apart from the machine's fields, which later rescoring may change.
    editor_categories: Mapped[list[Any] | None]
    editor_direction: Mapped[str | None] = mapped_column(String(16))
    # What the decision was made on: {"title": ..., "name": ..., "keys": {...content_keys...}}.
    decided_content: Mapped[dict[str, Any] | None]
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_review_reason: Mapped[str | None] = mapped_column(Text)
    flagged_at: Mapped[datetime | None]

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    bill: Mapped[Bill] = relationship()

    @property
    def decided(self) -> bool:
        return self.review_state in DECIDED_STATES

    # -- the effective match: the editor's word when there is one, else the machine's ---------------------
    # One rule, in Python (on a loaded row) and in SQL (``BillMatch.effective_relevant`` in a query: the
    # web's filters and lists, the API, the digests, the CLI's exports and the review queue).

    @hybrid_property
    def effective_relevant(self) -> bool:
        """Confirmed: relevant; rejected: not; undecided: the machine's ``relevant``."""
        if self.review_state == "confirmed":
            return True
        if self.review_state == "rejected":
            return False
        return self.relevant

    @effective_relevant.inplace.expression
    @classmethod
    def _effective_relevant_sql(cls) -> ColumnElement[bool]:
        undecided = or_(cls.review_state.is_(None), cls.review_state == "pending")
        return or_(cls.review_state == "confirmed", and_(cls.relevant.is_(True), undecided))

    @hybrid_property
    def effective_categories(self) -> list[str]:
        """Confirmed: the editor's categories (a confirmation always records at least one); rejected: none;
        undecided: the machine's. In SQL, the JSON array (NULL when rejected)."""
        if self.review_state == "confirmed" and self.editor_categories:
            return list(self.editor_categories)
        if self.review_state == "rejected":
            return []
        return list(self.categories)

    @effective_categories.inplace.expression
    @classmethod
    def _effective_categories_sql(cls) -> ColumnElement[Any]:
        return case(
            (cls.review_state == "confirmed", cls.editor_categories),
            (cls.review_state == "rejected", null()),
            else_=cls.categories,
        )

    @hybrid_property
    def effective_direction(self) -> str | None:
        """Confirmed: the editor's direction, else the machine's; rejected: none; undecided: the machine's."""
        if self.review_state == "confirmed" and self.editor_direction:
            return self.editor_direction
        if self.review_state == "rejected":
            return None
        return self.direction

    @effective_direction.inplace.expression
    @classmethod
    def _effective_direction_sql(cls) -> ColumnElement[str | None]:
        return case(
            (cls.review_state == "confirmed", func.coalesce(cls.editor_direction, cls.direction)),
            (cls.review_state == "rejected", null()),
            else_=cls.direction,
        )

    @property
    def corrected(self) -> bool:
        """An editor confirmed other categories or another direction than the machine's current ones."""
        return self.review_state == "confirmed" and (
            list(self.editor_categories or []) != list(self.categories)
            or (self.editor_direction or None) != self.direction
        )


class ReviewEvent(Base):
    """One entry of a bill's review history (append-only): a decision, or a "flagged for another look"."""

    __tablename__ = "review_events"
    __table_args__ = (
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        Index("ix_review_events_bill_id_id", "bill_id", "id"),
        Index("ix_review_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))  # the editor, or "tracker" for a flag
    note: Mapped[str | None] = mapped_column(Text)  # the editor's note, or the reason of a flag
    categories: Mapped[list[Any] | None]  # what was confirmed or added
    direction: Mapped[str | None] = mapped_column(String(16))
    # What the editor (or the flag) saw: title, name, and the machine's result at that moment.
    snapshot: Mapped[dict[str, Any]]

    bill: Mapped[Bill] = relationship()
