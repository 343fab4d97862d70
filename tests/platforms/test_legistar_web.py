"""The ``legistar-web`` platform (Legistar InSite pages): the parser on the recorded pages of
../shared/portal-samples/legistar-insite and on the detail-page fixture, and real crawls (the ``tracker``
command in a child process) of the InSite site of tests/platforms/insite_server.py on SQLite and
PostgreSQL: paging by postback, status changes, layout changes, error pages, track by link, a move from
the Legistar API."""

from __future__ import annotations

import copy
import json
import re
import urllib.parse
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Action, Attachment, Bill, BillSource, CrawlRun, Sponsor, StatusChange
from tests.conftest import run_tracker, write_config
from tests.platforms.conftest import BOTH_ENGINES
from tests.platforms.insite_server import SAMPLES, History, InsiteServer, recorded_bills
from tests.platforms.insite_server import Bill as PortalBill
from tests.replay import ReplayServer
from tracker.config import load_config
from tracker.errors import ConfigError, DataError
from tracker.platforms import legistar_web as lw
from tracker.platforms import parse_url

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "legistar_web" / "LegislationDetail.html"
API = SAMPLES / ".." / "legistar-api"


def page(name: str):
    text = (SAMPLES / name).read_text(encoding="utf-8")
    return lw.parse_html(text), text


# -- the parser on recorded pages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("city", "pages", "total", "first"),
    [
        (
            "chicago",
            6,
            522,
            {
                "source_id": "3779732",
                "guid": "4020F13A-6774-4D71-92E2-6E63DC0654EB",
                "identifier": "O2018-9628",
                "status": "Introduced",
                "dates": [date(2018, 12, 12)],
                "cells": {
                    "Record #": "O2018-9628",
                    "Type": "Ordinance",
                    "Status": "Introduced",
                    "Intro Date": "12/12/2018",
                    "Final Action": None,
                    "Main Sponsor's Ward/Office": "03",
                    "Title": "Grant(s) of privilege in public way for Arrive South Loop",
                },
            },
        ),
        (
            "metro",
            8,
            765,
            {
                "source_id": "3768219",
                "guid": "4D3972F4-3B70-44CF-95D7-80859B1988E4",
                "identifier": "2018-0513",
                "status": "Agenda Ready",
                "dates": [date(2018, 8, 1)],
            },
        ),
        (
            "nyc",
            5,
            438,
            {
                "source_id": "3775587",
                "guid": "A45C1EA6-6668-42D2-82F9-22F0954D0474",
                "identifier": "Int 1299-2018",
                "status": "Laid Over in Committee",
                "dates": [],
                "cells": {
                    "File #": "Int 1299-2018",
                    "Law Number": None,
                    "Type": "Introduction",
                    "Status": "Laid Over in Committee",
                    "Committee": "Committee on For-Hire Vehicles",
                    "Prime Sponsor": "Jumaane D. Williams",
                    "Council Member Sponsors": "3",
                    "Title": "A Local Law to amend the administrative code of the city of New York, in "
                    "relation to enforcement of prohibitions against unauthorized commuter vans",
                },
            },
        ),
    ],
)
def test_recorded_search_pages_parse_into_rows(city, pages, total, first):
    doc, _ = page(f"{city}/bills.html")
    found = lw.parse_search_page(doc)
    assert (len(found.rows), found.rejected, found.page, found.pages, found.total) == (
        100,
        [],
        1,
        pages,
        total,
    )
    assert found.next_target == "ctl00$ContentPlaceHolder1$gridMain$ctl00$ctl03$ctl01$ctl04"
    assert len({r.source_id for r in found.rows}) == 100
    row = found.rows[0]
    for key, value in first.items():
        assert getattr(row, key) == value, key
    assert len(row.fingerprint) == 32


def test_recorded_chicago_rows_in_detail():
    doc, _ = page("chicago/bills.html")
    rows = lw.parse_search_page(doc).rows
    assert Counter(r.status for r in rows) == {
        "Passed": 63,
        "Introduced": 20,
        "Adopted": 8,
        "Placed on File": 6,
        "Deferred and Published": 3,
    }
    last = rows[99]
    assert (last.source_id, last.identifier, last.dates) == (
        "3090437",
        "SO2017-4815",
        [date(2017, 6, 28), date(2017, 11, 21)],
    )
    assert (
        last.cells["Title"] == "Zoning Reclassification Map No. 9-J at 3459 W Belmont Ave - App No. 19268T1"
    )
    # every cell counts in the fingerprint: a new final-action date makes a different row
    changed = copy.deepcopy(last.cells)
    changed["Final Action"] = "11/22/2017"
    assert lw.fingerprint(changed) != last.fingerprint == lw.fingerprint(last.cells)


