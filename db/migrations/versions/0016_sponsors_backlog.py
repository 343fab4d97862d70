"""bills.sponsors_fetched_at: the sponsors backlog of a backfill

A backfill stores the bills whose titles need no documents without their sponsors (``[crawl]
sponsors_by_title``, crawler/attachments.py); sweeps fetch them. Bills stored before this revision came
with their sponsors: they are marked fetched when they were first seen.

Revision ID: 0016_sponsors_backlog
Revises: 0015_bill_matches_relevant_index
Create Date: 2026-12-07 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0016_sponsors_backlog"
down_revision: str | None = "0015_bill_matches_relevant_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bills") as batch:
        batch.add_column(sa.Column("sponsors_fetched_at", db.types.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE bills SET sponsors_fetched_at = first_seen_at")


def downgrade() -> None:
    with op.batch_alter_table("bills") as batch:
        batch.drop_column("sponsors_fetched_at")
