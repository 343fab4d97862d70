"""The migrations and the models agree (what `alembic check` asks), on SQLite and PostgreSQL, and the
matches migration goes down and up again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from db.engine import alembic_config, current_revision, head_revision, upgrade
from db.schema import Base, include_object


def _differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "target_metadata": Base.metadata, "include_object": include_object},
        )
        return compare_metadata(context, Base.metadata)


def test_migrated_database_matches_the_models(engine):
    assert current_revision(engine) == head_revision(engine)
    assert _differences(engine) == []


def test_matches_migration_downgrades_and_upgrades_again(engine):
    command.downgrade(alembic_config(engine), "0001_initial")
    tables = set(inspect(engine).get_table_names())
    assert {"bill_matches", "review_events"}.isdisjoint(tables)
    assert "bills" in tables
    upgrade(engine)
    assert {"bill_matches", "review_events"} <= set(inspect(engine).get_table_names())
    assert _differences(engine) == []