def test_search_form_of_a_recorded_page():
    doc, text = page("chicago/bills.html")
    assert lw.is_advanced(doc)
    fields = dict(lw.form_fields(doc))
    assert len(fields["__VIEWSTATE"]) == 278912
    assert fields["__VIEWSTATEGENERATOR"] == "FEB39A26"
    assert fields["ctl00$ContentPlaceHolder1$txtText"] == "cta"  # the recorded keyword search...
    overrides = lw.search_overrides(doc, text, "This Year")
    assert overrides == {
        "ctl00$ContentPlaceHolder1$txtText": "",  # ...is cleared: every bill is listed
        "ctl00$ContentPlaceHolder1$lstYearsAdvanced": "This Year",
        "ctl00_ContentPlaceHolder1_lstYearsAdvanced_ClientState": '{"value":"This Year"}',
        "ctl00$ContentPlaceHolder1$lstMax": "All",
        "ctl00_ContentPlaceHolder1_lstMax_ClientState": '{"value":"1000000"}',
    }
    assert lw.search_overrides(doc, text, "All")["ctl00$ContentPlaceHolder1$lstYearsAdvanced"] == "All Years"
    with pytest.raises(
        DataError, match=r"^the years drop-down does not offer '1999' \(it offers: All, 2019, "
    ):
        lw.search_overrides(doc, text, "1999")
    nyc, nyc_text = page("nyc/bills.html")
    # NYC's sessions are picked by the text shown; the value posted is the drop-down's own
    session = lw.search_overrides(nyc, nyc_text, "Session 2018-2021")
    assert session["ctl00_ContentPlaceHolder1_lstYearsAdvanced_ClientState"] == '{"value":"M.mtText2|\'11\'"}'


def test_postback_copies_the_form_state_as_the_recorded_nashville_postback_did():
    """The recorded GET then POST of Nashville's Calendar.aspx (year drop-down postback): the fields the
    builder takes from the GET answer are the ones the recorded POST carried."""
    doc, _ = page("nashville/Calendar.aspx.GET.body.html")
    cassette = (SAMPLES / "nashville" / "calendar-get-then-postback.vcr.yaml").read_text(encoding="utf-8")
    (body,) = re.findall(r"^    body: (__VIEWSTATE=\S+)$", cassette, re.M)
    recorded = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
    assert sorted(recorded) == [
        "__EVENTTARGET",
        "__EVENTVALIDATION",
        "__VIEWSTATE",
        "ctl00_ContentPlaceHolder1_lstYears_ClientState",
    ]
    fields = lw.postback(
        lw.form_fields(doc),
        "ctl00$ContentPlaceHolder1$lstYears",
        {"ctl00_ContentPlaceHolder1_lstYears_ClientState": '{"value":"2026"}'},
    )
    mine = dict(fields)
    assert {k: mine[k] for k in recorded} == recorded
    assert len(mine["__VIEWSTATE"]) == 343000
    assert [k for k, _ in fields].count("__EVENTTARGET") == 1
    # its years drop-down, read from the Telerik $create script and the drop-down list
    combo = lw.combos(doc, (SAMPLES / "nashville/Calendar.aspx.GET.body.html").read_text(encoding="utf-8"))
    years = combo["ctl00_ContentPlaceHolder1_lstYears"]
    assert (years.unique_id, years.items[0], years.items[-1], len(years.items)) == (
        "ctl00$ContentPlaceHolder1$lstYears",
        ("All", "All Years"),
        ("Next Year", "Next Year"),
        23,
    )


# -- the detail page ------------------------------------------------------------------------------------

GUID = "9C1D1C55-3E2A-4B8E-9D6F-2B7A0C4E1F38"


def detail(text: str | None = None, **kw):
    doc = lw.parse_html(text or FIXTURE.read_text(encoding="utf-8"))
    args = {"source_id": "6610243", "guid": GUID, "base": "https://riverton.legistar.com", "slug": "riverton"}
    return lw.parse_detail(doc, **{**args, **kw})


