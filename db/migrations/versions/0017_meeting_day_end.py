"""meetings.day_end: the end of the local day of a meeting without a time, as a column

A meeting whose portal gives no time starts at local midnight of its date and counts as upcoming until the
end of that local day. Revision 0014's schema had no place for that instant, so the import kept it in the
meeting's ``raw`` under ``_tracker_day_end`` (epoch seconds) and queries read it through a JSON expression.
It is a column now (indexable, typed, no JSON in queries), filled from ``raw``, and the key leaves ``raw``
(which holds the portal's fields again). The downgrade puts the key back.

Revision ID: 0017_meeting_day_end
Revises: 0016_sponsors_backlog
Create Date: 2026-12-07 18:10:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0017_meeting_day_end"
down_revision: str | None = "0016_sponsors_backlog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_END_KEY = "_tracker_day_end"
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
meetings = sa.table(
    "meetings",
    sa.column("id", sa.Integer),
    sa.column("raw", JSONType),
    sa.column("day_end", db.types.UTCDateTime(timezone=True)),
)


def _day_end(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("day_end", db.types.UTCDateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(meetings.c.id, meetings.c.raw)).all()
    for meeting_id, raw in rows:
        if not isinstance(raw, dict) or DAY_END_KEY not in raw:
            continue
        kept = {k: v for k, v in raw.items() if k != DAY_END_KEY}
        bind.execute(
            meetings.update()
            .where(meetings.c.id == meeting_id)
            .values(raw=kept, day_end=_day_end(raw[DAY_END_KEY]))
        )


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(meetings.c.id, meetings.c.raw, meetings.c.day_end).where(meetings.c.day_end.is_not(None))
    ).all()
    for meeting_id, raw, day_end in rows:
        raw = dict(raw) if isinstance(raw, dict) else {}
        raw[DAY_END_KEY] = int(day_end.timestamp())
        bind.execute(meetings.update().where(meetings.c.id == meeting_id).values(raw=raw))
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later), never a copy of the table: on SQLite, dropping the
    # old table of a copy would delete every agenda item and vote through their ON DELETE CASCADE
    with op.batch_alter_table("meetings", recreate="never") as batch:
        batch.drop_column("day_end")
