"""saved searches and followed bills: subscriptions.search_text and subscriptions.bill_id

Revision ID: 0012_saved_searches
Revises: 0011_learned_matcher
Create Date: 2026-12-06 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_saved_searches"
down_revision: str | None = "0011_learned_matcher"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("search_text", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("bill_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_subscriptions_bill_id_bills"), "bills", ["bill_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index(batch.f("ix_subscriptions_bill_id"), ["bill_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_index(batch.f("ix_subscriptions_bill_id"))
        batch.drop_constraint(batch.f("fk_subscriptions_bill_id_bills"), type_="foreignkey")
        batch.drop_column("bill_id")
        batch.drop_column("search_text")
