"""Storing meetings: states, moves, cancellations, agenda changes, gone meetings, roll calls, and the
hearing changes digests announce (tracker/meetings.py), on both engines."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.engine import session_scope
from db.models_meetings import HearingChange, Meeting, MeetingItem, Member, Vote
from tests.factories import T0, bill, normalized_meeting, store_meetings
from tracker.read_model import hearing_record, next_hearings, vote_records

SOON = T0 + timedelta(days=10)
LATER = T0 + timedelta(days=17)


def _changes(session) -> list[tuple[str, str]]:
    rows = session.execute(
        select(HearingChange.kind, Meeting.source_id)
        .join(Meeting, HearingChange.meeting_id == Meeting.id)
        .order_by(HearingChange.id)
    ).all()
    return [(k, s) for k, s in rows]


def test_scheduled_moved_cancelled_each_recorded_once(engine):
    with session_scope(engine) as s:
        a, b = bill(s), bill(s)
        meeting = normalized_meeting("E1", SOON, [a, b])
        store_meetings(s, [meeting], observed_at=T0)
        assert _changes(s) == [("scheduled", "E1"), ("scheduled", "E1")]
        # the same listing again: nothing new
        store_meetings(s, [normalized_meeting("E1", SOON, [a, b])], observed_at=T0 + timedelta(hours=6))
        assert len(_changes(s)) == 2
        row = s.scalar(select(Meeting))
        assert (row.state, row.sequence) == ("scheduled", 0)

        store_meetings(s, [normalized_meeting("E1", LATER, [a, b])], observed_at=T0 + timedelta(days=1))
        assert _changes(s)[2:] == [("moved", "E1"), ("moved", "E1")]
        s.refresh(row)
        assert (row.state, row.sequence, row.moved_from) == ("moved", 1, SOON)
        moved = s.scalars(select(HearingChange).where(HearingChange.kind == "moved")).first()
        assert (moved.old_starts_at, moved.starts_at) == (SOON, LATER)
        assert hearing_record(row)["at"] == LATER.astimezone(row_zone(row)).isoformat()

        store_meetings(
            s, [normalized_meeting("E1", LATER, [a, b], cancelled=True)], observed_at=T0 + timedelta(days=2)
        )
        assert _changes(s)[4:] == [("cancelled", "E1"), ("cancelled", "E1")]
        s.refresh(row)
        assert (row.state, row.sequence) == ("cancelled", 2)
        assert next_hearings(s, [a.id, b.id], T0 + timedelta(days=2)) == {}
        # still cancelled at the next crawl: announced once
        store_meetings(
            s, [normalized_meeting("E1", LATER, [a, b], cancelled=True)], observed_at=T0 + timedelta(days=3)
        )
        assert len(_changes(s)) == 6


def row_zone(row):
    from zoneinfo import ZoneInfo

    return ZoneInfo(row.time_zone)


def test_next_hearing_is_the_soonest_upcoming_meeting_listing_the_bill(engine):
    with session_scope(engine) as s:
        a, b, c = bill(s), bill(s), bill(s)
        store_meetings(
            s,
            [
                normalized_meeting("E1", LATER, [a], body="City Council"),
                normalized_meeting("E2", SOON, [a, b], body="Public Safety Committee"),
                normalized_meeting("E0", T0 - timedelta(days=3), [c], body="City Council"),
            ],
            observed_at=T0,
        )
        found = next_hearings(s, [a.id, b.id, c.id], T0)
        assert {k: v.source_id for k, v in found.items()} == {a.id: "E2", b.id: "E2"}
        record = hearing_record(found[a.id])
        assert record["body"] == "Public Safety Committee"
        assert record["at"].endswith("-08:00")  # the meeting's own zone, with its offset (PST in November)
        assert record["agenda_url"].startswith("https://")
        # a past meeting is held and announces nothing
        past = s.scalar(select(Meeting).where(Meeting.source_id == "E0"))
        assert past.state == "held"
        assert ("scheduled", "E0") not in _changes(s)


def test_a_bill_taken_off_an_agenda_and_a_meeting_gone_from_the_window(engine):
    with session_scope(engine) as s:
        a, b = bill(s), bill(s)
        store_meetings(
            s, [normalized_meeting("E1", SOON, [a, b]), normalized_meeting("E2", LATER, [b])], observed_at=T0
        )
        window = (T0, T0 + timedelta(days=60))
        # E1's agenda now lists only b; E2 is no longer listed in the window the crawl read completely
        store_meetings(
            s, [normalized_meeting("E1", SOON, [b])], observed_at=T0 + timedelta(days=1), window=window
        )
        kinds = _changes(s)[3:]
        assert sorted(kinds) == [("removed", "E1"), ("removed", "E2")]
        e1_items = s.scalars(select(MeetingItem).join(Meeting).where(Meeting.source_id == "E1")).all()
        assert len(e1_items) == 2  # kept, the removed one marked
        assert sorted(i.removed_at is None for i in e1_items) == [False, True]
        gone = s.scalar(select(Meeting).where(Meeting.source_id == "E2"))
        assert gone.vanished_at is not None  # marked, never deleted
        assert next_hearings(s, [a.id, b.id], T0 + timedelta(days=1)).keys() == {b.id}


def test_an_incomplete_read_marks_nothing_gone(engine):
    with session_scope(engine) as s:
        a = bill(s)
        store_meetings(
            s, [normalized_meeting("E1", SOON, [a]), normalized_meeting("E2", LATER, [a])], observed_at=T0
        )
        # no window (the listing was not read completely) and an agenda not read: nothing removed
        store_meetings(
            s, [normalized_meeting("E1", SOON, [], items_complete=False)], observed_at=T0 + timedelta(days=1)
        )
        assert s.scalar(select(Meeting).where(Meeting.source_id == "E2")).vanished_at is None
        assert all(i.removed_at is None for i in s.scalars(select(MeetingItem)))
        assert [k for k, _ in _changes(s)] == ["scheduled", "scheduled"]


def test_roll_calls_are_stored_per_member_and_read_back_oldest_first(engine):
    with session_scope(engine) as s:
        a = bill(s)
        store_meetings(
            s,
            [
                normalized_meeting(
                    "E5",
                    T0 - timedelta(days=20),
                    [a],
                    body="Public Safety Committee",
                    votes={a.source_id: [("Ana Ruiz", "yes"), ("Ben Cho", "no")]},
                    result="Pass",
                ),
                normalized_meeting(
                    "E6",
                    T0 - timedelta(days=5),
                    [a],
                    body="City Council",
                    votes={a.source_id: [("Ana Ruiz", "yes"), ("Ben Cho", "yes"), ("Cy Dee", "absent")]},
                    result="Pass",
                ),
            ],
            observed_at=T0,
        )
        votes = vote_records(s, a.id)
        assert [v["body"] for v in votes] == ["Public Safety Committee", "City Council"]
        assert votes[0]["roll_call"] == [
            {"member": "Ana Ruiz", "vote": "yes"},
            {"member": "Ben Cho", "vote": "no"},
        ]
        assert votes[1]["tally"] == "2 yes, 1 absent"
        assert votes[1]["result"] == "Pass"
        members = {m.name: m for m in s.scalars(select(Member))}
        assert set(members) == {"Ana Ruiz", "Ben Cho", "Cy Dee"}
        assert s.scalar(select(Vote).where(Vote.member_name == "Cy Dee")).member_id == members["Cy Dee"].id


def test_a_member_stored_again_with_a_term_kept_and_one_added(engine):
    from datetime import date

    from db.models_meetings import MemberTerm
    from tests.factories import jurisdiction
    from tracker.contract import NormalizedMember, NormalizedTerm
    from tracker.meetings import MeetingImporter

    council = NormalizedTerm("City Council", "Council Member", date(2023, 1, 1), date(2026, 12, 31))
    committee = NormalizedTerm("Public Safety Committee", "Chair", date(2024, 1, 1), None)
    with session_scope(engine) as s:
        j = jurisdiction(s)
        MeetingImporter(s, j, None, T0).store_members([NormalizedMember("Ana Ruiz", "P1", [council])])
    with session_scope(engine) as s:
        j = jurisdiction(s)
        importer = MeetingImporter(s, j, None, T0 + timedelta(days=1))
        importer.store_members([NormalizedMember("Ana Ruiz", "P1", [council, committee])])
        importer.store_members([NormalizedMember("ana  ruiz", "P1", [council, committee])])  # unchanged
    with session_scope(engine) as s:
        rows = s.execute(select(MemberTerm.body_name, MemberTerm.title).order_by(MemberTerm.body_name)).all()
        assert [tuple(r) for r in rows] == [
            ("City Council", "Council Member"),
            ("Public Safety Committee", "Chair"),
        ]
        assert s.scalar(select(Member.name)) == "Ana Ruiz"


# -- a meeting moved to a day already past; a meeting without a time -----------------------------------------


def test_a_meeting_moved_to_a_day_already_past_is_announced_as_moved_once(engine):
    with session_scope(engine) as s:
        a = bill(s)
        store_meetings(s, [normalized_meeting("E1", LATER, [a])], observed_at=T0)
        # before it happened, the portal moved it to a day that has passed when the next crawl reads it
        crawl = T0 + timedelta(days=12)
        yesterday = crawl - timedelta(days=1)
        store_meetings(s, [normalized_meeting("E1", yesterday, [a])], observed_at=crawl)
        assert _changes(s) == [("scheduled", "E1"), ("moved", "E1")]
        moved = s.scalars(select(HearingChange).where(HearingChange.kind == "moved")).one()
        assert (moved.bill_id, moved.old_starts_at, moved.starts_at) == (a.id, LATER, yesterday)
        row = s.scalar(select(Meeting))
        assert (row.state, row.moved_from, row.sequence) == ("held", LATER, 1)
        assert next_hearings(s, [a.id], crawl) == {}
        # read again: nothing new
        store_meetings(s, [normalized_meeting("E1", yesterday, [a])], observed_at=crawl + timedelta(hours=6))
        assert len(_changes(s)) == 2


LA = ZoneInfo("America/Los_Angeles")


def _legistar_meeting(a, event_id: int, day: date, at: str | None):
    """A Legistar event of ``day`` at ``at`` ("TBD": no time) listing bill ``a``, read by the platform's
    parser."""
    from tracker.platforms.legistar import normalize_event

    event = {
        "EventId": event_id,
        "EventBodyName": "Public Safety Committee",
        "EventDate": f"{day.isoformat()}T00:00:00",
        "EventTime": at,
        "EventLocation": "City Hall, Room 340",
    }
    items = [
        {
            "EventItemId": event_id * 10,
            "EventItemAgendaSequence": 1,
            "EventItemMatterId": int(a.source_id),
            "EventItemMatterFile": a.identifier,
            "EventItemTitle": a.title,
        }
    ]
    return normalize_event(
        slug="riverton", event=event, items=items, votes=None, zone=LA, time_zone="America/Los_Angeles"
    )


def test_a_meeting_without_a_time_is_upcoming_until_the_end_of_its_local_day(engine):
    day = date(2026, 11, 12)
    with session_scope(engine) as s:
        a = bill(s)
        store_meetings(s, [_legistar_meeting(a, 7, day, "TBD")], observed_at=T0)
        assert _changes(s) == [("scheduled", "7")]
        # read on the morning of its day: stored at local midnight, but not started
        morning = datetime(2026, 11, 12, 9, 0, tzinfo=LA)
        store_meetings(s, [_legistar_meeting(a, 7, day, "TBD")], observed_at=morning)
        row = s.scalar(select(Meeting))
        assert row.starts_at == datetime(2026, 11, 12, tzinfo=LA)
        assert row.state == "scheduled"
        assert row.timed is False
        assert next_hearings(s, [a.id], datetime(2026, 11, 12, 23, 59, tzinfo=LA))[a.id].id == row.id
        # its day is over: no longer ahead, and held
        after = datetime(2026, 11, 13, 0, 1, tzinfo=LA)
        assert next_hearings(s, [a.id], after) == {}
        store_meetings(s, [_legistar_meeting(a, 7, day, "")], observed_at=after)
        s.refresh(row)
        assert row.state == "held"
        assert _changes(s) == [("scheduled", "7")]
        # the local day, not 24 hours: Sunday 1 November 2026 has 25 (the clocks go back)
        b = bill(s)
        store_meetings(
            s, [_legistar_meeting(b, 8, date(2026, 11, 1), "TBD")], observed_at=T0 - timedelta(days=9)
        )
        assert next_hearings(s, [b.id], datetime(2026, 11, 1, 23, 30, tzinfo=LA)).keys() == {b.id}
        assert next_hearings(s, [b.id], datetime(2026, 11, 2, 0, 0, tzinfo=LA)) == {}


def test_a_time_given_for_a_meeting_without_one_is_not_a_move(engine):
    day = date(2026, 11, 12)
    with session_scope(engine) as s:
        a = bill(s)
        store_meetings(s, [_legistar_meeting(a, 7, day, "TBD")], observed_at=T0)
        store_meetings(s, [_legistar_meeting(a, 7, day, "10:00 AM")], observed_at=T0 + timedelta(days=1))
        row = s.scalar(select(Meeting))
        assert row.starts_at == datetime(2026, 11, 12, 10, 0, tzinfo=LA)
        assert (row.state, row.moved_from, row.sequence) == ("scheduled", None, 1)  # calendars update
        assert row.timed is True
        assert _changes(s) == [("scheduled", "7")]
        # moved to another day: a move
        later = date(2026, 11, 13)
        store_meetings(s, [_legistar_meeting(a, 7, later, "10:00 AM")], observed_at=T0 + timedelta(days=2))
        assert _changes(s) == [("scheduled", "7"), ("moved", "7")]


def test_migration_0017_moves_the_end_of_day_from_raw_into_its_column(engine):
    """Meetings stored before migration 0017 kept the end of a no-time meeting's day in ``raw``
    (``_tracker_day_end``); ``tracker init`` moves it into ``meetings.day_end`` and out of ``raw``, and the
    meeting stays upcoming until the end of its local day. The downgrade puts it back."""
    from alembic import command
    from sqlalchemy import text

    from db.engine import alembic_config

    day = date(2026, 11, 12)
    end = datetime(2026, 11, 13, tzinfo=LA)
    with session_scope(engine) as s:
        a, b = bill(s), bill(s)
        store_meetings(
            s, [_legistar_meeting(a, 7, day, "TBD"), _legistar_meeting(b, 8, day, "10:00 AM")], observed_at=T0
        )
    config = alembic_config(engine)
    command.downgrade(config, "0016_sponsors_backlog")
    with session_scope(engine) as s:
        stored = dict(s.execute(text("SELECT source_id, raw FROM meetings")).all())
    raws = {k: v if isinstance(v, dict) else json.loads(v) for k, v in stored.items()}
    assert raws["7"]["_tracker_day_end"] == int(end.timestamp())  # as revision 0016 kept it
    assert "_tracker_day_end" not in raws["8"]

    command.upgrade(config, "head")
    with session_scope(engine) as s:
        rows = {m.source_id: m for m in s.scalars(select(Meeting))}
        assert rows["7"].day_end == end and rows["7"].timed is False
        assert "_tracker_day_end" not in rows["7"].raw and rows["7"].raw["EventTime"] == "TBD"
        assert rows["8"].day_end is None and rows["8"].timed is True
        assert next_hearings(s, [a.id], datetime(2026, 11, 12, 23, 59, tzinfo=LA))[a.id].id == rows["7"].id
        assert next_hearings(s, [a.id], datetime(2026, 11, 13, 0, 1, tzinfo=LA)) == {}
