"""bill sources across platforms and hosts, portal moves, tracked bills

Revision ID: 0006_sources
Revises: 0005_documents
Create Date: 2026-11-25 15:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0006_sources"
down_revision: str | None = "0005_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("jurisdictions") as batch:
        batch.add_column(sa.Column("source_key", sa.String(length=200), nullable=True))
    with op.batch_alter_table("bills") as batch:
        batch.add_column(sa.Column("identifier_key", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("source_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("tracked_at", UTC, nullable=True))
        batch.add_column(sa.Column("tracked_by", sa.String(length=200), nullable=True))
        batch.create_index(batch.f("ix_bills_identifier_key"), ["identifier_key"], unique=False)
    op.create_table(
        "bill_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bill_id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("identifier", sa.String(length=100), nullable=True),
        sa.Column("identifier_key", sa.String(length=100), nullable=True),
        sa.Column("public_url", sa.Text(), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("first_seen_at", UTC, nullable=False),
        sa.Column("last_seen_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_bill_sources_bill_id_bills"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_sources")),
        sa.UniqueConstraint("source_key", "source_id", name=op.f("uq_bill_sources_source_key_source_id")),
    )
    op.create_index(op.f("ix_bill_sources_bill_id"), "bill_sources", ["bill_id"], unique=False)
    # Existing rows get their source keys and file-number keys at the first crawl after the upgrade
    # (they depend on the configuration): tracker.identity.adopt_unkeyed.


def downgrade() -> None:
    op.drop_index(op.f("ix_bill_sources_bill_id"), table_name="bill_sources")
    op.drop_table("bill_sources")
    with op.batch_alter_table("bills") as batch:
        batch.drop_index(batch.f("ix_bills_identifier_key"))
        batch.drop_column("tracked_by")
        batch.drop_column("tracked_at")
        batch.drop_column("source_key")
        batch.drop_column("identifier_key")
    with op.batch_alter_table("jurisdictions") as batch:
        batch.drop_column("source_key")
