"""indexes on status_changes.crawl_run_id and status_changes.action_id

Deleting a crawl run (a `running` record replaced by its outcome) or an action sets these columns to NULL
in status_changes; without an index each delete scanned the whole table (196 ms a delete on the
1,000-council benchmark's SQLite database, 2.3 ms with the index: docs/scale.md).

Revision ID: 0013_status_change_fk_indexes
Revises: 0012_saved_searches
Create Date: 2026-12-06 07:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_status_change_fk_indexes"
down_revision: str | None = "0012_saved_searches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_status_changes_crawl_run_id", "status_changes", ["crawl_run_id"], unique=False)
    op.create_index("ix_status_changes_action_id", "status_changes", ["action_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_status_changes_action_id", table_name="status_changes")
    op.drop_index("ix_status_changes_crawl_run_id", table_name="status_changes")