def test_detail_page_fixture_normalizes_into_a_bill():
    bill = detail(row_version="f" * 32, listed_identifier="O2026-0053")
    assert (bill.source_id, bill.identifier, bill.type_name, bill.status, bill.stage) == (
        "6610243",
        "O2026-0053",
        "Ordinance",
        "In Committee",
        "in_committee",
    )
    assert bill.title == (
        "An ordinance amending Chapter 2-173 of the Municipal Code to prohibit city agencies from entering "
        "into 287(g) agreements and from honoring civil immigration detainers"
    )
    assert (bill.name, bill.version, bill.body_name) == (
        "Welcoming City Ordinance amendment",
        "1",
        "Committee on Public Safety",
    )
    assert (
        bill.introduced,
        bill.agenda_date,
        bill.passed_date,
        bill.enacted_date,
        bill.enactment_number,
    ) == (
        date(2026, 1, 14),
        date(2026, 2, 11),
        None,
        None,
        None,
    )
    url = f"https://riverton.legistar.com/LegislationDetail.aspx?ID=6610243&GUID={GUID}"
    assert (bill.public_url, bill.source_url, bill.portal_row_version) == (url, url, "f" * 32)
    # 5 history rows, two of them Legistar's double row for one action: 4 actions, oldest first
    assert [
        (a.source_id, a.action_date, a.body_name, a.description, a.result, a.event_source_id)
        for a in bill.actions
    ] == [
        ("30412006", date(2026, 1, 14), "City Council", "Introduced", None, "1288104"),
        ("30412007", date(2026, 1, 14), "City Council", "Referred", None, "1288104"),
        (
            "30500112",
            date(2026, 2, 11),
            "Committee on Public Safety",
            "Recommended to Pass",
            "Pass",
            "1290881",
        ),
        ("row-5e24847cf66ca158", date(2026, 2, 24), "City Council", None, None, "1291420"),
    ]
    assert [a.classification for a in bill.actions] == [
        "introduction",
        "referral",
        "committee_passage",
        "other",
    ]
    assert [a.sequence for a in bill.actions] == [0, 1, 2, 3]
    assert [(s.name, s.is_primary) for s in bill.sponsors] == [
        ("Maria Hernandez", True),
        ("Daniel Okafor", False),
        ("Lena Fischer", False),
    ]
    assert [(a.source_id, a.name, a.url) for a in bill.attachments or []] == [
        (
            "14001234",
            "1. O2026-0053 (Ordinance text)",
            "https://riverton.legistar.com/View.ashx?M=F&ID=14001234&GUID=2F9E8D7C-6B5A-4E3D-9C2B-1A0F9E8D7C6B",
        ),
        (
            "14001240",
            "2. Law Department memo",
            "https://riverton.legistar.com/View.ashx?M=F&ID=14001240&GUID=7E6D5C4B-3A29-4817-9F6E-5D4C3B2A1908",
        ),
    ]
    # a draft row's id is a hash of the row: the same on every crawl
    assert detail().actions[3].source_id == "row-5e24847cf66ca158"


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            (
                'border="0" id="ctl00_ContentPlaceHolder1_gridLegislation_ctl00"',
                'border="0" id="x"',
            ),
            lw.LayoutChanged,
            "the history table (ctl00_ContentPlaceHolder1_gridLegislation_ctl00) missing",
        ),
        (
            ('id="ctl00_ContentPlaceHolder1_lblStatus2"', 'id="ctl00_ContentPlaceHolder1_lblStatusText"'),
            lw.LayoutChanged,
            "the status (ctl00_ContentPlaceHolder1_lblStatus2) missing",
        ),
        (
            ('id="ctl00_ContentPlaceHolder1_lblType2"', 'id="ctl00_ContentPlaceHolder1_lblFile2"'),
            lw.LayoutChanged,
            "2 elements with id ctl00_ContentPlaceHolder1_lblFile2 (the file number)",
        ),
        (
            ('scope="col" class="rgHeader">Result</th>', 'scope="col" class="rgHeader">Outcome</th>'),
            lw.LayoutChanged,
            "the history table has no Result column",
        ),
        (
            ('<td class="rgSorted">1/14/2026</td>', '<td class="rgSorted">2026-01-14</td>'),
            DataError,
            "riverton bill 6610243 history row 4: Date: malformed date '2026-01-14'",
        ),
        (
            (">In Committee</span>", ">" + "x" * 201 + "</span>"),
            DataError,
            "riverton bill 6610243: the status: 201 characters (at most 200)",
        ),
        (
            ("ID=6610243&amp;GUID", "ID=6610244&amp;GUID"),
            DataError,
            "riverton bill 6610243: the page is the detail page of ID 6610244",
        ),
    ],
)
def test_detail_page_that_is_not_as_expected_raises(change, error, message):
    text = FIXTURE.read_text(encoding="utf-8")
    assert text.count(change[0]) >= 1
    with pytest.raises(error) as caught:
        detail(text.replace(change[0], change[1], 1))
    assert str(caught.value) == message
    if error is DataError:
        assert not isinstance(caught.value, lw.LayoutChanged)


def test_detail_page_of_another_file_than_listed_is_rejected():
    with pytest.raises(DataError, match=r"shows file 'O2026-0053', the search listed 'O2026-0054'$"):
        detail(listed_identifier="O2026-0054")


