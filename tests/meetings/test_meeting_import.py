"""Storing meetings: states, moves, cancellations, agenda changes, gone meetings, roll calls, and the
hearing changes digests announce (tracker/meetings.py), on both engines."""

from __future__ import annotations

from datetime import timedelta

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
