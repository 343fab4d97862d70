"""Text longer than its column is refused on both engines (db.models' flush check): SQLite would store it
where PostgreSQL refuses it, and a pilot's SQLite database holding it could not be copied to PostgreSQL.
The error names the column; nothing of the flush is written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Jurisdiction
from tests.factories import T0
from tracker.errors import DataError


def test_text_longer_than_its_column_is_refused_by_name(engine):
    too_long = r"^jurisdictions\.name: 301 characters, more than the 300 it holds$"
    with pytest.raises(DataError, match=too_long), session_scope(engine) as s:
        s.add(Jurisdiction(slug="ok", name="fine", platform="legistar", created_at=T0))
        s.add(Jurisdiction(slug="long", name="n" * 301, platform="legistar", created_at=T0))
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Jurisdiction)) == 0
        s.add(Jurisdiction(slug="edge", name="n" * 300, platform="legistar", created_at=T0))
    too_long = r"^jurisdictions\.slug: 65 characters, more than the 64 it holds$"
    with pytest.raises(DataError, match=too_long), session_scope(engine) as s:
        s.scalar(select(Jurisdiction)).slug = "s" * 65
    with session_scope(engine) as s:
        assert s.scalar(select(Jurisdiction.slug)) == "edge"
