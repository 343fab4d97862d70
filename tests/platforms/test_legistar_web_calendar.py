"""The ``legistar-web`` calendar: ``Calendar.aspx`` parsed on the recorded pages of
../shared/portal-samples/legistar-insite (Chicago, Metro, NYC and the Nashville GET and year postback), the
``MeetingDetail.aspx`` fixture, and real crawls (the ``tracker`` command in a child process) of the InSite
site of tests/platforms/insite_server.py on SQLite and PostgreSQL: a bill acted on at a recent meeting that
the incremental search does not list is fetched through the calendar, once; a changed calendar or agenda
layout fails the crawl."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections import Counter
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from scrapy.http import HtmlResponse
from sqlalchemy import func, select

from crawler.spiders.legistar_web import _Search
from db.engine import session_scope
from db.models import Bill, CrawlRun, StatusChange
from tests.clock import local_today
from tests.conftest import write_config
from tests.platforms.conftest import BOTH_ENGINES
from tests.platforms.insite_server import SAMPLES, History, InsiteServer, Meeting
from tests.platforms.insite_server import Bill as PortalBill
from tests.platforms.test_legistar_web import config, crawl, runs
from tracker.config import load_config
from tracker.errors import ConfigError, DataError
from tracker.platforms import legistar_web as lw

MEETING = Path(__file__).resolve().parent / "fixtures" / "legistar_web" / "MeetingDetail.html"
CASSETTE = SAMPLES / "nashville" / "calendar-get-then-postback.vcr.yaml"


def page(name: str):
    text = (SAMPLES / name).read_text(encoding="utf-8")
    return lw.parse_html(text), text


# -- the calendar on recorded pages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "base", "counts", "first", "last"),
    [
        (
            "chicago/events.html",
            "https://chicago.legistar.com",
            (8, 1, 1, 8, None, "This Month", 8, 1, 0),
            (
                "658900",
                "A957AB4C-4D34-43F6-BF76-01A7B2DFB491",
                "City Council",
                date(2019, 1, 23),
                "10:00 AM",
                "Council Chambers -- City Hall -- Chicago, Illinois",
                None,
                None,
            ),
            (
                "668019",
                "91489BEA-87E0-42E1-8D86-743C2F7138A6",
                "Committee on Human Relations",
                date(2019, 1, 8),
                "10:00 AM",
                "Council Chambers -- City Hall -- Chicago, Illinois CANCELLED",
                "http://media.legistar.com/chic/meetings/91489BEA-87E0-42E1-8D86-743C2F7138A6/"
                "agenda%20hum%20rel.jan8_20190104101632.pdf",
                None,
            ),
        ),
        (
            "metro/events.html",
            "https://metro.legistar.com",
            (14, 1, 1, 14, None, "This Month", 0, 0, 0),
            (
                None,
                None,
                "Board of Directors - Regular Board Meeting",
                date(2019, 1, 24),
                "9:30 AM",
                "One Gateway Plaza, Los Angeles, CA 90012, 3rd Floor, Metro Board Room",
                None,
                None,
            ),
            (
                None,
                None,
                "Ad Hoc Congestion, Highway and Roads Committee (SAP)",
                date(2019, 1, 16),
                "11:00 AM",
                "One Gateway Plaza, Los Angeles, CA 90012, 3rd Floor, Metro Board Conference Room",
                None,
                None,
            ),
        ),
        (
            "nyc/events.html",
            "https://legistar.council.nyc.gov",
            (40, 1, 1, 40, None, "This Month", 40, 40, 1),
            (
                "670695",
                "3943FD0A-37DD-4C1C-918B-C68552F9F329",
                "Subcommittee on Landmarks, Public Siting and Maritime Uses",
                date(2019, 1, 31),
                "12:00 PM",
                "250 Broadway - Committee Rm, 16th Fl.",
                "https://nyc.legistar.com/View.ashx?M=A&ID=670695&GUID=3943FD0A-37DD-4C1C-918B-C68552F9F329",
                None,
            ),
            (
                "669540",
                "775AB6E6-9CDC-4B60-8040-C116BCFD8C02",
                "Committee on Governmental Operations",
                date(2019, 1, 7),
                "10:00 AM",
                "250 Broadway - Committee Rm, 16th Fl.",
                "https://nyc.legistar.com/View.ashx?M=A&ID=669540&GUID=775AB6E6-9CDC-4B60-8040-C116BCFD8C02",
                "https://nyc.legistar.com/View.ashx?M=M&ID=669540&GUID=775AB6E6-9CDC-4B60-8040-C116BCFD8C02",
            ),
        ),
    ]
    + [
        (
            f"nashville/Calendar.aspx.{method}.body.html",
            "https://nashville.legistar.com",
            (
                100,
                1,
                2,
                107,
                "ctl00$ContentPlaceHolder1$gridCalendar$ctl00$ctl03$ctl01$ctl04",
                "This Year",
                88,
                88,
                13,
            ),
            (
                None,
                None,
                "Metropolitan Council",
                date(2025, 12, 16),
                "6:30 PM",
                "Metropolitan Courthouse",
                None,
                None,
            ),
            (
                "1244597",
                "9277A5D1-737C-4C3E-9FA6-D0817B07F951",
                "Metropolitan Council",
                date(2025, 1, 21),
                "6:30 PM",
                "Metropolitan Courthouse",
                "https://nashville.legistar.com/View.ashx?M=A&ID=1244597&GUID=9277A5D1-737C-4C3E-9FA6-D0817B07F951",
                "https://nashville.legistar.com/View.ashx?M=M&ID=1244597&GUID=9277A5D1-737C-4C3E-9FA6-D0817B07F951",
            ),
        )
        for method in ("GET", "POST")
    ],
)
def test_recorded_calendars_parse_into_meetings(name, base, counts, first, last):
    doc, _ = page(name)
    found = lw.parse_calendar_page(doc, base)
    meetings = found.meetings
    assert (
        len(meetings),
        found.page,
        found.pages,
        found.total,
        found.next_target,
        found.year,
        sum(m.source_id is not None for m in meetings),
        sum(m.agenda_url is not None for m in meetings),
        sum(m.minutes_url is not None for m in meetings),
    ) == counts
    assert found.rejected == []

    def fields(m):
        return (m.source_id, m.guid, m.body, m.date, m.time, m.location, m.agenda_url, m.minutes_url)

    assert fields(meetings[0]) == first
    assert fields(meetings[-1]) == last
    # InSite lists the newest first (what lets the spider stop paging before the window)
    assert all(a.date >= b.date for a, b in pairwise(meetings))


def test_nashville_calendar_in_detail():
    doc, _ = page("nashville/Calendar.aspx.GET.body.html")
    meetings = lw.parse_calendar_page(doc, "https://nashville.legistar.com").meetings
    assert Counter(m.body for m in meetings).most_common(3) == [
        ("Metropolitan Council", 25),
        ("Budget and Finance Committee", 12),
        ("Planning and Zoning Committee", 12),
    ]
    # the meetings not yet held (recorded 2025-06-18) have no MeetingDetail link: the 12 council meetings
    # of July to December 2025, the newest rows
    unpublished = [m for m in meetings if m.source_id is None]
    assert len(unpublished) == 12 and {m.body for m in unpublished} == {"Metropolitan Council"}
    assert (unpublished[0].date, unpublished[-1].date) == (date(2025, 12, 16), date(2025, 7, 1))
    assert meetings[:12] == unpublished
    assert min(m.date for m in unpublished) > max(m.date for m in meetings if m.source_id is not None)


def test_nashville_year_postback_reproduced():
    """The recorded GET then POST of Nashville's Calendar.aspx: the spider's postback carries what the
    recorded one did, its cookies are the ones the recorded POST sent, and the recorded answer to a year the
    drop-down does not offer ("2026": it kept "This Year") is refused."""
    cassette = CASSETTE.read_text(encoding="utf-8")
    (body,) = re.findall(r"^    body: (__VIEWSTATE=\S+)$", cassette, re.M)
    recorded = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
    assert recorded["ctl00_ContentPlaceHolder1_lstYears_ClientState"] == '{"value":"2026"}'
    doc, text = page("nashville/Calendar.aspx.GET.body.html")
    with pytest.raises(DataError) as caught:
        lw.calendar_overrides(doc, text, "2026")
    assert str(caught.value) == (
        "the calendar's years drop-down does not offer '2026' (it offers: All, 2027, 2025, 2024, 2023, "
        "2022, 2021, 2020, 2019, 2018, 2017, 2016, 2015, Last Year, Last Month, Last Week, This Year, "
        "This Month, This Week, Today, Next Week, Next Month, Next Year)"
    )
    shown, overrides = lw.calendar_overrides(doc, text, "2025")
    assert (shown, overrides) == (
        "2025",
        {
            "__EVENTTARGET": "ctl00$ContentPlaceHolder1$lstYears",
            "ctl00_ContentPlaceHolder1_lstYears_ClientState": '{"value":"2025"}',
            "ctl00_ContentPlaceHolder1_lstBodies_ClientState": '{"value":"All"}',
        },
    )
    assert lw.calendar_overrides(doc, text, "All Years")[0] == "All Years"
    fields = dict(lw.postback(lw.form_fields(doc), overrides.pop("__EVENTTARGET"), overrides))
    same = {k: fields[k] for k in recorded if k != "ctl00_ContentPlaceHolder1_lstYears_ClientState"}
    assert same == {
        k: v for k, v in recorded.items() if k != "ctl00_ContentPlaceHolder1_lstYears_ClientState"
    }
    # the recorded answer still shows "This Year": a spider that had asked for 2026 would fail, not read it
    answer, _ = page("nashville/Calendar.aspx.POST.body.html")
    found = lw.parse_calendar_page(answer, "https://nashville.legistar.com")
    lw.check_calendar_year(found, "This Year")
    with pytest.raises(
        DataError, match=r"^the calendar shows 'This Year' after a postback asking for '2026'$"
    ):
        lw.check_calendar_year(found, "2026")
    # the session: the cookies the GET set are the ones the recorded POST sent
    first = cassette.split("- request:")[1]
    block = first.split("Set-Cookie:\n", 1)[1].split("      Transfer-Encoding:", 1)[0]
    set_cookies = [" ".join(c.split()) for c in block.split("      - ")[1:]]
    assert len(set_cookies) == 6
    search = _Search("This Year")
    search.remember(
        HtmlResponse("https://nashville.legistar.com/Calendar.aspx", headers={"Set-Cookie": set_cookies})
    )
    second = cassette.split("- request:")[2]
    (sent,) = re.findall(r"      Cookie:\n      - (.*?)\n      User-Agent", second, re.S)
    assert sorted(search.headers()["Cookie"].split("; ")) == sorted(" ".join(sent.split()).split("; "))


CALENDAR_TEXT = "nashville/Calendar.aspx.GET.body.html"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            (
                'id="ctl00_ContentPlaceHolder1_gridCalendar_ctl00"',
                'id="ctl00_ContentPlaceHolder1_gridEvents_ctl00"',
            ),
            "the calendar grid (ctl00_ContentPlaceHolder1_gridCalendar_ctl00) missing",
        ),
        (
            (">Meeting Date</a>", ">Date</a>"),
            "the calendar grid has no Meeting Date column",
        ),
        (
            ("ctl00_ContentPlaceHolder1_gridCalendar_ctl00_ctl04_hypMeetingDetail", "x"),
            "the calendar grid: row 1 has no meeting details link",
        ),
        (
            (
                'id="ctl00_ContentPlaceHolder1_lstYears_Input"',
                'id="ctl00_ContentPlaceHolder1_lstRange_Input"',
            ),
            "the calendar's years drop-down (ctl00_ContentPlaceHolder1_lstYears_Input) missing",
        ),
    ],
)
def test_a_changed_calendar_layout_raises(change, message):
    text = (SAMPLES / CALENDAR_TEXT).read_text(encoding="utf-8")
    assert text.count(change[0]) >= 1, change[0]
    with pytest.raises(lw.LayoutChanged) as caught:
        lw.parse_calendar_page(lw.parse_html(text.replace(change[0], change[1], 1)), "https://x.legistar.com")
    assert str(caught.value) == message


def test_a_bad_calendar_row_is_rejected_by_name():
    doc, _ = page(CALENDAR_TEXT)
    grid = doc.get_element_by_id(lw.CALENDAR_GRID)
    rows = grid.xpath("./tbody/tr")
    rows[1].xpath("./td")[1].xpath(".//*[not(*)]")[-1].text = "12/32/2025"
    link = rows[20].xpath(".//a[contains(@id, '_hypMeetingDetail')]")[0]
    link.set("href", "LegislationDetail.aspx?ID=1&GUID=9277A5D1-737C-4C3E-9FA6-D0817B07F951")
    found = lw.parse_calendar_page(doc, "https://nashville.legistar.com")
    assert len(found.meetings) == 98
    assert found.rejected == [
        "calendar row 2: Meeting Date: malformed date '12/32/2025'",
        "calendar row 21 links to 'LegislationDetail.aspx?ID=1&GUID=9277A5D1-737C-4C3E-9FA6-D0817B07F951', "
        "not a MeetingDetail.aspx?ID=&GUID= page",
    ]


# -- the meeting page ----------------------------------------------------------------------------------


def test_meeting_detail_fixture_lists_the_bills_on_the_agenda():
    found = lw.parse_meeting_page(lw.parse_html(MEETING.read_text(encoding="utf-8")), "1291420")
    # 4 rows: a roll call without a file (skipped), a bill twice (two versions: once), another bill
    assert [(i.source_id, i.guid, i.identifier) for i in found.items] == [
        ("6610243", "9C1D1C55-3E2A-4B8E-9D6F-2B7A0C4E1F38", "O2026-0053"),
        ("6610251", "0E5B8C1D-2A3F-4D6E-8B7C-9A0F1E2D3C4B", "R2026-0112"),
    ]
    assert (found.rejected, found.page, found.pages, found.next_target) == ([], 1, 1, None)
    assert found.items[1].cells["Action"] == "Adopted" and found.items[1].cells["Agenda #"] == "3."


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            ('id="ctl00_ContentPlaceHolder1_gridMain_ctl00"', 'id="x"'),
            lw.LayoutChanged,
            "the agenda items grid (ctl00_ContentPlaceHolder1_gridMain_ctl00) missing",
        ),
        (
            ('white-space:nowrap;">File&nbsp;#</th>', 'white-space:nowrap;">Record&nbsp;#</th>'),
            lw.LayoutChanged,
            "the agenda items grid has no File # column",
        ),
        (
            ("<td>1.</td><td>&nbsp;</td>", "<td>1.</td>"),
            lw.LayoutChanged,
            "the agenda items grid: row 1 has 10 cells for 11 columns",
        ),
        (
            ("MeetingDetail.aspx?ID=1291420&amp;", "MeetingDetail.aspx?ID=1291421&amp;"),
            DataError,
            "meeting 1291420: the page is the meeting page of ID 1291421",
        ),
    ],
)
def test_meeting_page_that_is_not_as_expected_raises(change, error, message):
    text = MEETING.read_text(encoding="utf-8")
    assert text.count(change[0]) >= 1, change[0]
    with pytest.raises(error) as caught:
        lw.parse_meeting_page(lw.parse_html(text.replace(change[0], change[1], 1)), "1291420")
    assert str(caught.value) == message


def test_calendar_settings_are_validated(tmp_path):
    entry = {"slug": "chicago", "name": "Chicago", "platform": "legistar-web", "client": "chicago"}
    j = load_config(write_config(tmp_path / "ok.toml", [entry])).jurisdiction("chicago")
    assert (j.calendar, j.calendar_days) == (True, 7)
    for change, message in (
        ({"calendar_days": -1}, "calendar_days: Input should be greater than or equal to 0"),
        ({"calendar_days": 400}, "calendar_days: Input should be less than or equal to 366"),
        ({"calendar": "often"}, "calendar: Input should be a valid boolean"),
    ):
        path = write_config(tmp_path / "bad.toml", [{**entry, **change}])
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert message in str(caught.value), str(caught.value)


# -- crawls ------------------------------------------------------------------------------------------------

ZONE = ZoneInfo("America/Chicago")


def portal(today: date) -> tuple[list[PortalBill], list[Meeting]]:
    """Four bills of three years ago (outside the incremental search's "This Year" and "Last Year") and
    one of this year."""
    old = today.replace(year=today.year - 3, month=3, day=1)
    bills = [
        PortalBill(
            id=6610240 + n,
            guid=f"9C1D1C55-3E2A-4B8E-9D6F-2B7A0C4E1F{n:02d}",
            file=f"O{old.year}-00{n:02d}",
            type="Ordinance",
            status="In Committee",
            title=f"An ordinance number {n}",
            intro=old + timedelta(days=n),
            history=[History(old + timedelta(days=n), "City Council", "Referred", id=30000000 + n)],
        )
        for n in range(4)
    ]
    bills.append(
        PortalBill(
            id=6610250,
            guid="0E5B8C1D-2A3F-4D6E-8B7C-9A0F1E2D3C4B",
            file=f"R{today.year}-0001",
            type="Resolution",
            status="Introduced",
            title="A resolution of this year",
            intro=today.replace(month=1, day=1),
            history=[History(today.replace(month=1, day=1), "City Council", "Introduced", id=30000050)],
        )
    )
    return bills, []


def calendar_postbacks(server: InsiteServer, year: int, first: date) -> list[str]:
    """The pager postbacks a crawl makes in ``year``'s calendar (2 meetings a page, newest first): pages
    2, 3... up to the first page that reaches before the window's first day ``first``, or the last page."""
    listed = sorted(
        (m for m in server.meetings.values() if m.date.year == year),
        key=lambda m: (m.date, m.id),
        reverse=True,
    )
    pages = [listed[i : i + 2] for i in range(0, len(listed), 2)]
    read = 1
    while read < len(pages) and pages[read - 1][-1].date >= first:
        read += 1
    return [f"ctl{2 * n:02d}" for n in range(2, read + 1)]


@BOTH_ENGINES
def test_a_bill_acted_on_at_a_recent_meeting_is_fetched_through_the_calendar(tmp_path, db_url, engine):
    today = local_today(ZONE)  # the portal's date: the crawler reads its calendar in local days
    bills, _ = portal(today)
    with InsiteServer(bills, today=today, calendar_page_size=2) as server:
        cfg = config(tmp_path, server, db_url)
        first = crawl(cfg)
        assert first.returncode == 0, first.stdout + first.stderr
        assert first.stdout.startswith("chicago: succeeded (full) - 5 bills seen, 5 new,")
        assert server.hits_to("/Calendar.aspx") == []  # a full crawl fetches every bill anyway
        yesterday = today - timedelta(days=1)
        # the old bill 6610241 passes at yesterday's council meeting; the incremental search does not list it
        old = server.bills[6610241]
        old.status, old.final = "Passed", yesterday
        old.history.append(
            History(yesterday, "City Council", "Passed", "Pass", id=30000091, meeting_id=900001)
        )
        # this year's resolution is adopted at the same meeting: listed (changed) AND on the agenda
        new = server.bills[6610250]
        new.status, new.final = "Adopted", yesterday
        new.history.append(
            History(yesterday, "City Council", "Adopted", "Pass", id=30000092, meeting_id=900001)
        )
        server.meetings = {
            m.id: m
            for m in [
                Meeting(
                    900001,
                    "1D2C3B4A-5E6F-4A7B-8C9D-0E1F2A3B4C01",
                    "City Council",
                    yesterday,
                    bills=[6610241, 6610250, 6610241],
                ),
                # a committee two days ago with an unchanged bill on its agenda (fetched: it may have a
                # new history row that changes nothing in its results row)
                Meeting(
                    900002,
                    "1D2C3B4A-5E6F-4A7B-8C9D-0E1F2A3B4C02",
                    "Committee on Finance",
                    today - timedelta(days=2),
                    bills=[6610242],
                ),
                # outside the window [first crawl - 7 days, today]: not read
                Meeting(
                    900003,
                    "1D2C3B4A-5E6F-4A7B-8C9D-0E1F2A3B4C03",
                    "City Council",
                    today - timedelta(days=40),
                    bills=[6610243],
                ),
                # not held yet: no MeetingDetail link
                Meeting(
                    900004,
                    "1D2C3B4A-5E6F-4A7B-8C9D-0E1F2A3B4C04",
                    "City Council",
                    today + timedelta(days=14),
                    bills=[6610240],
                    published=False,
                ),
                # held today
                Meeting(900005, "1D2C3B4A-5E6F-4A7B-8C9D-0E1F2A3B4C05", "Committee on Zoning", today),
            ]
        }
        before = len(server.hits)
        second = crawl(cfg)
        hits = server.hits[before:]
        before = len(server.hits)
        third = crawl(cfg)
        third_hits = server.hits[before:]
    assert second.returncode == 0, second.stdout + second.stderr
    window_years = {today.year, (today - timedelta(days=7)).year}
    calendar_years = len(window_years)
    # each bill once: the old one that passed (not listed: found on yesterday's agenda), this year's
    # resolution (listed and changed, and on the agenda), the unchanged bill on the committee's agenda
    details = Counter(h.query["ID"][0] for h in hits if h.path == "/LegislationDetail.aspx")
    assert details == {"6610241": 1, "6610250": 1, "6610242": 1}
    meetings = [h.query["ID"][0] for h in hits if h.path == "/MeetingDetail.aspx"]
    assert sorted(meetings) == ["900001", "900002", "900005"]
    posts = [h for h in hits if h.path == "/Calendar.aspx" and h.method == "POST"]
    switches = [h for h in posts if h.form["__EVENTTARGET"] == "ctl00$ContentPlaceHolder1$lstYears"]
    years = [json.loads(h.form["ctl00_ContentPlaceHolder1_lstYears_ClientState"])["value"] for h in switches]
    assert sorted(years) == sorted(["This Year", "Last Year"][:calendar_years])
    assert all(
        h.form["ctl00_ContentPlaceHolder1_lstBodies_ClientState"] == '{"value":"All"}' for h in switches
    )
    # the calendar lists 2 meetings a page, newest first: most of the year page 1 (today's unpublished
    # meeting in 14 days and today's), page 2 (yesterday's, two days ago), page 3 (40 days ago: older than
    # the window, the last page read); near New Year some of them are on the other year's calendar
    pages = [h.form["__EVENTTARGET"].rsplit("$", 1)[1] for h in posts if h not in switches]
    expected = [
        p for year in window_years for p in calendar_postbacks(server, year, today - timedelta(days=7))
    ]
    assert sorted(pages) == sorted(expected)
    if {today.year, (today + timedelta(days=14)).year, (today - timedelta(days=40)).year} == {today.year}:
        assert pages == ["ctl04", "ctl06"]
    assert len([h for h in hits if h.path == "/Calendar.aspx" and h.method == "GET"]) == calendar_years
    assert second.stdout.startswith(
        "chicago: succeeded (incremental) - 3 bills seen, 0 new, 2 changed, 2 status changes, 0 vanished, "
        f"0 errors, {len(hits)} requests\n"
    ), second.stdout
    if calendar_years == 1:
        # 4 search requests, the calendar's GET, the year's postback and its pages (2 and 3 most of the
        # year), 3 meeting pages, 3 bill pages
        assert len(hits) == 4 + 2 + len(expected) + 3 + 3
    assert third.returncode == 0, third.stdout + third.stderr
    assert third.stdout.startswith(
        "chicago: succeeded (incremental) - 3 bills seen, 0 new, 0 changed, 0 status"
    )
    assert Counter(h.query["ID"][0] for h in third_hits if h.path == "/LegislationDetail.aspx") == details
    with session_scope(engine) as s:
        changes = s.scalars(select(StatusChange).where(StatusChange.kind == "changed")).all()
        assert sorted(
            (c.bill.source_id, c.old_status, c.new_status, c.action.source_id) for c in changes
        ) == [
            ("6610241", "In Committee", "Passed", "30000091"),
            ("6610250", "Introduced", "Adopted", "30000092"),
        ]
        assert s.scalar(select(func.count()).select_from(StatusChange)) == 5 + 2
        passed = s.scalar(select(Bill).where(Bill.source_id == "6610241"))
        assert (passed.status, passed.passed_date) == ("Passed", today - timedelta(days=1))
        assert [a.event_source_id for a in passed.actions][-1] == "900001"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            ("calendar", "layout"),
            "layout changed: the calendar grid has no Meeting Date column at {base}/Calendar.aspx",
        ),
        (
            ("meeting:900001", "layout"),
            "layout changed: the agenda items grid (ctl00_ContentPlaceHolder1_gridMain_ctl00) missing at "
            "{base}/MeetingDetail.aspx?ID=900001&GUID=1D2C3B4A-5E6F-4A7B-8C9D-0E1F2A3B4C01&Options=info&Search=",
        ),
    ],
)
def test_a_changed_calendar_layout_fails_the_crawl_and_imports_nothing(
    tmp_path, db_url, engine, fault, expected
):
    today = local_today(ZONE)  # the portal's date: the crawler reads its calendar in local days
    bills, _ = portal(today)
    with InsiteServer(bills, today=today) as server:
        cfg = config(tmp_path, server, db_url)
        assert crawl(cfg).returncode == 0
        old = server.bills[6610241]
        old.status = "Passed"
        old.history.append(History(today, "City Council", "Passed", "Pass", id=30000091, meeting_id=900001))
        new = server.bills[6610250]
        new.status = "Adopted"  # listed by the search, changed: its page is read, but nothing is imported
        server.meetings = {
            900001: Meeting(
                900001, "1D2C3B4A-5E6F-4A7B-8C9D-0E1F2A3B4C01", "City Council", today, bills=[6610241]
            )
        }
        server.faults[fault[0]] = fault[1]
        result = crawl(cfg)
    message = "chicago: " + expected.format(base=server.base_url)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("chicago: failed (incremental) - ") and line.endswith(" - " + message), line
    assert runs(engine)[-1] == ("incremental", "failed", message)
    with session_scope(engine) as s:
        assert sorted(s.scalars(select(Bill.status))) == ["In Committee"] * 4 + ["Introduced"]
        assert s.scalar(select(func.count()).select_from(StatusChange)) == 5
        assert s.scalar(select(func.count()).select_from(CrawlRun)) == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_calendar_off_reads_no_calendar(tmp_path, db_url, engine):
    today = local_today(ZONE)  # the portal's date: the crawler reads its calendar in local days
    bills, _ = portal(today)
    with InsiteServer(bills, today=today) as server:
        cfg = config(tmp_path, server, db_url, calendar=False)
        assert crawl(cfg).returncode == 0
        second = crawl(cfg)
    assert second.returncode == 0, second.stdout
    assert server.hits_to("/Calendar.aspx") == [] and server.hits_to("/MeetingDetail.aspx") == []
