"""Alembic environment: the engine comes from the caller (db.engine.upgrade) or from
TRACKER_DATABASE_URL when alembic is run by hand."""

from __future__ import annotations

import os

from alembic import context

from db.engine import make_engine
from db.schema import Base, include_object
from tracker.errors import DataError

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = make_engine(os.environ.get("TRACKER_DATABASE_URL", "sqlite:///tracker.db"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode copies a table, drops the old one and renames the copy. With foreign keys on (the
            # tracker's connections turn them on), dropping the old ``bills`` would delete every action,
            # sponsor, status change and review of every bill through their ON DELETE CASCADE. The pragma
            # only takes effect outside a transaction, so it is set before the migrations' one begins.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    # SQLite cannot ALTER most things in place: batch mode copies the table.
                    render_as_batch=True,
                    compare_type=True,
                    include_object=include_object,
                )
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:  # rolled back: the database stays as it was
                        table, rowid, parent, _ = broken[0]
                        raise DataError(
                            f"the migration left {len(broken)} row(s) pointing at missing rows (first: "
                            f"{table} row {rowid} -> {parent}); nothing was changed"
                        )
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


run_migrations_online()
