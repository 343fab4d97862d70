"""search indexes for the web app's text search: trigram GIN indexes on PostgreSQL, narrow
covering indexes on SQLite

They serve ``ILIKE '%word%'`` (PostgreSQL) and make the LIKE scans read a small index instead of the
tables (SQLite). They depend on the dialect, so they live here and not in the models; their names start
with ``ix_search_`` and the models-vs-migrations comparison leaves them out (db.schema.include_object).

Revision ID: 0007_search_indexes
Revises: 0006_sources
Create Date: 2026-11-25 15:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_search_indexes"
down_revision: str | None = "0006_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM = [
    ("ix_search_bills_title", "bills", "title"),
    ("ix_search_bills_name", "bills", "name"),
    ("ix_search_bills_identifier", "bills", "identifier"),
    ("ix_search_actions_text", "actions", "text"),
    ("ix_search_documents_text", "documents", "text"),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # In the public schema, whatever the search_path: dropping a schema that held the extension would
        # cascade into every other schema's indexes.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        for name, table, column in TRIGRAM:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} public.gin_trgm_ops)")
    else:
        op.create_index("ix_search_bills_text", "bills", ["title", "name", "identifier"])
        op.create_index("ix_search_actions_text", "actions", ["text", "bill_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _, _ in TRIGRAM:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    else:
        op.drop_index("ix_search_actions_text", table_name="actions")
        op.drop_index("ix_search_bills_text", table_name="bills")
