"""crawl supervision: running crawls recorded with their owner and a heartbeat; the scheduler's generation

Revision ID: 0010_crawl_supervision
Revises: 0009_review_notes
Create Date: 2026-11-26 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0010_crawl_supervision"
down_revision: str | None = "0009_review_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("owner_host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("owner_pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("owner_token", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", UTC, nullable=True))
        batch.add_column(sa.Column("stage_dir", sa.Text(), nullable=True))
    op.create_table(
        "scheduler_lease",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("owner_host", sa.String(length=255), nullable=True),
        sa.Column("owner_pid", sa.Integer(), nullable=True),
        sa.Column("acquired_at", UTC, nullable=False),
        sa.Column("checked_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_lease")),
    )


def downgrade() -> None:
    op.drop_table("scheduler_lease")
    # Runs that never finished have no place in the older schema's vocabulary: they become failures.
    op.execute("UPDATE crawl_runs SET status = 'failed' WHERE status IN ('running', 'interrupted')")
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("stage_dir")
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner_token")
        batch.drop_column("owner_pid")
        batch.drop_column("owner_host")
