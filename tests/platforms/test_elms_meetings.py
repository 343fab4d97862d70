"""Chicago eLMS meetings: the 99 rows of the recorded ``GET /meeting`` answer read as meetings, and real
crawls (the `tracker` command in a child process) of the loopback eLMS server (tests/platforms/elms_server.py)
that store the meetings of the window with the agenda items of ``GET /meeting-agenda/{meetingId}`` (read once
per meeting, and not again while the meeting is listed unchanged), record a moved and a cancelled hearing
once each, and leave bills and stored meetings alone when the meetings listing or an agenda answers
garbage."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import Bill
from db.models_meetings import HearingChange, Meeting, MeetingItem, Vote
from tests.clock import local_today
from tests.conftest import run_tracker, write_config
from tests.platforms.conftest import BOTH_ENGINES
from tests.platforms.elms_server import CRAWL, MEETINGS, ElmsServer, elms_entry
from tracker.errors import DataError
from tracker.platforms.elms import (
    meeting_stamp,
    meetings_filter,
    normalize_meeting,
    parse_envelope,
    read_agenda,
)
from tracker.read_model import hearings_and_votes, next_hearings, vote_records

TZ = "America/Chicago"
WEB = "https://chicityclerkelms.chicago.gov"
O2024 = "3A1F6C2E-9B4D-EE11-8F6A-001DD8098532"  # O2024-0008841 (a fixture matter)
R2024 = "D4E8B9A0-2C5E-EE11-8F6A-001DD8098532"  # R2024-0009120
OR2024 = "71C3D2E5-6F8A-EE11-8F6A-001DD8098532"  # Or2024-0010033


def recorded_rows() -> list[dict]:
    return json.loads((MEETINGS / "meeting-list.json").read_bytes())["data"]


def read(row: dict):
    return normalize_meeting(row, slug="chicago", web_base=WEB, timezone=TZ)


# -- the recorded answer ---------------------------------------------------------------------------------


def test_the_recorded_meeting_list_reads_as_meetings():
    page = parse_envelope(json.loads((MEETINGS / "meeting-list.json").read_bytes()))
    meetings = [read(row) for row in page.rows]
    assert len({m.source_id for m in meetings}) == 99
    first = meetings[0]
    assert first.source_id == "05889499-4C56-EE11-BE6E-001DD8098532"
    assert first.body_name == "Committee on Zoning, Landmarks and Building Standards"
    # written in UTC with an offset: a 10:00 Chicago meeting
    assert first.starts_at == datetime(2023, 10, 12, 15, 0, tzinfo=UTC)
    assert first.local_date.isoformat() == "2023-10-12" and first.time_zone == TZ
    assert first.location == "City Council Chamber, 2nd Fl, City Hall, 121 N LaSalle St - Chicago, IL 60602"
    assert first.comment_instructions == "Written public comment deadline October 11, 2023, 3:00 PM"
    assert first.agenda_url == (
        "https://occprodstoragev1.blob.core.usgovcloudapi.net/meetingattachmentspublic/"
        "00d71fb1-60b5-4a22-8d0b-abf981d6149f.pdf"
    )
    assert first.public_url == f"{WEB}/Meeting/?meetingId=05889499-4C56-EE11-BE6E-001DD8098532"
    assert first.minutes_url is None and not first.cancelled
    # the list carries no agenda: no items, and the items stored are not taken off
    assert all(m.items == [] and not m.items_complete for m in meetings)

    by_status = Counter((m.raw["status"], m.cancelled) for m in meetings)
    # 5 rows say Cancelled; 7 older rows without a status say it in their comment ("CANCELLATION of ...")
    assert by_status[("Cancelled", True)] == 5
    assert by_status[(None, True)] == 7
    assert by_status[("Rescheduled", False)] == 3 and by_status[("Recessed", False)] == 1
    assert sum(m.cancelled for m in meetings) == 12
    # a comment that is not about public comment is not shown as its instructions
    special = next(m for m in meetings if m.raw["comment"] == "Special Meeting")
    assert special.comment_instructions is None


def test_agenda_items_link_matters_and_bad_rows_are_named():
    row = copy.deepcopy(recorded_rows()[0])
    row["agenda"] = {
        "groups": [
            {
                "title": "Ordinances",
                "items": [
                    {"matterId": O2024.lower(), "recordNumber": "O2024-0008841", "matterTitle": " Zoning ",
                     "sort": 1, "actionName": "Recommended to Pass"},
                    {"commentId": "c-1", "matterTitle": "Public comment", "sort": 2},
                ],
            }
        ]
    }  # fmt: skip
    meeting = read(row)
    assert [(i.source_id, i.bill_source_id, i.identifier, i.title, i.action) for i in meeting.items] == [
        (O2024, O2024, "O2024-0008841", "Zoning", "Recommended to Pass"),
        ("c-1", None, None, "Public comment", None),
    ]
    assert meeting.items_complete

    for change, message in [
        ({"meetingId": None}, "a meeting without a valid meetingId"),
        ({"date": "Thursday"}, "malformed date 'Thursday'"),
        ({"date": None}, "no date"),
        ({"files": "none"}, "files is not a list of objects"),
        ({"agenda": {"groups": "x"}}, "agenda.groups is not a list of objects"),
    ]:
        with pytest.raises(DataError, match=message):
            read({**recorded_rows()[0], **change})


# -- crawls ----------------------------------------------------------------------------------------------


def at(days: int, hour_utc: int = 15) -> str:
    """A start ``days`` after Chicago's local today, written as the API writes it (UTC with an offset)."""
    day = local_today(TZ) + timedelta(days=days)
    return f"{day.isoformat()}T{hour_utc:02d}:00:00+00:00"


