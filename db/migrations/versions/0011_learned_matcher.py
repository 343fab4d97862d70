"""the matcher's learned layer: trained models, the embedding cache, uncertain matches

Revision ID: 0011_learned_matcher
Revises: 0010_crawl_supervision
Create Date: 2026-12-06 04:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0011_learned_matcher"
down_revision: str | None = "0010_crawl_supervision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "matcher_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("embedder", sa.String(length=100), nullable=False),
        sa.Column("training_hash", sa.String(length=64), nullable=False),
        sa.Column("model_hash", sa.String(length=64), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("evaluation", _json(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("trained_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("trained_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matcher_models")),
        sa.UniqueConstraint("version", name=op.f("uq_matcher_models_version")),
    )
    op.create_table(
        "text_embeddings",
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("model", "text_hash", name=op.f("pk_text_embeddings")),
    )
    with op.batch_alter_table("bill_matches") as batch:
        batch.add_column(sa.Column("uncertain", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("learned", _json(), nullable=True))
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(
            sa.Column("include_uncertain", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("include_uncertain")
    with op.batch_alter_table("bill_matches") as batch:
        batch.drop_column("learned")
        batch.drop_column("uncertain")
    op.drop_table("text_embeddings")
    op.drop_table("matcher_models")
