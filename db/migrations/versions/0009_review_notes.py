"""review events of kind "noted": an editor's note without a decision

Revision ID: 0009_review_notes
Revises: 0008_source_identity
Create Date: 2026-11-25 16:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_review_notes"
down_revision: str | None = "0008_source_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "kind IN ('confirmed', 'rejected', 'added', 'flagged')"
NEW = "kind IN ('confirmed', 'rejected', 'added', 'flagged', 'noted')"


def upgrade() -> None:
    with op.batch_alter_table("review_events") as batch:
        batch.drop_constraint(op.f("ck_review_events_kind"), type_="check")
        batch.create_check_constraint("kind", NEW)


def downgrade() -> None:
    op.execute("DELETE FROM review_events WHERE kind = 'noted'")
    with op.batch_alter_table("review_events") as batch:
        batch.drop_constraint(op.f("ck_review_events_kind"), type_="check")
        batch.create_check_constraint("kind", OLD)