def agenda(matter_id: str, number: str) -> dict:
    item = {"matterId": matter_id, "recordNumber": number, "matterTitle": number, "sort": 1}
    return {"groups": [{"title": "Matters", "items": [item]}]}


def window_rows() -> list[dict]:
    """Three meetings of the window built on recorded rows (and the 99 recorded rows of 2023, outside it)."""
    rows = recorded_rows()
    zoning = {**copy.deepcopy(rows[0]), "meetingId": "AAAA0001-0000-4000-8000-000000000001"}
    zoning.update(date=at(10), agenda=agenda(O2024, "O2024-0008841"))
    finance = {**copy.deepcopy(rows[2]), "meetingId": "AAAA0002-0000-4000-8000-000000000002"}
    finance.update(date=at(20, 19), agenda=agenda(R2024, "R2024-0009120"))
    held = {**copy.deepcopy(rows[8]), "meetingId": "AAAA0003-0000-4000-8000-000000000003"}
    held.update(date=at(-3), agenda=agenda(OR2024, "Or2024-0010033"))
    return [zoning, finance, held, *rows]


def config(tmp_path, server, db_url):
    return write_config(tmp_path / "t.toml", [elms_entry(server)], database_url=db_url, crawl=CRAWL)


def crawl(cfg):
    return run_tracker("--config", str(cfg), "crawl")


def meetings(engine) -> dict[str, tuple]:
    with session_scope(engine) as s:
        return {
            m.source_id: (m.state, m.starts_at, m.vanished_at, m.sequence) for m in s.scalars(select(Meeting))
        }


def changes(engine) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(HearingChange.kind, Bill.identifier).join(Bill).order_by(HearingChange.id)
        ).all()
    return [tuple(r) for r in rows]


