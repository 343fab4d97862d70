"""index on bill_matches (relevant, review_state)

The relevant bills (`/api/bills?relevant=true`, its total): confirmed, or relevant to the machine and not
decided otherwise. Without this index the total read every bill's wide match row (57 ms of a 500-bill page
on the web benchmark's SQLite database, 5 ms with it: docs/web.md).

Revision ID: 0015_bill_matches_relevant_index
Revises: 0014_meetings
Create Date: 2026-12-06 13:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_bill_matches_relevant_index"
down_revision: str | None = "0014_meetings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_bill_matches_relevant_review_state", "bill_matches", ["relevant", "review_state"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_bill_matches_relevant_review_state", table_name="bill_matches")