def test_parse_url_reads_real_shaped_links():
    chicago = "https://chicago.legistar.com/LegislationDetail.aspx?ID=3779732&GUID=4020F13A-6774-4D71-92E2-6E63DC0654EB&Options=Advanced&Search="
    target = lw.parse_url(chicago)
    assert (target.platform, target.host, target.source_id, target.url) == (
        "legistar-web",
        "chicago.legistar.com",
        "3779732",
        chicago,
    )
    assert (
        lw.parse_url(
            "https://legistar.council.nyc.gov/LegislationDetail.aspx?id=3775587&guid=A45C1EA6-6668-42D2-82F9-22F0954D0474"
        ).source_id
        == "3775587"
    )
    assert lw.parse_url("https://metro.legistar.com/Gateway.aspx?M=L&ID=3768219").source_id == "3768219"
    for url in (
        "https://chicago.legistar.com/MeetingDetail.aspx?ID=3779732&GUID=4020F13A-6774-4D71-92E2-6E63DC0654EB",
        "https://chicago.legistar.com/LegislationDetail.aspx?ID=abc",
        "https://chicago.legistar.com/Gateway.aspx?M=M&ID=3779732",
        "ftp://chicago.legistar.com/LegislationDetail.aspx?ID=3779732",
        "LegislationDetail.aspx?ID=3779732",
    ):
        assert lw.parse_url(url) is None, url
    # both Legistar platforms read an InSite link: the configured platform of the host decides
    assert sorted(t.platform for t in parse_url(chicago)) == ["legistar", "legistar-web"]


def test_settings_keys_are_validated(tmp_path):
    entry = {"slug": "chicago", "name": "Chicago", "platform": "legistar-web", "client": "chicago"}
    config = load_config(write_config(tmp_path / "ok.toml", [entry]))
    j = config.jurisdiction("chicago")
    assert (j.base, j.search_years, j.incremental_years, j.source_key, j.hosts) == (
        "https://chicago.legistar.com",
        ["All"],
        ["This Year", "Last Year"],
        "legistar-web:chicago",
        {"chicago.legistar.com"},
    )
    for change, message in (
        ({"search_years": "All"}, "search_years: Input should be a valid list"),
        ({"incremental_years": []}, "incremental_years: must name at least one value"),
        ({"search_years": ["All", "All"]}, "search_years: lists a value twice"),
        ({"search_years": ["2019'); drop"]}, 'search_years: not a years drop-down value: "2019\'); drop"'),
        ({"api_base": "https://webapi.legistar.com/v1"}, "unknown key 'api_base'"),
    ):
        path = tmp_path / "bad.toml"
        lines = write_config(path, [entry]).read_text()
        for k, v in change.items():
            lines += f"{k} = {json.dumps(v)}\n"
        path.write_text(lines)
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert "\n" not in str(caught.value)
        assert "bad.toml: jurisdictions[0] (slug 'chicago')" in str(caught.value)
        assert message in str(caught.value), str(caught.value)


# -- crawls -----------------------------------------------------------------------------------------------


def config(tmp_path, server, db_url, *, name="t.toml", crawl=None, **extra):
    entry = {
        "slug": "chicago",
        "name": "Chicago City Council",
        "platform": "legistar-web",
        "client": "chicago",
        "web_base": server.base_url,
        "timezone": "America/Chicago",
        # These tests pin the bills' requests and calendar reads; the meetings a crawl also reads (one page
        # per meeting of the [crawl] window) are tested with meetings = true in test_legistar_web_meetings.py.
        "meetings": False,
        **extra,
    }
    return write_config(tmp_path / name, [entry], database_url=db_url, crawl=crawl)


def crawl(cfg, *args):
    return run_tracker("--config", str(cfg), "crawl", *args)


def runs(engine):
    with session_scope(engine) as s:
        return [
            (r.mode, r.status, r.message)
            for r in s.scalars(select(CrawlRun).order_by(CrawlRun.started_at, CrawlRun.id))
        ]


