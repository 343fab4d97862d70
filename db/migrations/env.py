"""Alembic environment: the engine comes from the caller (db.engine.upgrade) or from
TRACKER_DATABASE_URL when alembic is run by hand."""

from __future__ import annotations

import os

from alembic import context

from db.engine import make_engine
from db.schema import Base, include_object

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = make_engine(os.environ.get("TRACKER_DATABASE_URL", "sqlite:///tracker.db"))
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place: batch mode copies the table.
            render_as_batch=True,
            compare_type=True,
            include_object=include_object,
        )
        context.run_migrations()


run_migrations_online()
