"""Chicago eLMS roll calls in a full crawl split over two processes ([crawl] processes = 2): shard 0 reads the
meetings and their agendas, shard 1 only its matters; the roll calls on shard 1's matters are staged as parts
of their meetings and stored at the meetings shard 0 staged (docs/meetings.md, "Chicago eLMS"), with no
request added, once, on SQLite and PostgreSQL; a crawl again (split or not) adds nothing.

Which shard owns a matter is ``CrawlJob.owns`` (CRC-32 of the matterId, modulo 2): of the fixture matters,
shard 0 fetches O2024-0008841 and Or2024-0010033, shard 1 O2022-1001 and R2024-0009120."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Bill
from db.models_meetings import Meeting, MeetingItem, Vote
from tests.conftest import run_tracker, write_config
from tests.platforms.elms_server import CRAWL, ElmsServer, elms_entry
from tests.platforms.test_elms_meetings import HELD, OR2024, R2024, ROLL, roll_call_rows, window_rows
from tracker.contract import MEETING_PART_KEY, NormalizedMeeting, NormalizedMeetingItem, NormalizedVote
from tracker.meetings import merge_parts

O2022 = "E2B7C8D9-1A3B-ED11-82E3-001DD80698CB"  # O2022-1001


def shard_of(matter_id: str) -> int:
    return zlib.crc32(matter_id.encode()) % 2


def split_config(tmp_path, server, db_url):
    return write_config(
        tmp_path / "t.toml", [elms_entry(server)], database_url=db_url, crawl={**CRAWL, "processes": 2}
    )


def voted(meeting_id: str, votes: list[tuple[str, str]], name: str = "Adopted", sort: int = 30) -> dict:
    return {
        "actionDate": datetime.now(UTC).isoformat(),
        "actionName": name,
        "actionByName": "City Council",
        "sort": sort,
        "meetingId": meeting_id,
        "votes": [{"voterName": member, "vote": value} for member, value in votes],
    }


def portal() -> ElmsServer:
    """The three meetings of the window; the held one lists Or2024-0010033 (shard 0) and O2022-1001 (shard 1)
    on its agenda. Roll calls at it: Or2024 (shard 0, on the agenda), O2022 (shard 1, on the agenda) and
    R2024 (shard 1, not on the agenda: an item of its own). R2024's recorded roll calls name meetings outside
    the window (not stored)."""
    assert (shard_of(OR2024), shard_of(O2022), shard_of(R2024)) == (0, 1, 1)
    server = ElmsServer()
    rows = window_rows()
    held = next(r for r in rows if r["meetingId"] == HELD)
    held["agenda"]["groups"][0]["items"].append(
        {"matterId": O2022, "recordNumber": "O2022-1001", "matterTitle": "O2022-1001", "sort": 2,
         "actionName": "Passed"}
    )  # fmt: skip
    server.meeting_rows = rows
    server.add_action(OR2024, voted(HELD.lower(), ROLL))
    server.add_action(O2022, voted(HELD, ROLL[:3], name="Passed"))
    server.add_action(R2024, voted(HELD, ROLL[1:4], name="Adopted as amended", sort=50))
    return server


EXPECTED = sorted(
    [(HELD, OR2024, m, v) for m, v in ROLL]
    + [(HELD, O2022, m, v) for m, v in ROLL[:3]]
    + [(HELD, R2024, m, v) for m, v in ROLL[1:4]]
)


def stored_votes(engine) -> list[tuple]:
    return sorted(
        (meeting, bill, member, text) for meeting, bill, member, _vote, text in roll_call_rows(engine)
    )


def counts(engine) -> tuple[int, int, int]:
    with session_scope(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(Meeting)),
            s.scalar(select(func.count()).select_from(MeetingItem)),
            s.scalar(select(func.count()).select_from(Vote)),
        )


def held_items(engine) -> list[tuple]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(MeetingItem.bill_source_id, MeetingItem.identifier, MeetingItem.action, Bill.source_id)
            .join(Meeting, MeetingItem.meeting_id == Meeting.id)
            .outerjoin(Bill, MeetingItem.bill_id == Bill.id)
            .where(Meeting.source_id == HELD, MeetingItem.removed_at.is_(None))
            .order_by(MeetingItem.sequence)
        ).all()
    return [tuple(r) for r in rows]


def test_roll_calls_of_every_shard_land_at_shard_0s_meetings(tmp_path, db_url, engine):
    with portal() as server:
        cfg = split_config(tmp_path, server, db_url)
        first = run_tracker("--config", str(cfg), "crawl", "--full")
        assert first.returncode == 0, first.stderr
        assert "chicago: succeeded (full)" in first.stdout, first.stdout
        # no request added: each shard lists the one matter page and fetches its own matters; shard 0 alone
        # lists the meetings and reads each agenda once
        details = server.detail_requests()
        assert len(details) == len(set(details)) == 6
        assert len(server.list_requests()) == 2
        assert sorted(server.agenda_requests()) == sorted(r["meetingId"] for r in window_rows()[:3])
        assert len(server.requests) == 2 + 6 + 1 + 3

        assert stored_votes(engine) == EXPECTED
        # each roll call on its matter's item: O2022's on the agenda's own item (one item, not two), R2024's
        # on an item of its own; every item linked to its bill
        assert held_items(engine) == [
            (OR2024, "Or2024-0010033", "Adopted", OR2024),
            (O2022, "O2022-1001", "Passed", O2022),
            (R2024, "R2024-0009120", "Adopted as amended", R2024),
        ]
        # the recorded roll calls of R2024 name meetings outside the window: no meeting stored for them
        assert counts(engine) == (3, 5, len(EXPECTED))
        before = counts(engine)

        # Again, split: nothing added, nothing duplicated.
        second = run_tracker("--config", str(cfg), "crawl", "--full")
        assert second.returncode == 0, second.stderr
        assert stored_votes(engine) == EXPECTED
        assert counts(engine) == before
        # And an incremental crawl in one process (it reads the recent matters again): still the same.
        third = run_tracker("--config", str(cfg), "crawl")
        assert third.returncode == 0, third.stderr
        assert "chicago: succeeded (incremental)" in third.stdout, third.stdout
        assert stored_votes(engine) == EXPECTED
        assert counts(engine) == before
        assert held_items(engine)[1:] == [
            (O2022, "O2022-1001", "Passed", O2022),
            (R2024, "R2024-0009120", "Adopted as amended", R2024),
        ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_failed_meetings_listing_stores_no_part(tmp_path, db_url, engine):
    """Shard 0's meetings listing answers garbage: the bills of both shards are stored, no meeting and no roll
    call (a part without its meeting is dropped); the next crawl stores them."""
    with portal() as server:
        cfg = split_config(tmp_path, server, db_url)
        server.fail("^/meeting$", "garbage", times=2)  # the request and its one retry
        first = run_tracker("--config", str(cfg), "crawl", "--full")
        assert "Traceback" not in first.stderr
        (line,) = [x for x in first.stdout.splitlines() if x.startswith("chicago:")]
        assert line.startswith("chicago: partial (full) - 6 bills seen, 6 new"), line
        assert "meetings not read completely" in line
        assert counts(engine) == (0, 0, 0)
        with session_scope(engine) as s:
            assert s.scalar(select(func.count()).select_from(Bill)) == 6

        second = run_tracker("--config", str(cfg), "crawl", "--full")
        assert second.returncode == 0, second.stderr
        assert stored_votes(engine) == EXPECTED


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_failed_agenda_keeps_the_items_and_takes_the_roll_calls(tmp_path, db_url, engine):
    """The held meeting's agenda read fails in a split crawl: the meeting is stored as listed, the items
    stored before stay, and the roll calls of both shards are stored on them (as in one process)."""
    with portal() as server:
        cfg = split_config(tmp_path, server, db_url)
        assert run_tracker("--config", str(cfg), "crawl", "--full").returncode == 0
        items = held_items(engine)
        server.fail(f"^/meeting-agenda/{HELD}$", "500")
        again = run_tracker("--config", str(cfg), "crawl", "--full")
        (line,) = [x for x in again.stdout.splitlines() if x.startswith("chicago:")]
        assert line.startswith("chicago: partial (full)") and "agenda items of a meeting not read" in line
        # the same items (in another order: the roll calls' items come after the agenda read failed)
        assert sorted(held_items(engine)) == sorted(items)
        assert stored_votes(engine) == EXPECTED


def part(meeting_id: str, *items: NormalizedMeetingItem) -> NormalizedMeeting:
    return NormalizedMeeting(
        source_id=meeting_id,
        body_name=None,
        starts_at=None,
        local_date=None,
        time_zone="America/Chicago",
        items=list(items),
        items_complete=False,
        raw={MEETING_PART_KEY: True},
    )


def test_merge_parts_folds_roll_calls_into_their_meeting_and_drops_the_rest():
    yes = [NormalizedVote("A", "yes", "Yea")]
    meeting = NormalizedMeeting(
        source_id="M1",
        body_name="City Council",
        starts_at=datetime(2026, 1, 14, 16, tzinfo=UTC),
        local_date=datetime(2026, 1, 14).date(),
        time_zone="America/Chicago",
        items=[NormalizedMeetingItem("X", 0, title="On the agenda", bill_source_id="X", action="Passed")],
    )
    merged = merge_parts(
        [
            part("M1", NormalizedMeetingItem("X", 0, bill_source_id="X", action="Adopted", votes=yes)),
            meeting,
            part("M1", NormalizedMeetingItem("Y", 0, bill_source_id="Y", action="Adopted", votes=yes)),
            part("M2", NormalizedMeetingItem("Z", 0, bill_source_id="Z", votes=yes)),  # M2 not staged
        ]
    )
    (only,) = merged
    assert only.starts_at == meeting.starts_at and only.items_complete and MEETING_PART_KEY not in only.raw
    assert [(i.source_id, i.sequence, i.title, i.action, i.votes) for i in only.items] == [
        ("X", 0, "On the agenda", "Passed", yes),  # the agenda's action stays
        ("Y", 1, None, "Adopted", yes),
    ]
    assert meeting.items[0].votes == []  # the staged record is not changed in place
    assert merge_parts([meeting]) == [meeting]
