"""bills are unique per jurisdiction, source and source id (two sources of one city may reuse ids)

Revision ID: 0008_source_identity
Revises: 0007_search_indexes
Create Date: 2026-11-25 16:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_source_identity"
down_revision: str | None = "0007_search_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bills") as batch:
        batch.drop_constraint("uq_bills_jurisdiction_id_source_id", type_="unique")
        batch.create_unique_constraint(
            "uq_bills_jurisdiction_id_source_key_source_id", ["jurisdiction_id", "source_key", "source_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("bills") as batch:
        batch.drop_constraint("uq_bills_jurisdiction_id_source_key_source_id", type_="unique")
        batch.create_unique_constraint("uq_bills_jurisdiction_id_source_id", ["jurisdiction_id", "source_id"])
