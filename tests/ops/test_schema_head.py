"""Every command checks the database against ``db.engine.HEAD_REVISION`` without loading Alembic; it must
be the newest migration, what ``tracker init`` upgrades to."""

from __future__ import annotations

import pytest

from db.engine import HEAD_REVISION, alembic_config, head_revision, make_engine, require_schema, upgrade
from tracker.errors import TrackerError


def test_head_revision_constant_is_alembics_head(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'head.db'}")
    assert head_revision(engine) == HEAD_REVISION


def test_require_schema_names_an_old_schema_and_accepts_the_head(tmp_path):
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with pytest.raises(TrackerError, match=r"there is no database at .*old\.db: run `tracker init`"):
        require_schema(engine)
    assert not (tmp_path / "old.db").exists()  # looking for it did not create it
    with engine.connect():
        pass  # now an empty SQLite file
    with pytest.raises(TrackerError, match="has no schema: run `tracker init`"):
        require_schema(engine)
    upgrade(engine, "0011_learned_matcher")
    with pytest.raises(TrackerError, match=f"is at 0011_learned_matcher, this tracker needs {HEAD_REVISION}"):
        require_schema(engine)
    command.upgrade(alembic_config(engine), "head")
    require_schema(engine)


@pytest.mark.parametrize("old", ["0007_search_indexes", "0015_bill_matches_relevant_index"])
def test_migrating_a_database_with_bills_keeps_every_row(db_url, engine, old):
    """SQLite cannot alter a table in place: a migration copies it, drops the old one and renames the copy.
    With the foreign keys the tracker's connections turn on, dropping the old ``bills`` deleted every action,
    sponsor, attachment, status change and match of every bill (ON DELETE CASCADE): an operator upgrading a
    pilot database stored before migration 0008 lost them all. Down to an old revision and up to the head
    again, every row stays (on both engines)."""
    from alembic import command
    from sqlalchemy import text

    from tests.factories import DETAINERS, make_bill, status_change

    bill_id = make_bill(
        engine,
        DETAINERS,
        actions=[(None, "Introduced", None)],
        sponsors=["Ana Ruiz", "Ben Ito"],
        attachments=[("Ordinance text", "https://example.org/o.pdf")],
    )
    status_change(engine, bill_id, "Introduced", "Adopted")
    tables = ("bills", "actions", "sponsors", "attachments", "status_changes", "bill_matches")

    def counts() -> dict[str, int]:
        with engine.connect() as c:
            return {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}

    before = counts()
    assert all(before.values()), before
    config = alembic_config(engine)
    command.downgrade(config, old)
    assert counts() == before
    command.upgrade(config, "head")
    assert counts() == before
    require_schema(engine)
