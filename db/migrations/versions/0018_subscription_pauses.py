"""subscriptions.paused_at, resumed_at: the last pause of a subscription

A resume moved ``starts_at`` to the resume time, so what happened before the pause and no digest had carried
yet was never announced either. The pause is now kept as an interval that digests leave out. Subscriptions
paused before this revision have no recorded pause: their resume keeps the old behaviour.

Revision ID: 0018_subscription_pauses
Revises: 0017_meeting_day_end
Create Date: 2026-12-07 19:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0018_subscription_pauses"
down_revision: str | None = "0017_meeting_day_end"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("paused_at", db.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resumed_at", db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", recreate="never") as batch:
        batch.drop_column("resumed_at")
        batch.drop_column("paused_at")