def test_full_crawl_of_recorded_rows_pages_by_postback(tmp_path, db_url, engine):
    """The 100 recorded Chicago rows, served 40 to a page: 3 pages turned by postback, 100 bill pages."""
    bills = recorded_bills("chicago")
    with InsiteServer(bills, page_size=40) as server:
        cfg = config(tmp_path, server, db_url)
        result = crawl(cfg)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "chicago: succeeded (full) - 100 bills seen, 100 new, 0 changed, 0 status changes, 0 vanished, "
        "0 errors, 104 requests\n"
    )
    search = server.hits_to("/Legislation.aspx")
    assert [(h.method, h.form.get("__EVENTTARGET")) for h in search] == [
        ("GET", None),
        ("POST", "ctl00$ContentPlaceHolder1$btnSearch"),
        ("POST", "ctl00$ContentPlaceHolder1$gridMain$ctl00$ctl03$ctl01$ctl04"),  # page 2
        ("POST", "ctl00$ContentPlaceHolder1$gridMain$ctl00$ctl03$ctl01$ctl06"),  # page 3 (link after page 2)
    ]
    # every postback carried the __VIEWSTATE of the answer before it, and the session cookie of the GET
    posts = search[1:]
    assert [h.form["__VIEWSTATE"] for h in posts] == server.issued[:3]
    assert len(server.issued) == 4
    session = re.search(r"ASP\.NET_SessionId=\w+", posts[0].cookie).group(0)
    assert all(session in h.cookie for h in posts)
    assert posts[0].form["ctl00_ContentPlaceHolder1_lstYearsAdvanced_ClientState"] == '{"value":"All"}'
    assert posts[0].form["ctl00$ContentPlaceHolder1$txtText"] == ""
    assert len(server.hits_to("/LegislationDetail.aspx")) == 100

    with session_scope(engine) as s:
        stored = {b.source_id: b for b in s.scalars(select(Bill))}
        assert set(stored) == {str(b.id) for b in bills}  # InSite's IDs: the API's MatterIds
        first = stored["3779732"]
        assert (first.identifier, first.type_name, first.status, first.stage, first.introduced) == (
            "O2018-9628",
            "Ordinance",
            "Introduced",
            "introduced",
            date(2018, 12, 12),
        )
        assert first.title == "Grant(s) of privilege in public way for Arrive South Loop"
        assert first.public_url == (
            f"{server.base_url}/LegislationDetail.aspx?ID=3779732&GUID=4020F13A-6774-4D71-92E2-6E63DC0654EB"
        )
        assert first.source_key == "legistar-web:chicago"
        assert first.portal_row_version is not None and len(first.portal_row_version) == 32
        assert Counter(b.stage for b in stored.values()) == {
            "passed": 63,
            "introduced": 20,
            "enacted": 8,
            "filed": 6,
            "in_committee": 3,
        }
        assert s.scalar(select(func.count()).select_from(Action)) == 20 * 2 + 80 * 3
        assert s.scalar(select(func.count()).select_from(Sponsor)) == 89
        last = stored["3090437"]
        assert [(a.source_id, a.action_date, a.description, a.result) for a in last.actions] == [
            ("30904371", date(2017, 6, 28), "Introduced", None),
            ("30904372", date(2017, 6, 28), "Referred", None),
            ("30904373", date(2017, 11, 21), "Passed", "Pass"),
        ]
        assert [x.name for x in last.sponsors] == ["Alderperson of ward Misc."]
        events = s.scalars(select(StatusChange)).all()
        assert Counter(e.kind for e in events) == {"first_seen": 100}


@BOTH_ENGINES
def test_status_change_between_two_crawls(tmp_path, db_url, engine):
    bills = recorded_bills("chicago")
    with InsiteServer(bills, page_size=40) as server:
        cfg = config(tmp_path, server, db_url)
        assert crawl(cfg).returncode == 0
        bill = server.bills[3779732]
        bill.status, bill.final = "Passed", date(2019, 1, 23)
        bill.history.append(History(date(2019, 1, 23), "City Council", "Passed", "Pass", id=37797324))
        before = len(server.hits)
        second = crawl(cfg)
        second_hits = server.hits[before:]
        before = len(server.hits)
        third = crawl(cfg)
        third_hits = server.hits[before:]
    assert second.returncode == 0, second.stderr
    assert second.stdout == (
        "chicago: succeeded (incremental) - 1 bills seen, 0 new, 1 changed, 1 status changes, 0 vanished, "
        "0 errors, 8 requests\n"
    )
    # incremental: "This Year" (2019: nothing) and "Last Year" (2018: 62 rows, 2 pages), one bill page, and
    # the calendar (a GET and the "This Year" postback: no meeting)
    years = [
        json.loads(h.form["ctl00_ContentPlaceHolder1_lstYearsAdvanced_ClientState"])["value"]
        for h in second_hits
        if h.form.get("__EVENTTARGET", "").endswith("btnSearch")
    ]
    assert sorted(years) == ["Last Year", "This Year"]
    assert [h.query["ID"] for h in second_hits if h.path == "/LegislationDetail.aspx"] == [["3779732"]]
    assert third.stdout.startswith(
        "chicago: succeeded (incremental) - 0 bills seen, 0 new, 0 changed, 0 status"
    )
    assert [h for h in third_hits if h.path == "/LegislationDetail.aspx"] == []
    with session_scope(engine) as s:
        (event,) = s.scalars(select(StatusChange).where(StatusChange.kind == "changed")).all()
        assert (event.old_status, event.new_status, event.old_stage, event.new_stage) == (
            "Introduced",
            "Passed",
            "introduced",
            "passed",
        )
        assert (event.action.source_id, event.action.description, event.action.action_date) == (
            "37797324",
            "Passed",
            date(2019, 1, 23),
        )
        assert s.scalar(select(func.count()).select_from(StatusChange)) == 101


