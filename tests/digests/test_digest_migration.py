"""The subscriptions-and-outbox migration goes down to the matches schema and up again (the models and the
migrations agree: tests/review/test_review_migration.py checks every table)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from db.engine import alembic_config, current_revision, head_revision, upgrade

TABLES = {"subscriptions", "digests", "digest_items", "digest_deliveries", "alerts"}


def test_digests_migration_downgrades_and_upgrades_again(engine):
    assert set(inspect(engine).get_table_names()) >= TABLES
    command.downgrade(alembic_config(engine), "0002_matches")
    assert current_revision(engine) == "0002_matches"
    assert TABLES.isdisjoint(inspect(engine).get_table_names())
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
