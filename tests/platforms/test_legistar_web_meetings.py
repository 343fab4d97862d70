"""Meetings of the ``legistar-web`` platform (docs/meetings.md, "Legistar web pages"): the recorded calendars
of ../shared/portal-samples/legistar-insite (Chicago, Metro, NYC, Nashville) and the ``MeetingDetail.aspx``
fixture normalized into meetings, and real crawls (the ``tracker`` command in a child process) of the
loopback InSite site of tests/platforms/insite_server.py on SQLite and PostgreSQL: the meetings of the
window stored with their agenda items, a moved and a cancelled hearing each recorded once, a garbage
calendar that leaves bills crawled and stored meetings as they were."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import Bill, CrawlRun
from db.models_meetings import HearingChange, Meeting
from tests.clock import local_today
from tests.platforms.conftest import BOTH_ENGINES
from tests.platforms.insite_server import SAMPLES, History, InsiteServer
from tests.platforms.insite_server import Bill as PortalBill
from tests.platforms.insite_server import Meeting as PortalMeeting
from tests.platforms.test_legistar_web import config, crawl
from tracker.errors import DataError
from tracker.platforms import legistar_web as lw

MEETING = Path(__file__).resolve().parent / "fixtures" / "legistar_web" / "MeetingDetail.html"
CHICAGO = "America/Chicago"


def calendar(name: str, base: str) -> list[lw.Meeting]:
    doc = lw.parse_html((SAMPLES / name).read_text(encoding="utf-8"))
    return lw.parse_calendar_page(doc, base).meetings


def normalized(name: str, base: str, zone: str = CHICAGO):
    return [lw.normalize_meeting(m, zone=zone, base=base, slug="x") for m in calendar(name, base)]


# -- recorded calendars --------------------------------------------------------------------------------------


def test_chicago_calendar_meetings_and_the_cancelled_one():
    base = "https://chicago.legistar.com"
    meetings = normalized("chicago/events.html", base)
    assert [m.source_id for m in meetings] == [
        "658900",
        "670179",
        "662068",
        "661615",
        "654141",
        "661162",
        "668022",
        "668019",
    ]
    # the recorded row shows "CANCELLED" on its own line under the location
    cancelled = [m for m in meetings if m.cancelled]
    assert [m.source_id for m in cancelled] == ["668019"]
    m = cancelled[0]
    assert m.starts_at == datetime(2019, 1, 8, 10, 0, tzinfo=ZoneInfo(CHICAGO))
    assert m.starts_at.isoformat() == "2019-01-08T10:00:00-06:00"
    assert (m.local_date, m.time_zone, m.body_name) == (
        date(2019, 1, 8),
        CHICAGO,
        "Committee on Human Relations",
    )
    assert m.location == "Council Chambers -- City Hall -- Chicago, Illinois"
    assert m.raw["comment"] == "CANCELLED"
    assert m.public_url == (
        f"{base}/MeetingDetail.aspx?ID=668019&GUID=91489BEA-87E0-42E1-8D86-743C2F7138A6&Options=info&Search="
    )
    assert m.agenda_url == (
        "http://media.legistar.com/chic/meetings/91489BEA-87E0-42E1-8D86-743C2F7138A6/"
        "agenda%20hum%20rel.jan8_20190104101632.pdf"
    )
    # the agenda was not read: the stored items are kept
    assert (m.items, m.items_complete) == ([], False)
    first = meetings[0]
    assert (first.cancelled, first.location, first.raw["comment"], first.raw["timed"]) == (
        False,
        "Council Chambers -- City Hall -- Chicago, Illinois",
        None,
        True,
    )


def test_metro_meetings_not_published_keep_the_id_of_their_calendar_export():
    meetings = normalized("metro/events.html", "https://metro.legistar.com", "America/Los_Angeles")
    assert len(meetings) == 14
    # no MeetingDetail link ("Not viewable by the public"): the id is the iCalendar export's (the EventId)
    assert meetings[0].source_id == "642142"
    assert len({m.source_id for m in meetings}) == 14
    assert all(m.public_url is None and not m.cancelled for m in meetings)
    assert meetings[0].starts_at.isoformat() == "2019-01-24T09:30:00-08:00"


def test_nyc_deferred_meetings_are_cancelled_and_start_at_local_midnight():
    meetings = normalized("nyc/events.html", "https://legistar.council.nyc.gov", "America/New_York")
    assert len(meetings) == 40
    deferred = [m for m in meetings if m.cancelled]
    # NYC shows "Deferred" in place of the time and strikes the row through
    assert sorted(m.source_id for m in deferred) == ["662893", "668208"]
    for m in deferred:
        assert m.starts_at.isoformat() == "2019-01-10T00:00:00-05:00"
        assert (m.raw["time"], m.raw["timed"], m.timed) == ("Deferred", False, False)
    joint = next(m for m in meetings if m.source_id == "671428")
    assert (joint.location, joint.raw["comment"]) == (
        "Committee Room - City Hall",
        "Jointly with the Committee on Environmental Protection",
    )
    assert not joint.cancelled


def test_nashville_calendar_meetings():
    meetings = normalized("nashville/Calendar.aspx.GET.body.html", "https://nashville.legistar.com")
    assert len(meetings) == 100 and len({m.source_id for m in meetings}) == 100
    assert not any(m.cancelled for m in meetings)
    # the unpublished council meetings keep the id of their iCalendar export
    assert meetings[0].source_id == "1314043" and meetings[0].public_url is None
    untimed = [m for m in meetings if not m.raw["timed"]]
    assert [(m.source_id, m.starts_at.isoformat()) for m in untimed] == [
        ("1314044", "2025-06-17T00:00:00-05:00")
    ]
    special = next(m for m in meetings if m.source_id == "1245276")
    assert (special.location, special.raw["comment"], special.cancelled) == (
        "Metropolitan Courthouse",
        "Special Meeting",
        False,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10:00 AM", time(10, 0)),
        ("12:00 PM", time(12, 0)),
        ("12:30 AM", time(0, 30)),
        ("6:30 PM", time(18, 30)),
        ("6:30 p.m.", time(18, 30)),
        ("Deferred", None),
        ("13:00 PM", None),
        ("", None),
        (None, None),
    ],
)
def test_meeting_time(text, expected):
    assert lw.meeting_time(text) == expected


def test_cancelled_in_the_time_column_or_the_meeting_page_statuses():
    (row,) = [
        m for m in calendar("chicago/events.html", "https://chicago.legistar.com") if m.source_id == "658900"
    ]
    assert not lw.calendar_cancelled(row)
    row.time = "Cancelled"
    assert lw.calendar_cancelled(row)
    row.time = "10:00 AM"
    assert lw.calendar_cancelled(row, {"agenda": "CANCELED", "minutes": None})
    assert not lw.calendar_cancelled(row, {"agenda": "Final", "minutes": "Draft"})


def test_a_row_without_any_meeting_id_is_rejected():
    row = calendar("metro/events.html", "https://metro.legistar.com")[0]
    row.event_id = None
    with pytest.raises(DataError, match=r"no meeting id in its row"):
        lw.normalize_meeting(row, zone=CHICAGO, base="https://metro.legistar.com", slug="metro")


# -- the meeting page ----------------------------------------------------------------------------------------


def test_meeting_detail_fixture_gives_every_agenda_item():
    agenda = lw.parse_agenda(lw.parse_html(MEETING.read_text(encoding="utf-8")), "1291420")
    assert (agenda.statuses, agenda.rejected, agenda.total, agenda.next_target) == (
        {"agenda": "Final", "minutes": "Draft"},
        [],
        4,
        None,
    )
    items = lw.agenda_items(agenda.rows)
    assert [(i.source_id, i.sequence, i.bill_source_id, i.identifier, i.action, i.result) for i in items] == [
        (items[0].source_id, 0, None, None, None, None),
        ("L6610243", 1, "6610243", "O2026-0053", None, None),
        ("L6610251", 2, "6610251", "R2026-0112", "Adopted", "Pass"),
        # the same bill again (its substitute version): a second item of that bill
        ("L6610243~2", 3, "6610243", "O2026-0053", "Deferred", None),
    ]
    assert items[0].source_id.startswith("T") and items[0].title == "Roll call of members present"
    assert items[2].title == "A resolution recognizing the Riverton Public Library's 125th anniversary"
    # renumbering the agenda (the "Agenda #" column) changes no item id
    for row in agenda.rows:
        row.cells["Agenda #"] = "9."
    assert [i.source_id for i in lw.agenda_items(agenda.rows)] == [i.source_id for i in items]


def test_meeting_detail_file_number_without_a_bill_link_is_kept_by_its_file_number():
    text = MEETING.read_text(encoding="utf-8").replace(
        'href="LegislationDetail.aspx?ID=6610251&amp;GUID=0E5B8C1D-2A3F-4D6E-8B7C-9A0F1E2D3C4B&amp;Options=&amp;Search="',
        "",
    )
    agenda = lw.parse_agenda(lw.parse_html(text), "1291420")
    item = lw.agenda_items(agenda.rows)[2]
    assert (item.source_id, item.bill_source_id, item.identifier) == ("FR2026-0112", None, "R2026-0112")


def test_meeting_detail_of_another_meeting_is_refused():
    with pytest.raises(DataError, match=r"^meeting 1291421: the page is the meeting page of ID 1291420$"):
        lw.parse_agenda(lw.parse_html(MEETING.read_text(encoding="utf-8")), "1291421")


def test_meeting_record_with_its_agenda():
    base = "https://chicago.legistar.com"
    row = calendar("chicago/events.html", base)[0]
    agenda = lw.parse_agenda(lw.parse_html(MEETING.read_text(encoding="utf-8")), "1291420")
    m = lw.normalize_meeting(
        row, zone=CHICAGO, base=base, slug="x", statuses=agenda.statuses, rows=agenda.rows
    )
    assert (m.items_complete, len(m.items), m.raw["statuses"]) == (
        True,
        4,
        {"agenda": "Final", "minutes": "Draft"},
    )
    partial = lw.normalize_meeting(row, zone=CHICAGO, base=base, slug="x", rows=agenda.rows, complete=False)
    assert (partial.items_complete, len(partial.items)) == (False, 4)


# -- crawls --------------------------------------------------------------------------------------------------

ZONE = ZoneInfo(CHICAGO)


def bills(today: date) -> list[PortalBill]:
    start = today.replace(month=1, day=1)
    return [
        PortalBill(
            id=7710000 + n,
            guid=f"5A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C{n:02d}",
            file=f"O{today.year}-01{n:02d}",
            type="Ordinance",
            status="In Committee",
            title=f"An ordinance about welcoming city protections, number {n}",
            intro=start,
            history=[History(start, "City Council", "Referred", id=40000000 + n)],
        )
        for n in range(4)
    ]


def meetings(today: date) -> list[PortalMeeting]:
    def meeting(n: int, days: int, body: str, **kw) -> PortalMeeting:
        return PortalMeeting(
            900100 + n, f"7E6D5C4B-3A29-4810-9F8E-7D6C5B4A39{n:02d}", body, today + timedelta(days=days), **kw
        )

    return [
        meeting(1, 3, "Committee on Public Safety", bills=[7710000, 7710001], agenda=True),
        meeting(2, 10, "Committee on Finance", bills=[7710002], time="2:00 PM"),
        # held: its outcomes are read
        meeting(3, -2, "City Council", bills=[7710003], outcomes={7710003: ("Passed", "Pass")}),
        # not published yet: stored from the calendar, its agenda not read
        meeting(4, 20, "City Council", published=False),
        # outside the window (60 days ahead, 14 back): neither read nor stored
        meeting(5, 75, "City Council", bills=[7710001]),
        meeting(6, -30, "City Council", bills=[7710001]),
    ]


def stored(engine):
    with session_scope(engine) as s:
        rows = s.scalars(select(Meeting).order_by(Meeting.source_id)).all()
        return {
            m.source_id: (
                m.state,
                m.starts_at.astimezone(ZONE) if m.starts_at else None,
                m.vanished_at is not None,
                # the bills' items (the roll call row of the page is an item without a bill)
                sorted(
                    (i.source_id, i.bill.source_id, i.action, i.result, i.removed_at is None)
                    for i in m.items
                    if i.bill is not None
                ),
                len(m.items),
            )
            for m in rows
        }


def changes(engine):
    with session_scope(engine) as s:
        return Counter(
            (c.kind, s.get(Meeting, c.meeting_id).source_id, s.get(Bill, c.bill_id).source_id)
            for c in s.scalars(select(HearingChange))
        )


def detail_hits(server, since: int) -> Counter:
    return Counter(h.query["ID"][0] for h in server.hits[since:] if h.path == "/MeetingDetail.aspx")


@BOTH_ENGINES
def test_meetings_of_the_window_are_stored_and_a_move_and_a_cancellation_are_recorded_once(
    tmp_path, db_url, engine
):
    today = local_today(ZONE)  # the portal's date: the crawl counts its window in the city's days
    with InsiteServer(bills(today), today=today, meetings=meetings(today), calendar_page_size=3) as server:
        cfg = config(tmp_path, server, db_url, meetings=True)
        first = crawl(cfg)
        assert first.returncode == 0, first.stdout + first.stderr
        assert first.stdout.startswith("chicago: succeeded (full) - 4 bills seen, 4 new,"), first.stdout
        # one page per meeting of the window that has one
        assert detail_hits(server, 0) == {"900101": 1, "900102": 1, "900103": 1}
        after_first = stored(engine)
        first_changes = changes(engine)

        # the public safety hearing moves a day later, the finance hearing is cancelled
        server.meetings[900101].date = today + timedelta(days=4)
        server.meetings[900101].time = "11:00 AM"
        server.meetings[900102].comment = "CANCELLED"
        before = len(server.hits)
        second = crawl(cfg)
        second_hits = detail_hits(server, before)
        after_second = stored(engine)
        second_changes = changes(engine)

        before = len(server.hits)
        third = crawl(cfg)
        third_hits = detail_hits(server, before)
        after_third_changes = changes(engine)

    def at(days: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(today + timedelta(days=days), time(hour, minute), tzinfo=ZONE)

    assert after_first == {
        "900101": (
            "scheduled",
            at(3, 10),
            False,
            [("L7710000", "7710000", None, None, True), ("L7710001", "7710001", None, None, True)],
            3,
        ),
        "900102": ("scheduled", at(10, 14), False, [("L7710002", "7710002", None, None, True)], 2),
        "900103": ("held", at(-2, 10), False, [("L7710003", "7710003", "Passed", "Pass", True)], 2),
        "900104": ("scheduled", at(20, 10), False, [], 0),
    }
    with session_scope(engine) as s:
        m = s.scalar(select(Meeting).where(Meeting.source_id == "900101"))
        assert (m.body_name, m.location, m.time_zone) == (
            "Committee on Public Safety",
            "Council Chambers, City Hall",
            CHICAGO,
        )
        assert (
            m.agenda_url
            == f"{server.base_url}/View.ashx?M=A&ID=900101&GUID=7E6D5C4B-3A29-4810-9F8E-7D6C5B4A3901"
        )
        assert m.public_url == (
            f"{server.base_url}/MeetingDetail.aspx?ID=900101&GUID=7E6D5C4B-3A29-4810-9F8E-7D6C5B4A3901&Options=info&Search="
        )
        assert s.scalar(select(Meeting).where(Meeting.source_id == "900104")).public_url is None
        run = s.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()[0]
        assert run.status == "succeeded", run.message
    # the upcoming hearings of the first crawl: each bill on a published upcoming agenda, once
    assert first_changes == {
        ("scheduled", "900101", "7710000"): 1,
        ("scheduled", "900101", "7710001"): 1,
        ("scheduled", "900102", "7710002"): 1,
    }

    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.startswith("chicago: succeeded (incremental)"), second.stdout
    assert second_hits == {"900101": 1, "900102": 1, "900103": 1}
    assert after_second["900101"][:3] == ("moved", at(4, 11), False)
    assert after_second["900102"][:3] == ("cancelled", at(10, 14), False)
    assert second_changes - first_changes == {
        ("moved", "900101", "7710000"): 1,
        ("moved", "900101", "7710001"): 1,
        ("cancelled", "900102", "7710002"): 1,
    }
    with session_scope(engine) as s:
        moved = s.scalar(select(Meeting).where(Meeting.source_id == "900101"))
        assert moved.moved_from.astimezone(ZONE) == at(3, 10)
        cancelled = s.scalar(select(Meeting).where(Meeting.source_id == "900102"))
        assert cancelled.location == "Council Chambers, City Hall"  # the comment line is not the place

    # nothing changed: nothing announced again
    assert third.returncode == 0, third.stdout + third.stderr
    assert third_hits == {"900101": 1, "900102": 1, "900103": 1}
    assert after_third_changes == second_changes


def test_a_meeting_gone_from_a_calendar_read_completely_is_marked_and_an_item_taken_off(
    tmp_path, db_url, engine
):
    today = local_today(ZONE)
    with InsiteServer(bills(today), today=today, meetings=meetings(today)) as server:
        cfg = config(tmp_path, server, db_url, meetings=True, calendar=False)
        assert crawl(cfg).returncode == 0
        del server.meetings[900102]
        server.meetings[900101].bills = [7710000]
        second = crawl(cfg)
    assert second.returncode == 0, second.stdout + second.stderr
    after = stored(engine)
    assert after["900102"][2] is True  # vanished, not deleted
    assert [(i[0], i[4]) for i in after["900101"][3] if i[1]] == [("L7710000", True), ("L7710001", False)]
    found = changes(engine)
    assert found[("removed", "900102", "7710002")] == 1
    assert found[("removed", "900101", "7710001")] == 1


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("garbage", "layout changed: "),
        ("error", "the portal redirected to its error page (Error.aspx) from "),
    ],
)
def test_a_garbage_calendar_leaves_bills_crawled_and_stored_meetings_untouched(
    tmp_path, db_url, engine, fault, said
):
    today = local_today(ZONE)
    with InsiteServer(bills(today), today=today, meetings=meetings(today)) as server:
        # calendar = false: the calendar is read for the meetings only (a bill needs nothing from it)
        cfg = config(tmp_path, server, db_url, meetings=True, calendar=False)
        assert crawl(cfg).returncode == 0
        before = stored(engine)
        hearings = changes(engine)
        server.bills[7710001].status = "Passed"
        server.bills[7710001].final = today
        server.meetings.clear()  # were the calendar read, every meeting would be gone
        server.faults["calendar"] = fault
        second = crawl(cfg)
    assert second.returncode == 1, second.stdout  # partial
    (line,) = second.stdout.splitlines()
    assert line.startswith("chicago: partial (incremental) - "), line
    assert "warning: chicago: meetings not read: " + said in line, line
    with session_scope(engine) as s:
        run = s.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()[-1]
        assert run.status == "partial"
        assert s.scalar(select(Bill.status).where(Bill.source_id == "7710001")) == "Passed"
    assert stored(engine) == before
    assert changes(engine) == hearings


def test_a_broken_meeting_page_keeps_its_stored_agenda(tmp_path, db_url, engine):
    today = local_today(ZONE)
    with InsiteServer(bills(today), today=today, meetings=meetings(today)) as server:
        cfg = config(tmp_path, server, db_url, meetings=True, calendar=False)
        assert crawl(cfg).returncode == 0
        before = stored(engine)
        server.faults["meeting:900101"] = "layout"
        server.meetings[900101].bills = []
        second = crawl(cfg)
    assert second.returncode == 1, second.stdout
    assert (
        "warning: chicago: meeting 900101's agenda not read: layout changed: the agenda items grid"
        in second.stdout
    )
    assert stored(engine) == before
