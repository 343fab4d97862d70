"""bill sources across platforms and hosts, portal moves, tracked bills (issue 7)

Revision ID: 0006_sources
Revises: 0005_documents
Create Date: 2026-11-25 15:10:00.000000
"""

from collections.abc import Sequence

revision: str = "0006_sources"
down_revision: str | None = "0005_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