def small_portal() -> list[PortalBill]:
    return [
        PortalBill(
            id=6610240 + n,
            guid=f"9C1D1C55-3E2A-4B8E-9D6F-2B7A0C4E1F{n:02d}",
            file=f"O2018-00{n:02d}",
            type="Ordinance",
            status="Introduced",
            title=f"An ordinance number {n}",
            intro=date(2018, 3, n + 1),
            history=[History(date(2018, 3, n + 1), "City Council", "Introduced", id=30000000 + n)],
        )
        for n in range(5)
    ]


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            ("detail:6610242", "layout"),
            "layout changed: the history table (ctl00_ContentPlaceHolder1_gridLegislation_ctl00) missing at "
            "{base}/LegislationDetail.aspx?ID=6610242&GUID=9C1D1C55-3E2A-4B8E-9D6F-2B7A0C4E1F02",
        ),
        (
            ("search", "layout"),
            "layout changed: the legislation results grid (ctl00_ContentPlaceHolder1_gridMain_ctl00) missing "
            "at {base}/Legislation.aspx",
        ),
        (
            ("search", "error"),
            "the portal redirected to its error page (Error.aspx) from {base}/Legislation.aspx "
            "(gave up after 2 attempts)",
        ),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # nothing is stored: one engine
def test_a_broken_portal_fails_the_crawl_and_imports_nothing(tmp_path, db_url, engine, fault, expected):
    with InsiteServer(small_portal()) as server:
        server.faults[fault[0]] = fault[1]
        cfg = config(tmp_path, server, db_url, crawl={"retries": 1})
        result = crawl(cfg)
    message = "chicago: " + expected.format(base=server.base_url)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("chicago: failed (full) - 0 bills seen, 0 new,") and line.endswith(" - " + message)
    assert result.stderr == "Error: crawl did not succeed for chicago\n"
    assert runs(engine) == [("full", "failed", message)]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Bill)) == 0
    if fault[1] in ("error", "empty"):
        retried = [h for h in server.hits if h.method == "POST" or h.path == "/LegislationDetail.aspx"]
        assert len(retried) >= 2


def test_a_bill_page_that_fails_for_good_fails_only_itself(tmp_path, db_url, engine):
    """One bill's page answering empty (or InSite's error page) after every retry failed the whole city's
    crawl (until 2026-12-07); that bill is now named and left out, the others are imported, the crawl is
    partial (a page whose layout changed still fails the crawl: the test above)."""
    with InsiteServer(small_portal()) as server:
        server.faults["detail:6610243"] = "empty"
        cfg = config(tmp_path, server, db_url, crawl={"retries": 1})
        result = crawl(cfg)
        retried = [
            h for h in server.hits if h.path == "/LegislationDetail.aspx" and h.query.get("ID") == ["6610243"]
        ]
    url = f"{server.base_url}/LegislationDetail.aspx?ID=6610243&GUID=9C1D1C55-3E2A-4B8E-9D6F-2B7A0C4E1F03"
    assert result.returncode == 1
    assert result.stdout.startswith("chicago: partial (full) - 4 bills seen, 4 new,"), result.stdout
    assert result.stdout.rstrip().endswith(
        f"1 records rejected, first: chicago: matter 6610243 not read: empty answer from {url} "
        "(gave up after 2 attempts)"
    ), result.stdout
    assert len(retried) == 2
    with session_scope(engine) as s:
        assert sorted(s.scalars(select(Bill.source_id))) == ["6610240", "6610241", "6610242", "6610244"]


def test_a_record_gone_between_search_and_page_is_rejected_and_the_rest_imported(tmp_path, db_url, engine):
    with InsiteServer(small_portal()) as server:
        server.faults["detail:6610241"] = "gone"
        cfg = config(tmp_path, server, db_url)
        result = crawl(cfg)
    url = f"{server.base_url}/LegislationDetail.aspx?ID=6610241&GUID=9C1D1C55-3E2A-4B8E-9D6F-2B7A0C4E1F01"
    assert result.returncode == 1
    assert result.stdout.startswith("chicago: partial (full) - 4 bills seen, 4 new,")
    assert result.stdout.rstrip().endswith(
        f"1 records rejected, first: chicago: the portal says the record no longer exists at {url}"
    )
    with session_scope(engine) as s:
        assert sorted(s.scalars(select(Bill.source_id))) == ["6610240", "6610242", "6610243", "6610244"]


def test_an_empty_first_search_fails_unless_declared(tmp_path, db_url, engine):
    with InsiteServer([]) as server:
        result = crawl(config(tmp_path, server, db_url))
        allowed = crawl(config(tmp_path, server, db_url, name="allowed.toml", allow_empty=True))
    assert result.returncode == 1
    assert result.stdout.rstrip().endswith(
        f"chicago: the legislation search listed nothing at {server.base_url}/Legislation.aspx "
        "(set allow_empty = true if that is expected)"
    )
    assert allowed.returncode == 0, allowed.stdout
    assert allowed.stdout.startswith("chicago: succeeded (full) - 0 bills seen")


