"""bill documents: downloaded files, extracted text and content hashes (issue 7)

Revision ID: 0005_documents
Revises: 0004_web_accounts
Create Date: 2026-11-25 15:10:00.000000
"""

from collections.abc import Sequence

revision: str = "0005_documents"
down_revision: str | None = "0004_web_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
