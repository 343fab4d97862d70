"""meetings, agenda items, roll calls, members and hearing changes; subscriptions.member_id

Revision ID: 0014_meetings
Revises: 0013_status_change_fk_indexes
Create Date: 2026-12-06 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from db.types import UTCDateTime

revision: str = "0014_meetings"
down_revision: str | None = "0013_status_change_fk_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("body_name", sa.String(length=300), nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=True),
        sa.Column("local_date", sa.Date(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("agenda_url", sa.Text(), nullable=True),
        sa.Column("minutes_url", sa.Text(), nullable=True),
        sa.Column("public_url", sa.Text(), nullable=True),
        sa.Column("comment_instructions", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("moved_from", UTCDateTime(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("raw", JSONType, nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("vanished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_meetings_jurisdiction_id_jurisdictions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint(
            "jurisdiction_id", "source_id", name=op.f("uq_meetings_jurisdiction_id_source_id")
        ),
    )
    op.create_index("ix_meetings_starts_at", "meetings", ["starts_at"], unique=False)

    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_members_jurisdiction_id_jurisdictions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("jurisdiction_id", "name_key", name=op.f("uq_members_jurisdiction_id_name_key")),
    )
    op.create_index(op.f("ix_members_name_key"), "members", ["name_key"], unique=False)

    op.create_table(
        "member_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("body_name", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("start", sa.Date(), nullable=True),
        sa.Column("end", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_terms_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_terms")),
        sa.UniqueConstraint(
            "member_id",
            "body_name",
            "title",
            "start",
            name=op.f("uq_member_terms_member_id_body_name_title_start"),
        ),
    )
    op.create_index(op.f("ix_member_terms_member_id"), "member_terms", ["member_id"], unique=False)

    op.create_table(
        "meeting_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("bill_id", sa.Integer(), nullable=True),
        sa.Column("bill_source_id", sa.String(length=64), nullable=True),
        sa.Column("identifier", sa.String(length=100), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("action", sa.String(length=200), nullable=True),
        sa.Column("result", sa.String(length=100), nullable=True),
        sa.Column("tally", sa.String(length=100), nullable=True),
        sa.Column("agenda_note", sa.Text(), nullable=True),
        sa.Column("minutes_note", sa.Text(), nullable=True),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_meeting_items_bill_id_bills"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_items_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_items")),
        sa.UniqueConstraint("meeting_id", "source_id", name=op.f("uq_meeting_items_meeting_id_source_id")),
    )
    op.create_index(op.f("ix_meeting_items_bill_id"), "meeting_items", ["bill_id"], unique=False)

    op.create_table(
        "votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_item_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("member_name", sa.String(length=300), nullable=False),
        sa.Column("vote", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_item_id"],
            ["meeting_items.id"],
            name=op.f("fk_votes_meeting_item_id_meeting_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_votes_member_id_members"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_votes")),
        sa.UniqueConstraint(
            "meeting_item_id", "member_name", name=op.f("uq_votes_meeting_item_id_member_name")
        ),
    )
    op.create_index(op.f("ix_votes_member_id"), "votes", ["member_id"], unique=False)

    op.create_table(
        "hearing_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("bill_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=True),
        sa.Column("old_starts_at", UTCDateTime(), nullable=True),
        sa.Column("observed_at", UTCDateTime(), nullable=False),
        sa.Column("crawl_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_hearing_changes_bill_id_bills"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["crawl_run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_hearing_changes_crawl_run_id_crawl_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_hearing_changes_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hearing_changes")),
    )
    op.create_index("ix_hearing_changes_observed_at", "hearing_changes", ["observed_at"], unique=False)
    op.create_index(op.f("ix_hearing_changes_bill_id"), "hearing_changes", ["bill_id"], unique=False)
    op.create_index(op.f("ix_hearing_changes_meeting_id"), "hearing_changes", ["meeting_id"], unique=False)
    op.create_index(
        op.f("ix_hearing_changes_crawl_run_id"), "hearing_changes", ["crawl_run_id"], unique=False
    )

    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("member_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_subscriptions_member_id_members"),
            "members",
            ["member_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(batch.f("ix_subscriptions_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_index(batch.f("ix_subscriptions_member_id"))
        batch.drop_constraint(batch.f("fk_subscriptions_member_id_members"), type_="foreignkey")
        batch.drop_column("member_id")
    op.drop_table("hearing_changes")
    op.drop_table("votes")
    op.drop_table("meeting_items")
    op.drop_table("member_terms")
    op.drop_table("members")
    op.drop_table("meetings")