def test_track_by_link_and_tracked_bills_outside_the_incremental_search(tmp_path, db_url, engine):
    """A simple-search site (the spider switches to the advanced search); a bill tracked by its public
    link is fetched through Gateway.aspx, and every incremental crawl fetches it even when its year is not
    searched."""
    bills = small_portal()
    bills[0].intro = date(2016, 5, 4)  # not "This Year" or "Last Year" of the portal's 2019
    with InsiteServer(bills, simple_first=True) as server:
        cfg = config(tmp_path, server, db_url)
        first = crawl(cfg)
        assert first.returncode == 0, first.stdout + first.stderr
        switch = server.hits_to("/Legislation.aspx", "POST")[0]
        assert switch.form["ctl00$ContentPlaceHolder1$btnSwitch"] == "Advanced search >>>"
        url = f"{server.base_url}/LegislationDetail.aspx?ID=6610240&GUID={bills[0].guid}&Options=&Search="
        before = len(server.hits)
        tracked = run_tracker("--config", str(cfg), "track", url)
        assert tracked.returncode == 0, tracked.stdout + tracked.stderr
        assert tracked.stdout.startswith("chicago O2018-0000: tracked (bill ")
        assert [h.path for h in server.hits[before:]] == ["/Gateway.aspx", "/LegislationDetail.aspx"]
        before = len(server.hits)
        third = crawl(cfg)
        paths = [h.path for h in server.hits[before:]]
        unknown = run_tracker("--config", str(cfg), "track", f"{server.base_url}/Gateway.aspx?M=L&ID=99")
    assert third.returncode == 0, third.stdout
    assert third.stdout.startswith("chicago: succeeded (incremental) - 1 bills seen, 0 new, 0 changed")
    # the search (twice: a switch and a search each) lists the 4 others, unchanged: only the tracked one
    assert paths.count("/Gateway.aspx") == 1 and paths.count("/LegislationDetail.aspx") == 1
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("Error: chicago: could not fetch bill 99: failed (track)")
    assert "the portal redirected to its error page (Error.aspx) from " in unknown.stderr
    with session_scope(engine) as s:
        bill = s.scalar(select(Bill).where(Bill.source_id == "6610240"))
        assert bill.tracked_at is not None and bill.identifier == "O2018-0000"


