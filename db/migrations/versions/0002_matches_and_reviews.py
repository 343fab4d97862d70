"""matches and reviews: the matcher's current result per bill, the editors' decisions and their history

Revision ID: 0002_matches
Revises: 0001_initial
Create Date: 2026-11-25 12:45:52.020780

Existing bills get no match row here (a migration does not run the matcher): `tracker match` fills them in.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0002_matches"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "bill_matches",
        sa.Column("bill_id", sa.Integer(), nullable=False),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("categories", _json(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=True),
        sa.Column("category_scores", _json(), nullable=False),
        sa.Column("evidence", _json(), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("rules_hash", sa.String(length=64), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("content_keys", _json(), nullable=False),
        sa.Column("matched_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("review_state", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("editor_categories", _json(), nullable=True),
        sa.Column("editor_direction", sa.String(length=16), nullable=True),
        sa.Column("decided_content", _json(), nullable=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("needs_review_reason", sa.Text(), nullable=True),
        sa.Column("flagged_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "review_state IN ('pending', 'confirmed', 'rejected')", name=op.f("ck_bill_matches_review_state")
        ),
        sa.CheckConstraint("source IN ('matcher', 'editor')", name=op.f("ck_bill_matches_source")),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_bill_matches_bill_id_bills"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("bill_id", name=op.f("pk_bill_matches")),
    )
    with op.batch_alter_table("bill_matches", schema=None) as batch_op:
        batch_op.create_index("ix_bill_matches_needs_review", ["needs_review"], unique=False)
        batch_op.create_index("ix_bill_matches_review_state", ["review_state"], unique=False)

    op.create_table(
        "review_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bill_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("categories", _json(), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=True),
        sa.Column("snapshot", _json(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('confirmed', 'rejected', 'added', 'flagged')", name=op.f("ck_review_events_kind")
        ),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_review_events_bill_id_bills"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_events")),
    )
    with op.batch_alter_table("review_events", schema=None) as batch_op:
        batch_op.create_index("ix_review_events_at", ["at"], unique=False)
        batch_op.create_index("ix_review_events_bill_id_id", ["bill_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_events", schema=None) as batch_op:
        batch_op.drop_index("ix_review_events_bill_id_id")
        batch_op.drop_index("ix_review_events_at")

    op.drop_table("review_events")
    with op.batch_alter_table("bill_matches", schema=None) as batch_op:
        batch_op.drop_index("ix_bill_matches_review_state")
        batch_op.drop_index("ix_bill_matches_needs_review")

    op.drop_table("bill_matches")