@BOTH_ENGINES
def test_meetings_of_the_window_stored_moved_and_cancelled_once(tmp_path, db_url, engine):
    with ElmsServer() as server:
        server.meeting_rows = window_rows()
        cfg = config(tmp_path, server, db_url)
        first = crawl(cfg)
        assert first.returncode == 0, first.stderr
        (query,) = [q for p, q in server.requests if p == "/meeting"]
        # the window: 14 days back and 60 ahead of Chicago's local today, in UTC, oldest first
        assert query["sort"] == ["date asc"] and query["skip"] == ["0"]
        assert query["filter"][0].startswith("date ge ") and " and date lt " in query["filter"][0]

        stored = meetings(engine)
        assert set(stored) == {f"AAAA000{n}-0000-4000-8000-00000000000{n}" for n in (1, 2, 3)}
        # the listing's agenda is null: one agenda request per meeting of the window
        assert sorted(server.agenda_requests()) == sorted(stored)
        zoning, finance, held = sorted(stored)
        assert [stored[k][0] for k in (zoning, finance, held)] == ["scheduled", "scheduled", "held"]
        with session_scope(engine) as s:
            items = s.execute(select(MeetingItem.bill_source_id, Bill.identifier).join(Bill)).all()
            meeting = s.scalar(select(Meeting).where(Meeting.source_id == zoning))
            assert meeting.comment_instructions == "Written public comment deadline October 11, 2023, 3:00 PM"
            assert meeting.public_url == f"{WEB}/Meeting/?meetingId={zoning}"
        # each agenda item is linked to the matter it names, stored by the same crawl
        assert sorted(items) == sorted(
            [(O2024, "O2024-0008841"), (R2024, "R2024-0009120"), (OR2024, "Or2024-0010033")]
        )
        # placed on the agendas of upcoming meetings: announced; the meeting already held: not
        assert sorted(changes(engine)) == [("scheduled", "O2024-0008841"), ("scheduled", "R2024-0009120")]

        # The zoning committee moves a day later; the finance meeting is cancelled.
        server.meeting_rows[0].update(date=at(11), status="Rescheduled", comment="Original meeting moved")
        server.meeting_rows[1].update(status="Cancelled")
        second = crawl(cfg)
        assert second.returncode == 0, second.stderr
        # the moved and the cancelled meeting are read again; the held one is unchanged
        assert sorted(server.agenda_requests()[3:]) == sorted([zoning, finance])
        third = crawl(cfg)  # nothing changed since: nothing announced again, no agenda read again
        assert third.returncode == 0, third.stderr
        assert len(server.agenda_requests()) == 5

    stored = meetings(engine)
    assert stored[zoning][0] == "moved" and stored[finance][0] == "cancelled"
    assert stored[zoning][1] == datetime.fromisoformat(at(11))
    assert sorted(changes(engine)) == sorted(
        [
            ("scheduled", "O2024-0008841"),
            ("scheduled", "R2024-0009120"),
            ("moved", "O2024-0008841"),
            ("cancelled", "R2024-0009120"),
        ]
    )
    assert all(v[2] is None for v in stored.values())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("kind", ["garbage", "envelope", "500"])
def test_a_garbage_meetings_listing_leaves_bills_and_meetings_alone(tmp_path, db_url, engine, kind):
    with ElmsServer() as server:
        server.meeting_rows = window_rows()
        cfg = config(tmp_path, server, db_url)
        assert crawl(cfg).returncode == 0
        before = meetings(engine)
        logged = changes(engine)

        now = datetime.now(UTC).isoformat()
        server.add_action(O2024, {"actionDate": now, "actionName": "Passed", "actionByName": "City Council"})
        server.update(O2024, status="Passed", lastPublicationDate=now)
        server.meeting_rows = []  # were it read, every stored meeting would be gone
        server.fail("^/meeting$", kind)
        result = crawl(cfg)

    (line,) = [x for x in result.stdout.splitlines() if x.startswith("chicago:")]
    # partial: the bills are stored, the meetings listing is named
    assert line.startswith("chicago: partial (incremental) - 1 bills seen, 0 new, 1 changed"), line
    assert "meetings not read completely" in line
    assert "Traceback" not in result.stderr
    with session_scope(engine) as s:
        assert s.scalar(select(Bill.status).where(Bill.source_id == O2024)) == "Passed"
    assert meetings(engine) == before
    assert changes(engine) == logged


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_meeting_gone_from_a_complete_listing_is_marked_not_deleted(tmp_path, db_url, engine):
    with ElmsServer() as server:
        server.meeting_rows = window_rows()
        cfg = config(tmp_path, server, db_url)
        assert crawl(cfg).returncode == 0
        zoning = server.meeting_rows.pop(0)["meetingId"]
        result = crawl(cfg)
        assert result.returncode == 0, result.stderr
    stored = meetings(engine)
    assert stored[zoning][2] is not None  # vanished_at
    assert sum(v[2] is not None for v in stored.values()) == 1
    assert ("removed", "O2024-0008841") in changes(engine)


def test_meetings_filter_is_utc():
    start = datetime(2026, 1, 1, 6, tzinfo=UTC)
    assert meetings_filter(start, start + timedelta(days=1)) == (
        "date ge 2026-01-01T06:00:00+00:00 and date lt 2026-01-02T06:00:00+00:00"
    )


# -- agendas: GET /meeting-agenda/{meetingId} ---------------------------------------------------------------


