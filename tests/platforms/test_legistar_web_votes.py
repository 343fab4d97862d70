"""Roll calls and members of the ``legistar-web`` platform (docs/meetings.md, "Legistar web pages"): the
``HistoryDetail.aspx`` fixture and the recorded ``People.aspx`` pages of Chicago, Metro and NYC
(../shared/portal-samples/legistar-insite) parsed, and real crawls (the ``tracker`` command in a child
process) of the loopback InSite site of tests/platforms/insite_server.py on SQLite and PostgreSQL: the roll
calls of candidate bills' voted items read once and never again, the request budget, a broken action page
or people page that warns and leaves what is stored as it was."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crawler.attachments import TitleTriage
from db.engine import session_scope
from db.models import Bill, CrawlRun
from db.models_meetings import Meeting, MeetingItem, Member, Vote
from tests.clock import local_today
from tests.platforms.conftest import BOTH_ENGINES
from tests.platforms.insite_server import SAMPLES, History, InsiteServer, history_id
from tests.platforms.insite_server import Bill as PortalBill
from tests.platforms.insite_server import Meeting as PortalMeeting
from tests.platforms.test_legistar_web import config, crawl
from tracker.contract import NormalizedVote
from tracker.errors import DataError, LayoutChanged
from tracker.platforms import legistar_web as lw
from tracker.platforms.legistar import ITEMS_STAMP_KEY

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "legistar_web"
HISTORY = FIXTURES / "HistoryDetail.html"
MEETING = FIXTURES / "MeetingDetail.html"
CHICAGO = "America/Chicago"
ZONE = ZoneInfo(CHICAGO)


def history_doc(text: str | None = None):
    return lw.parse_html(text if text is not None else HISTORY.read_text(encoding="utf-8"))


# -- the action details page ---------------------------------------------------------------------------------


def test_history_detail_fixture_gives_the_roll_call_and_the_action():
    call = lw.parse_history_detail(history_doc(), "30512230")
    assert (call.history_id, call.action, call.result, call.tally) == ("30512230", "Adopted", "Pass", None)
    assert call.votes == [
        NormalizedVote("Dana Whitfield", "yes", "Aye"),
        NormalizedVote("Luis Ortega", "yes", "Aye"),
        NormalizedVote("Priya Raman", "no", "Nay"),
        NormalizedVote("Marcus Bell", "absent", "Absent"),
    ]


def test_history_detail_of_another_action_a_missing_grid_and_a_member_twice():
    with pytest.raises(DataError, match=r"^action 30512231: the page shows the details of action 30512230$"):
        lw.parse_history_detail(history_doc(), "30512231")
    text = HISTORY.read_text(encoding="utf-8")
    with pytest.raises(LayoutChanged, match=r"the vote grid \(ctl00_ContentPlaceHolder1_gridVote_ctl00\)"):
        lw.parse_history_detail(history_doc(text.replace("gridVote_ctl00", "gridVotes_ctl00")), "30512230")
    with pytest.raises(LayoutChanged, match=r"the action details"):
        lw.parse_history_detail(history_doc(text.replace("pageTop1", "pageHeader")), "30512230")
    twice = text.replace(">Luis Ortega</a></td><td>Aye", ">Dana  Whitfield</a></td><td>Aye")
    with pytest.raises(DataError, match=r"vote row 2: 'Dana Whitfield' votes twice"):
        lw.parse_history_detail(history_doc(twice), "30512230")
    empty = text.replace(">Priya Raman</a>", "></a>")
    with pytest.raises(DataError, match=r"vote row 3: no person name"):
        lw.parse_history_detail(history_doc(empty), "30512230")


def test_agenda_rows_name_their_action_details():
    agenda = lw.parse_agenda(lw.parse_html(MEETING.read_text(encoding="utf-8")), "1291420")
    assert [r.history for r in agenda.rows] == [
        None,
        None,
        ("30512230", "5D4C3B2A-1F0E-4D9C-8B7A-6F5E4D3C2B1A"),
        None,
    ]
    # only the adopted resolution's row carries a vote (a link and an action): the deferred row has no link
    assert [lw.voted(r) for r in agenda.rows] == [False, False, True, False]
    assert lw.history_url("https://x.legistar.com", "30512230", None) == (
        "https://x.legistar.com/HistoryDetail.aspx?ID=30512230"
    )


def test_details_stamp_round_trip_and_other_stamps():
    stamp = lw.details_stamp({"L2": "20", "L1": "10"})
    assert stamp == '{"L1":"10","L2":"20"}'
    assert lw.read_stamp(stamp) == {"L1": "10", "L2": "20"}
    # the legistar platform's event stamp, garbage, nothing: nothing was read
    assert lw.read_stamp("12|2026-01-01T00:00:00|||1|2|held") == {}
    assert lw.read_stamp("[1, 2]") == {}
    assert lw.read_stamp(None) == {}


def test_meeting_record_with_roll_calls_read_now_and_stored_before():
    base = "https://chicago.legistar.com"
    doc = lw.parse_html((SAMPLES / "chicago" / "events.html").read_text(encoding="utf-8"))
    row = lw.parse_calendar_page(doc, base).meetings[0]
    agenda = lw.parse_agenda(lw.parse_html(MEETING.read_text(encoding="utf-8")), "1291420")
    call = lw.parse_history_detail(history_doc(), "30512230")
    kept = [NormalizedVote("Dana Whitfield", "no", "Nay")]
    m = lw.normalize_meeting(
        row,
        zone=CHICAGO,
        base=base,
        slug="x",
        rows=agenda.rows,
        roll_calls={"L6610251": call},
        stored={(row.event_id, "L6610243"): ("1:0", kept), (row.event_id, "L6610251"): ("9:9", kept)},
        read={"L6610251": "30512230"},
    )
    votes = {i.source_id: (i.votes, i.tally) for i in m.items}
    assert votes["L6610251"] == (call.votes, None)  # read now: the stored one is replaced
    assert votes["L6610243"] == (kept, "1:0")  # not read: the stored one stands
    assert votes["L6610243~2"] == ([], None)
    assert m.raw[ITEMS_STAMP_KEY] == '{"L6610251":"30512230"}'


# -- the people page (recorded) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("city", "count", "first", "source_id"),
    [
        ("chicago", 52, "Arena, John", "64193"),
        ("metro", 15, "Ara Najarian", "144854"),
        ("nyc", 51, "Adrienne E. Adams", "188067"),
    ],
)
def test_recorded_people_pages(city, count, first, source_id):
    page = lw.parse_people(lw.parse_html((SAMPLES / city / "people.html").read_text(encoding="utf-8")))
    assert (page.rejected, page.page, page.pages) == ([], 1, 1)
    assert len(page.members) == count == page.total
    assert (page.members[0].name, page.members[0].source_id, page.members[0].terms) == (first, source_id, [])
    assert len({m.name for m in page.members}) == count


def test_people_page_without_its_grid_is_a_changed_layout():
    text = (SAMPLES / "metro" / "people.html").read_text(encoding="utf-8").replace("Person Name", "Name")
    with pytest.raises(LayoutChanged, match=r"the people grid has no Person Name column"):
        lw.parse_people(lw.parse_html(text))


# -- crawls --------------------------------------------------------------------------------------------------

SANCTUARY = "An ordinance limiting cooperation with federal immigration enforcement, number {n}"
OTHER = "An ordinance amending parking meter rates, loading zones and street cleaning schedules, number {n}"


def bills(today: date) -> list[PortalBill]:
    start = today.replace(month=1, day=1)
    titles = [SANCTUARY, SANCTUARY, OTHER, SANCTUARY]
    return [
        PortalBill(
            id=7710000 + n,
            guid=f"5A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C{n:02d}",
            file=f"O{today.year}-01{n:02d}",
            type="Ordinance",
            status="In Committee",
            title=title.format(n=n),
            intro=start,
            history=[History(start, "City Council", "Referred", id=40000000 + n)],
        )
        for n, title in enumerate(titles)
    ]


ROLL = [("Dana Whitfield", "Aye"), ("Luis Ortega", "Nay"), ("Priya Raman", "Excused")]


def meetings(today: date) -> list[PortalMeeting]:
    def meeting(n: int, days: int, body: str, **kw) -> PortalMeeting:
        return PortalMeeting(
            900100 + n, f"7E6D5C4B-3A29-4810-9F8E-7D6C5B4A39{n:02d}", body, today + timedelta(days=days), **kw
        )

    return [
        meeting(1, 3, "Committee on Public Safety", bills=[7710001]),
        # held: three bills voted on; the parking ordinance is no candidate of the triage, the first
        # ordinance's vote shows no roll call (an empty grid)
        meeting(
            3,
            -2,
            "City Council",
            bills=[7710003, 7710002, 7710000],
            outcomes={
                7710003: ("Passed", "Pass"),
                7710002: ("Passed", "Pass"),
                7710000: ("Referred", "Pass"),
            },
            votes={7710003: list(ROLL), 7710002: list(ROLL), 7710000: []},
        ),
        # outside the window (14 days back): neither read nor stored
        meeting(
            6,
            -30,
            "City Council",
            bills=[7710001],
            outcomes={7710001: ("Passed", "Pass")},
            votes={7710001: list(ROLL)},
        ),
    ]


def roll_calls(engine) -> dict[str, list[tuple[str, str, str | None]]]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(Meeting.source_id, MeetingItem.source_id, Vote.member_name, Vote.vote, Vote.text)
            .join(MeetingItem, MeetingItem.meeting_id == Meeting.id)
            .join(Vote, Vote.meeting_item_id == MeetingItem.id)
            .order_by(Vote.member_name)
        ).all()
    out: dict[str, list[tuple[str, str, str | None]]] = {}
    for meeting, item, name, vote, text in rows:
        out.setdefault(f"{meeting}/{item}", []).append((name, vote, text))
    return out


def hits(server, since: int, path: str) -> Counter:
    return Counter(h.query.get("ID", [""])[0] for h in server.hits[since:] if h.path == path)


def test_triage_of_the_test_titles():
    triage = TitleTriage()
    assert triage.needs_documents(SANCTUARY.format(n=3))
    assert not triage.needs_documents(OTHER.format(n=2))


@BOTH_ENGINES
def test_roll_calls_of_candidate_bills_are_read_once_and_members_are_stored(tmp_path, db_url, engine):
    today = local_today(ZONE)
    with InsiteServer(bills(today), today=today, meetings=meetings(today)) as server:
        held = server.meetings[900103]
        voted_candidate = str(history_id(held, 7710003))
        no_roll_call = str(history_id(held, 7710000))
        cfg = config(tmp_path, server, db_url, meetings=True)
        first = crawl(cfg)
        first_hits = hits(server, 0, "/HistoryDetail.aspx")
        people_first = len(server.hits_to("/People.aspx"))
        after_first = roll_calls(engine)

        before = len(server.hits)
        second = crawl(cfg)
        second_hits = hits(server, before, "/HistoryDetail.aspx")
        second_people = hits(server, before, "/People.aspx")
        second_meeting_pages = hits(server, before, "/MeetingDetail.aspx")

        # a sweep reads the people again; it still reads no action page, even after the portal changed
        # the roll call (a roll call stored is never read again)
        held.votes[7710003] = [("Dana Whitfield", "Nay")]
        before = len(server.hits)
        third = crawl(cfg, "--sweep")
        third_hits = hits(server, before, "/HistoryDetail.aspx")
        third_people = hits(server, before, "/People.aspx")

    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("chicago: succeeded (full)"), first.stdout
    # one request per voted item of a candidate bill: not the parking ordinance, not the meeting outside
    # the window, not the upcoming meeting's items (no vote)
    assert first_hits == {voted_candidate: 1, no_roll_call: 1}
    assert people_first == 1
    assert after_first == {
        "900103/L7710003": [
            ("Dana Whitfield", "yes", "Aye"),
            ("Luis Ortega", "no", "Nay"),
            ("Priya Raman", "excused", "Excused"),
        ]
    }
    with session_scope(engine) as s:
        item = s.scalar(select(MeetingItem).where(MeetingItem.source_id == "L7710003"))
        assert (item.action, item.result, item.bill.source_id) == ("Passed", "Pass", "7710003")
        meeting = s.scalar(select(Meeting).where(Meeting.source_id == "900103"))
        assert lw.read_stamp(meeting.raw[ITEMS_STAMP_KEY]) == {
            "L7710003": voted_candidate,
            "L7710000": no_roll_call,
        }
        names = set(s.scalars(select(Member.name)))
        # the recorded Chicago people page (52 people) and the voters of the roll call
        assert {"Arena, John", "Austin, Carrie M.", "Dana Whitfield", "Luis Ortega"} <= names
        assert len(names) == 52 + 3
        arena = s.scalar(select(Member).where(Member.name == "Arena, John"))
        assert (arena.source_id, arena.terms) == ("64193", [])
        run = s.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()[0]
        assert run.status == "succeeded", run.message

    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.startswith("chicago: succeeded (incremental)"), second.stdout
    # an incremental crawl: no action page (the roll call is stored, the other was read), no people page,
    # one page per published meeting of the window
    assert (second_hits, second_people) == (Counter(), Counter())
    assert second_meeting_pages == {"900101": 1, "900103": 1}
    assert third.returncode == 0, third.stdout + third.stderr
    assert third.stdout.startswith("chicago: succeeded (sweep)"), third.stdout
    assert (third_hits, sum(third_people.values())) == (Counter(), 1)
    assert roll_calls(engine) == after_first
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 55


def test_an_incremental_crawl_stays_within_two_requests_per_meeting(tmp_path, db_url, engine):
    """The issue's budget: an incremental crawl adds at most about two requests per meeting in the window
    (here: the calendar's GET and year postback, one page per published meeting, and no action page)."""
    today = local_today(ZONE)
    many = [
        PortalMeeting(
            900200 + n,
            f"7E6D5C4B-3A29-4810-9F8E-7D6C5B4A{n:04d}",
            "City Council",
            today - timedelta(days=10) + timedelta(days=n * 5),
            bills=[7710003, 7710000],
            outcomes={7710003: ("Passed", "Pass"), 7710000: ("Passed", "Pass")} if n < 2 else {},
            votes={7710003: list(ROLL), 7710000: list(ROLL)} if n < 2 else {},
        )
        for n in range(12)
    ]
    window = [m for m in many if -14 <= (m.date - today).days <= 60]
    with InsiteServer(bills(today), today=today, meetings=many) as server:
        cfg = config(tmp_path, server, db_url, meetings=True, calendar=False)
        assert crawl(cfg).returncode == 0
        first_actions = len(server.hits_to("/HistoryDetail.aspx"))
        before = len(server.hits)
        second = crawl(cfg)
        added = [
            h
            for h in server.hits[before:]
            if h.path != "/Legislation.aspx" and h.path != "/LegislationDetail.aspx"
        ]
    assert second.returncode == 0, second.stdout
    assert first_actions == 4  # two held meetings, two voted candidate items each
    paths = Counter(h.path for h in added)
    assert paths["/HistoryDetail.aspx"] == 0 and paths["/People.aspx"] == 0
    assert paths["/MeetingDetail.aspx"] == len(window)
    assert len(added) <= 2 * len(window), paths


def test_a_broken_action_page_warns_and_is_read_by_the_next_crawl(tmp_path, db_url, engine):
    today = local_today(ZONE)
    with InsiteServer(bills(today), today=today, meetings=meetings(today)) as server:
        held = server.meetings[900103]
        voted_candidate = str(history_id(held, 7710003))
        cfg = config(tmp_path, server, db_url, meetings=True, calendar=False)
        server.faults[f"history:{voted_candidate}"] = "garbage"
        first = crawl(cfg)
        after_first = roll_calls(engine)
        del server.faults[f"history:{voted_candidate}"]
        server.faults[f"history:{history_id(held, 7710000)}"] = "other"  # read already: not asked again
        before = len(server.hits)
        second = crawl(cfg)
        second_hits = hits(server, before, "/HistoryDetail.aspx")
        after_second = roll_calls(engine)
        # a roll call stored is kept when the action's page breaks later (it is not even read again) and
        # when the meeting's own page breaks
        server.faults[f"history:{voted_candidate}"] = "layout"
        server.faults["meeting:900103"] = "error"
        third = crawl(cfg, "--full")
    assert first.returncode == 1, first.stdout  # partial
    (line,) = first.stdout.splitlines()
    assert line.startswith("chicago: partial (full) - "), line
    assert f"warning: chicago: meeting 900103: the roll call of action {voted_candidate} not read: " in line
    assert after_first == {}
    with session_scope(engine) as s:
        # the bills and the meeting are stored; its items too, without the roll call
        assert s.scalar(select(func.count()).select_from(Bill)) == 4
        assert s.scalar(select(MeetingItem.result).where(MeetingItem.source_id == "L7710003")) == "Pass"
    assert second.returncode == 0, second.stdout
    assert second_hits == {voted_candidate: 1}
    assert [v[1] for v in after_second["900103/L7710003"]] == ["yes", "no", "excused"]
    assert third.returncode == 1, third.stdout
    assert "meeting 900103's agenda not read" in third.stdout
    assert roll_calls(engine) == after_second


def test_an_action_page_of_another_action_is_not_stored(tmp_path, db_url, engine):
    today = local_today(ZONE)
    with InsiteServer(bills(today), today=today, meetings=meetings(today)) as server:
        held = server.meetings[900103]
        wrong = str(history_id(held, 7710003))
        server.faults[f"history:{wrong}"] = "other"
        result = crawl(config(tmp_path, server, db_url, meetings=True, calendar=False))
    assert result.returncode == 1, result.stdout
    assert f"the roll call of action {wrong} not read: action {wrong}: the page shows the details of" in (
        result.stdout
    )
    assert roll_calls(engine) == {}
    with session_scope(engine) as s:
        meeting = s.scalar(select(Meeting).where(Meeting.source_id == "900103"))
        assert wrong not in lw.read_stamp(meeting.raw.get(ITEMS_STAMP_KEY)).values()


@pytest.mark.parametrize("fault", ["layout", "garbage", "error"])
def test_a_broken_people_page_warns_and_stores_the_rest(tmp_path, db_url, engine, fault):
    today = local_today(ZONE)
    with InsiteServer(bills(today), today=today, meetings=meetings(today), people="metro") as server:
        server.faults["people"] = fault
        result = crawl(config(tmp_path, server, db_url, meetings=True, calendar=False))
    assert result.returncode == 1, result.stdout
    (line,) = result.stdout.splitlines()
    assert line.startswith("chicago: partial (full) - 4 bills seen, 4 new"), line
    assert "warning: chicago: members not read: " in line
    with session_scope(engine) as s:
        # the roll call's voters are members; nobody of the people page
        assert set(s.scalars(select(Member.name))) == {"Dana Whitfield", "Luis Ortega", "Priya Raman"}
        assert s.scalar(select(func.count()).select_from(Meeting)) == 2
