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