ZONING = "AAAA0001-0000-4000-8000-000000000001"
FINANCE = "AAAA0002-0000-4000-8000-000000000002"
HELD = "AAAA0003-0000-4000-8000-000000000003"


def items(engine) -> dict[str, list[tuple[str, bool]]]:
    """Per meeting: its items (record number, still on the agenda)."""
    with session_scope(engine) as s:
        rows = s.execute(
            select(Meeting.source_id, MeetingItem.identifier, MeetingItem.removed_at).join(Meeting)
        ).all()
    out: dict[str, list[tuple[str, bool]]] = {}
    for mid, identifier, removed in rows:
        out.setdefault(mid, []).append((identifier, removed is None))
    return {k: sorted(v) for k, v in out.items()}


def test_the_agenda_answer_is_read_as_the_public_captures_show_it():
    row = recorded_rows()[0]
    mid = row["meetingId"]
    # the shape of the public captures of GET /meeting-agenda/{meetingId}: the meeting, its agenda with
    # status, version and groups of items naming their matter
    answer = {
        **row,
        "agenda": {
            "status": None,
            "version": None,
            "groups": [
                {"title": "Legislative Documents", "notes": None, "sort": 1, "groupTag": None, "items": [
                    {"matterId": O2024, "matterTitle": "Zoning", "matterType": "Ordinance",
                     "recordNumber": "O2024-0008841", "actionName": "Passed", "actionText": None,
                     "comment": None, "commentId": None, "type": None, "sort": 0, "displayId": None,
                     "agendaItemDescription": None, "hasVotes": True, "voteType": "Roll Call"},
                ]},
            ],
        },
    }  # fmt: skip
    (item,) = read_agenda(answer, mid, "chicago") or []
    assert (item.bill_source_id, item.identifier, item.title, item.action) == (
        O2024,
        "O2024-0008841",
        "Zoning",
        "Passed",
    )
    assert read_agenda({**answer, "agenda": {"status": None, "version": None, "groups": []}}, mid, "c") == []
    assert read_agenda({**answer, "agenda": None}, mid, "chicago") is None  # none published: not read
    for bad, message in [
        ([], "not a JSON object"),
        ({"items": [], "total": 0}, "the agenda answer is for meeting"),
        ({**answer, "meetingId": FINANCE}, "the agenda answer is for meeting"),
        ({k: v for k, v in answer.items() if k != "agenda"}, "has no agenda"),
        ({**answer, "agenda": {"status": None}}, "has no list of groups"),
        ({**answer, "agenda": {"groups": [{"items": "x"}]}}, "items is not a list of objects"),
    ]:
        with pytest.raises(DataError, match=message):
            read_agenda(bad, mid, "chicago")
    # the stamp moves with what the listing shows, and when the meeting has been held
    assert meeting_stamp(row, False) == meeting_stamp(copy.deepcopy(row), False)
    assert meeting_stamp(row, False) != meeting_stamp({**row, "comment": "Moved"}, False)
    assert meeting_stamp(row, False) != meeting_stamp(row, True)


def test_agenda_items_give_the_next_hearing_and_are_read_once(tmp_path, db_url, engine):
    with ElmsServer() as server:
        server.meeting_rows = window_rows()
        cfg = config(tmp_path, server, db_url)
        first = crawl(cfg)
        assert first.returncode == 0, first.stderr
        assert sorted(server.agenda_requests()) == [ZONING, FINANCE, HELD]
        assert items(engine) == {
            ZONING: [("O2024-0008841", True)],
            FINANCE: [("R2024-0009120", True)],
            HELD: [("Or2024-0010033", True)],
        }
        with session_scope(engine) as s:
            bills = dict(s.execute(select(Bill.identifier, Bill.id)).all())
            found = next_hearings(s, bills.values(), datetime.now(UTC))
            hearing = {b: (m.source_id, m.body_name) for b, m in found.items()}
        assert hearing[bills["O2024-0008841"]] == (
            ZONING,
            "Committee on Zoning, Landmarks and Building Standards",
        )
        assert hearing[bills["R2024-0009120"]][0] == FINANCE
        assert bills["Or2024-0010033"] not in hearing  # on the agenda of a meeting already held

        # Nothing listed changed: no agenda is asked for again (the bills' crawl goes on as before).
        before = len(server.requests)
        second = crawl(cfg)
        assert second.returncode == 0, second.stderr
        assert len(server.agenda_requests()) == 3
        assert [p for p, _ in server.requests[before:] if p == "/meeting"]  # the listing was read

        # The finance committee adds a matter to its agenda and publishes a new agenda file: read again,
        # alone.
        finance = server.meeting_rows[1]
        finance["agenda"]["groups"][0]["items"].append(
            {"matterId": O2024, "recordNumber": "O2024-0008841", "matterTitle": "O2024-0008841", "sort": 2}
        )
        v2 = "https://occprodstoragev1.blob.core.usgovcloudapi.net/meetingattachmentspublic/v2.pdf"
        finance["files"] = [*finance["files"], {"path": v2, "fileName": "v2.pdf", "attachmentType": "Agenda"}]
        before = len(server.requests)
        third = crawl(cfg)
        assert third.returncode == 0, third.stderr
        assert [p for p, _ in server.requests[before:] if p.startswith("/meeting-agenda/")] == [
            f"/meeting-agenda/{FINANCE}"
        ]
    assert items(engine)[FINANCE] == [("O2024-0008841", True), ("R2024-0009120", True)]


