"""web app accounts, login sessions and per-user feed tokens (issue 6)

Revision ID: 0004_web_accounts
Revises: 0003_digests
Create Date: 2026-11-25 15:10:00.000000
"""

from collections.abc import Sequence

revision: str = "0004_web_accounts"
down_revision: str | None = "0003_digests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