@BOTH_ENGINES
def test_city_moves_from_the_legistar_api_to_insite_and_keeps_its_bills(tmp_path, db_url, engine):
    """Recorded API answers of Metro matter 10881 first; then the same city read from InSite pages whose
    IDs are the API's ids (MatterId, MatterHistoryId, MatterAttachmentId): the same bill row, its status
    history continued (no spurious change), both sources recorded."""
    matter = json.loads((API / "metro/matters-filtered.json").read_bytes())[0]
    routes = {
        "/v1/metro/matters": (API / "metro/matters-filtered.json").read_bytes(),
        "/v1/metro/matters/10881/histories": (API / "chicago/matter-histories-dupe.json").read_bytes(),
        "/v1/metro/matters/10881/sponsors": b"[]",
        "/v1/metro/matters/10881/attachments": (API / "metro/matter-attachments.json").read_bytes(),
        # the API crawl reads meetings too: this city had none in the window
        "/v1/metro/events": b"[]",
        "/v1/metro/officerecords": b"[]",
    }
    with ReplayServer(routes) as api:
        entry = {"slug": "la-metro", "name": "LA Metro", "platform": "legistar", "client": "metro"}
        entry |= {"api_base": api.base_url, "timezone": "America/Los_Angeles"}
        first = crawl(write_config(tmp_path / "api.toml", [entry], database_url=db_url))
    assert first.returncode == 0, first.stdout + first.stderr
    insite = PortalBill(
        id=10881,
        guid=matter["MatterGuid"],
        file="2024-1026",
        type="Minutes",
        status="Passed",
        title=matter["MatterTitle"],
        intro=date(2024, 10, 22),
        final=date(2024, 10, 31),
        history=[
            History(date(2013, 3, 13), "City Council", "Referred", id=192728),
            History(
                date(2013, 4, 30),
                "Committee on Zoning, Landmarks and Building Standards",
                "Recommended to Pass",
                "Pass",
                id=198127,
                meeting_id=3673,
            ),
            History(date(2013, 5, 8), "City Council", "Passed", "Pass", id=200020, meeting_id=3683),
            History(date(2013, 5, 8), "City Council", "Passed", "Pass", id=200942, meeting_id=3683),
        ],
        attachments=[
            (28753, "Regular Board Meeting MINUTES - September 26, 2024"),
            (28754, "September 2024 RBM Public Comments"),
            (28800, "Special Board Meeting/Ad Hoc 2028 MINUTES - October 23, 2024"),
            (28801, "October 2024 SBM/Ad Hoc Public Comments"),
        ],
    )
    with InsiteServer([insite], template="metro", today=date(2024, 11, 1)) as server:
        entry = {"slug": "la-metro", "name": "LA Metro", "platform": "legistar-web", "client": "metro"}
        entry |= {"web_base": server.base_url, "timezone": "America/Los_Angeles"}
        path = write_config(tmp_path / "web.toml", [entry], database_url=db_url)
        path.write_text(path.read_text() + 'moved_from = ["legistar:metro"]\n')
        # the first crawl after a declared move is a full one (docs/platforms.md)
        second = crawl(path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.startswith("la-metro: succeeded (full) - 1 bills seen, 0 new, 1 changed, 0 status")
    with session_scope(engine) as s:
        (bill,) = s.scalars(select(Bill)).all()
        assert (bill.source_id, bill.source_key, bill.status, bill.identifier) == (
            "10881",
            "legistar-web:metro",
            "Passed",
            "2024-1026",
        )
        assert sorted(x.source_key for x in s.scalars(select(BillSource))) == [
            "legistar-web:metro",
            "legistar:metro",
        ]
        assert [(a.source_id, a.description) for a in bill.actions] == [
            ("192728", "Referred"),
            ("198127", "Recommended to Pass"),
            ("200020", "Passed"),
        ]
        assert sorted(a.source_id for a in s.scalars(select(Attachment))) == [
            "28753",
            "28754",
            "28800",
            "28801",
        ]
        assert [e.kind for e in bill.status_changes] == ["first_seen"]
        assert bill.status_changes[0].action.source_id == "200020"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_paging_past_ten_pages_follows_the_ellipsis_link(tmp_path, db_url, engine):
    """RadGrid shows ten page links and a "..." link to the next group: page 11 is reached through it."""
    bills = [
        PortalBill(
            id=7000000 + n,
            guid=f"0A1B2C3D-4E5F-4A6B-8C7D-{n:012d}",
            file=f"R2018-{n:04d}",
            type="Resolution",
            status="Adopted",
            title=f"A resolution {n}",
            intro=date(2018, 1, 1 + n),
        )
        for n in range(25)
    ]
    with InsiteServer(bills, page_size=2) as server:
        result = crawl(config(tmp_path, server, db_url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("chicago: succeeded (full) - 25 bills seen, 25 new,")
    targets = [h.form["__EVENTTARGET"].rsplit("$", 1)[1] for h in server.hits_to("/Legislation.aspx", "POST")]
    # the search, pages 2..10 (links ctl04..ctl20), "..." (ctl22) to page 11, then pages 12 and 13 of the
    # group 11-13, whose links follow its leading "..." (ctl02): ctl06, ctl08
    assert targets == ["btnSearch", *(f"ctl{n:02d}" for n in range(4, 23, 2)), "ctl06", "ctl08"]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Bill)) == 25


def test_a_bad_row_of_the_results_is_rejected_by_name():
    doc, _ = page("chicago/bills.html")
    grid = doc.get_element_by_id(lw.SEARCH_GRID)
    rows = grid.xpath("./tbody/tr")
    rows[1].xpath("./td")[3].xpath(".//font")[-1].text = "13/45/2018"
    rows[2].xpath(".//a")[0].set("href", "https://chicago.legistar.com/MeetingDetail.aspx?ID=1")
    found = lw.parse_search_page(doc)
    assert len(found.rows) == 98
    assert found.rejected == [
        "row 2: malformed date '13/45/2018'",
        "row 3 links to 'https://chicago.legistar.com/MeetingDetail.aspx?ID=1', "
        "not a LegislationDetail.aspx?ID= page",
    ]
    rows[4].xpath(".//a")[0].set("id", "ctl00_ContentPlaceHolder1_gridMain_ctl00_ctl12_hypRecord")
    with pytest.raises(lw.LayoutChanged, match=r"^the legislation results grid: row 5 has 0 file links$"):
        lw.parse_search_page(doc)


@pytest.mark.parametrize("count", ["1234567890", "9" * 40, "9" * 5000])
def test_an_absurd_count_in_the_pager_is_a_changed_layout(count):
    import lxml.html

    from tracker.errors import LayoutChanged
    from tracker.platforms.legistar_web import _pager

    table = lxml.html.fromstring(
        '<table><tfoot><tr class="rgPager"><td><div class="rgWrap rgInfoPart">Page 1 of 2, items 1 to 1'
        f' of {count}.</div><a class="rgCurrentPage">1</a></td></tr></tfoot></table>'
    )
    with pytest.raises(LayoutChanged, match="text is missing"):
        _pager(table, 1, "the grid", "the pager", "ctl00")