@pytest.mark.parametrize(
    ("db_url", "kind"),
    [
        ("sqlite", "garbage"),
        ("postgresql", "garbage"),
        ("sqlite", "envelope"),
        ("sqlite", "html"),
        ("sqlite", "500"),
    ],
    indirect=["db_url"],
)
def test_a_garbage_agenda_leaves_the_items_read_before(tmp_path, db_url, engine, kind):
    with ElmsServer() as server:
        server.meeting_rows = window_rows()
        cfg = config(tmp_path, server, db_url)
        assert crawl(cfg).returncode == 0
        before = items(engine)
        logged = changes(engine)

        # The zoning meeting changes (so its agenda is asked for again) and its agenda would be empty, but
        # the agenda answer is garbage.
        zoning = server.meeting_rows[0]
        zoning["location"] = "Room 201A, City Hall"
        zoning["agenda"] = {"groups": []}
        server.fail(f"^/meeting-agenda/{ZONING}$", kind)
        result = crawl(cfg)
        (line,) = [x for x in result.stdout.splitlines() if x.startswith("chicago:")]
        # partial: the bills and meetings are stored, the agenda not read is named
        assert line.startswith("chicago: partial (incremental)"), line
        assert "agenda items of a meeting not read" in line, line
        assert "Traceback" not in result.stderr
        # the meeting as listed is stored; its items are those read before, none taken off
        assert items(engine) == before
        assert changes(engine) == logged
        with session_scope(engine) as s:
            assert (
                s.scalar(select(Meeting.location).where(Meeting.source_id == ZONING))
                == "Room 201A, City Hall"
            )

        # The agenda answers again: the next crawl reads it (its items were not read), and the empty agenda
        # takes the matter off.
        server.faults.clear()
        n = len(server.agenda_requests())
        again = crawl(cfg)
        assert again.returncode == 0, again.stderr
        assert server.agenda_requests()[n:] == [ZONING]
    assert items(engine)[ZONING] == [("O2024-0008841", False)]
    assert ("removed", "O2024-0008841") in changes(engine)


# -- roll calls ------------------------------------------------------------------------------------------

HELD = "AAAA0003-0000-4000-8000-000000000003"  # window_rows(): held 3 days ago, OR2024 on its agenda
ROLL = [
    ("Hopkins, Brian", "Yea"),
    ("Dowell, Pat", "Yea"),
    ("Lee, Nicole", "Nay"),
    ("Sposato, Nicholas", "Absent"),
    ("Ward 9 seat", "Vacant"),
]


def roll_call_rows(engine) -> list[tuple]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(Meeting.source_id, MeetingItem.bill_source_id, Vote.member_name, Vote.vote, Vote.text)
            .join(MeetingItem, Vote.meeting_item_id == MeetingItem.id)
            .join(Meeting, MeetingItem.meeting_id == Meeting.id)
            .order_by(Vote.id)
        ).all()
    return [tuple(r) for r in rows]


@BOTH_ENGINES
def test_roll_calls_on_matter_actions_are_stored_once_at_their_meeting(tmp_path, db_url, engine):
    now = datetime.now(UTC).isoformat()
    with ElmsServer() as server:
        server.meeting_rows = window_rows()
        votes = [{"voterName": name, "vote": value} for name, value in ROLL]
        # the meeting named in lower case (ids are matched in the API's upper case)
        server.add_action(
            OR2024,
            {"actionDate": now, "actionName": "Adopted", "actionByName": "City Council", "sort": 30,
             "meetingId": HELD.lower(), "votes": votes},
        )  # fmt: skip
        # a roll call at a meeting outside the window (not stored): skipped, no error
        server.add_action(
            OR2024,
            {"actionDate": now, "actionName": "Recommended", "actionByName": "Committee", "sort": 40,
             "meetingId": "BBBB0000-0000-4000-8000-000000000000", "votes": votes[:1]},
        )  # fmt: skip
        cfg = config(tmp_path, server, db_url)
        first = crawl(cfg)
        assert first.returncode == 0, first.stderr
        assert "rejected" not in first.stdout, first.stdout
        stored = roll_call_rows(engine)
        assert stored == [
            (HELD, OR2024, "Hopkins, Brian", "yes", "Yea"),
            (HELD, OR2024, "Dowell, Pat", "yes", "Yea"),
            (HELD, OR2024, "Lee, Nicole", "no", "Nay"),
            (HELD, OR2024, "Sposato, Nicholas", "absent", "Absent"),
            (HELD, OR2024, "Ward 9 seat", "other", "Vacant"),
        ]
        with session_scope(engine) as s:
            bill_id = s.scalar(select(Bill.id).where(Bill.source_id == OR2024))
            (record,) = vote_records(s, bill_id)
            api = hearings_and_votes(s, [bill_id], datetime.now(UTC))[bill_id]["votes"]
        assert record["tally"] == "2 yes, 1 no, 1 absent, 1 other"
        assert record["action"] == "Adopted"
        (vote,) = api
        assert vote["roll_call"] == [
            {"member": "Hopkins, Brian", "vote": "yes"},
            {"member": "Dowell, Pat", "vote": "yes"},
            {"member": "Lee, Nicole", "vote": "no"},
            {"member": "Sposato, Nicholas", "vote": "absent"},
            {"member": "Ward 9 seat", "vote": "other"},
        ]
        assert vote["body"] == record["body"] and vote["at"] == record["at"]

        # The matter is read again (its action is recent); the roll call is stored once.
        second = crawl(cfg)
        assert second.returncode == 0, second.stderr
        assert OR2024 in server.detail_requests()[6:]
        assert roll_call_rows(engine) == stored
        with session_scope(engine) as s:
            assert len(s.scalars(select(Meeting)).all()) == 3
            assert len(s.scalars(select(MeetingItem).where(MeetingItem.bill_source_id == OR2024)).all()) == 1


def test_roll_calls_read_from_the_actions_of_a_matter():
    from tests.platforms.elms_server import fixture_matters
    from tracker.platforms.elms import normalize_matter, roll_calls

    def bill_of(matter: dict):
        return normalize_matter(
            matter, slug="chicago", api_base="https://api", web_base=WEB, zone=ZoneInfo(TZ)
        )

    matter = next(m for m in fixture_matters() if m["matterId"] == R2024)
    calls = roll_calls(bill_of(matter), "chicago matter")
    # the committee's 4 votes and the council's 8, each at the meeting its action names
    assert {mid: len(c.votes) for mid, c in calls.items()} == {
        "1B6E0A93-7AF3-EE11-A85E-001DD8098532": 4,
        "C07A5E11-04F7-EE11-A85E-001DD8098532": 8,
    }
    council = calls["C07A5E11-04F7-EE11-A85E-001DD8098532"]
    assert council.matter_id == R2024 and council.identifier == "R2024-0009120"
    assert {v.vote for v in council.votes} <= {"yes", "no", "absent", "excused", "other"}
    assert all(v.text for v in council.votes)

    broken = copy.deepcopy(matter)
    broken["actions"][3]["votes"].append({"vote": "Yea", "voterName": " "})
    with pytest.raises(DataError, match="a vote without voterName"):
        roll_calls(bill_of(broken), "chicago matter")
    twice = copy.deepcopy(matter)
    twice["actions"][3]["votes"].append(dict(twice["actions"][3]["votes"][0]))
    assert len(roll_calls(bill_of(twice), "m")["C07A5E11-04F7-EE11-A85E-001DD8098532"].votes) == 8
