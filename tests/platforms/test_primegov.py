"""PrimeGov: the real recorded listings parsed into meetings, and real crawls (the `tracker` command in a
child process) of loopback portals serving those listings byte for byte with agenda pages written for the
tests (tests/platforms/primegov_server.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Action, Attachment, Bill, CrawlRun, StatusChange
from tests.clock import LocalDay
from tests.conftest import run_tracker, write_config
from tests.platforms.conftest import BOTH_ENGINES
from tests.platforms.primegov_server import (
    CCTA_UPCOMING,
    CLAYTON_2026,
    LA_JOURNAL_77546,
    LA_UPCOMING,
    PUBLIC_COMMENT,
    ccta_portal,
    clayton_portal,
    immigrant_affairs,
    la_portal,
    with_document,
)
from tracker.demo.primegov_portal import ERROR_PAGE, HTML_TYPE, AppServer, Item, Page, meeting_row
from tracker.errors import DataError
from tracker.platforms.agenda import item_key
from tracker.platforms.primegov import page_document, parse_meeting, parse_outcome, parse_page

UPCOMING = "/api/v2/publicportal/listupcomingmeetings"
FAST = {"retries": 1, "backoff_base": 0, "backoff_max": 0, "download_timeout": 5}


def city(slug: str, server: AppServer, tenant: str, **extra) -> dict:
    return {
        "slug": slug,
        "name": slug.upper(),
        "platform": "primegov",
        "tenant": tenant,
        "base_url": server.base_url,
        "timezone": "America/Los_Angeles",
        "lookback_days": 30,
        **extra,
    }


def config(tmp_path, db_url, *cities: dict):
    """tests.conftest.write_config, with list values (``committee_ids``) written as TOML arrays."""
    path = write_config(tmp_path / "t.toml", list(cities), database_url=db_url, crawl=FAST)
    path.write_text(re.sub(r'= "(\[[0-9, ]*\])"', r"= \1", path.read_text()))
    return path


def crawl(cfg, *args):
    return run_tracker("--config", str(cfg), "crawl", *args)


def bills(engine, slug_prefix: str = "") -> dict[str, Bill]:
    with session_scope(engine) as s:
        rows = s.scalars(select(Bill)).all()
        for b in rows:
            s.expunge(b)
    return {b.source_id: b for b in rows}


def actions(engine, source_id: str) -> list[tuple]:
    with session_scope(engine) as s:
        return [
            (a.source_id, a.action_date.isoformat(), a.acted_at, a.description, a.body_name, a.tally)
            for a in s.scalars(
                select(Action).join(Bill).where(Bill.source_id == source_id).order_by(Action.sequence)
            )
        ]


# -- the recorded listings -------------------------------------------------------------------------------


def test_recorded_listings_parse_into_meetings():
    la = [parse_meeting(row) for row in json.loads(LA_UPCOMING.read_bytes())]
    assert [(m.id, m.day.isoformat(), m.start.strftime("%H:%M"), m.committee_id) for m in la] == [
        (9817, "2021-10-21", "10:00", 3),
        (9910, "2021-10-21", "10:00", 34),
        (10014, "2021-10-21", "12:30", 20),
        (9545, "2021-10-21", "14:00", 18),
        (9944, "2021-10-22", "10:00", 1),
    ]
    assert la[0].title == "Information, Technology, and General Services"  # trailing space dropped
    assert len(la[0].documents) == 4 and la[0].documents[0].publish_date is None
    chosen = [page_document(m) for m in la]
    assert [
        (d.template_id, d.name, kind) if d else None for d, kind in (c or (None, None) for c in chosen)
    ] == [
        (77546, "HTML Journal", "minutes"),  # the journal records outcomes: read before the agenda
        (78142, "HTML Agenda", "agenda"),
        (79021, "HTML Revised Agenda", "agenda"),
        (75649, "HTML Special Agenda", "agenda"),
        None,  # HTML Notice of Cancellation
    ]

    ccta = [parse_meeting(row) for row in json.loads(CCTA_UPCOMING.read_bytes())]
    assert [(m.id, m.day.isoformat(), m.title) for m in ccta] == [
        (1298, "2022-07-25", "Countywide Bicycle and Pedestrian Advisory Committee Meeting"),
        (1330, "2022-07-27", "Citizens Advisory Committee Meeting - Cancelled"),
    ]
    assert [page_document(m) and page_document(m)[0].template_id for m in ccta] == [5422, None]

    clayton = [parse_meeting(row) for row in json.loads(CLAYTON_2026.read_bytes())]
    assert len(clayton) == 18
    first = clayton[0]
    assert (first.id, first.start, first.title) == (
        554,
        datetime(2026, 1, 6, 18, 0),
        "Regular Business Meeting",
    )
    assert [(d.id, d.name, d.output_type, d.publish_date) for d in first.documents] == [
        (4934, "Summary Minutes", 1, datetime(2026, 1, 29, 14, 55, 36, 623000)),
        (4935, "Minutes", 1, datetime(2026, 1, 29, 15, 54, 17, 830000)),
    ]
    with_pages = {m.id: page_document(m) for m in clayton if page_document(m)}
    assert len(with_pages) == 15  # 554, 614 and 560 have only PDFs (or compileOutputType 2)
    assert (with_pages[558][0].template_id, with_pages[558][0].name) == (4438, "HTML Minutes")
    assert (with_pages[576][0].template_id, with_pages[576][0].name) == (4562, "HTML Summary Minutes")
    assert with_pages[613][1] == "agenda"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "9817"}, "a meeting: missing or invalid id ('9817')"),
        ({"date": "2021-10-21"}, "meeting 9817: malformed date '2021-10-21'"),
        ({"time": "25:00 PM"}, "meeting 9817: malformed time '25:00 PM'"),
        ({"dateTime": "2021-10-22T10:00:00"}, "meeting 9817: dateTime '2021-10-22T10:00:00' disagrees with"),
        ({"dateTime": "2021-10-21T10:00:00+00:00"}, "expected a local time without an offset"),
        ({"documentList": None}, "meeting 9817: documentList is not a list"),
    ],
)
def test_malformed_meetings_are_named(change, message):
    row = {**json.loads(LA_UPCOMING.read_bytes())[0], **change}
    with pytest.raises(DataError) as exc:
        parse_meeting(row)
    assert message in str(exc.value)


def test_journal_page_parses_into_items_with_outcomes():
    items, problems = parse_page(
        LA_JOURNAL_77546.read_text(), "https://lacity.primegov.com/Portal/Meeting?x=1"
    )
    assert problems == []
    assert [(i.item_id, i.label, i.number, i.note) for i in items] == [
        ("155866", "(1)", "21-0600-S29", None),
        ("155871", "(2)", "21-0745", "CD 1"),
        ("155880", "(3)", None, None),
    ]
    assert items[1].title == (
        "Motion (Hernandez - Raman) relative to ending the sharing of City data with U.S. Immigration and "
        "Customs Enforcement (ICE)."
    )
    assert items[2].title == PUBLIC_COMMENT
    assert [parse_outcome(i.action) for i in items[:2]] == [("Approved", "3-0"), ("Continued", "3-0")]
    assert items[2].action is None
    assert [a[0] for a in items[1].attachments] == [
        "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c02",
        "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e03",
    ]
    assert items[0].attachments[0][1:] == (
        "Report from Information Technology Agency dated 10-5-21.pdf",
        "https://lacity.primegov.com/api/compilemeetingitem/historyattachment/"
        "?historyId=5d0b7a64-1c2e-4f8a-9b3d-2e6f7a8b9c01",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("APPROVED Motion (Buscaino - Lee) - (3) Yes; (0) No", ("Approved", "3-0")),
        ("CONTINUED TO NOVEMBER 4, 2021", ("Continued", None)),
        ("RECEIVED AND FILED", ("Received and filed", None)),
        ("ADOPTED AS AMENDED, Motion (Koretz - Lee) - (12) Yes; (2) No", ("Adopted as amended", "12-2")),
        ("REFERRED to the Budget and Finance Committee", ("Referred", None)),
    ],
)
def test_outcome_words(text, expected):
    assert parse_outcome(text) == expected


def test_an_action_without_an_outcome_in_capitals_is_an_error():
    with pytest.raises(DataError, match="does not start with an outcome in capitals"):
        parse_outcome("Motion (Buscaino - Lee) approved")


def test_stable_key_of_items_without_a_number():
    key = item_key(None, PUBLIC_COMMENT, None)
    assert key.startswith("item:") and len(key) == 29
    # spacing, case and punctuation do not make another item; the number wins whatever the title
    assert (
        item_key(
            None,
            "  public COMMENT on items of interest within the Committee's subject-matter jurisdiction ",
            None,
        )
        == key
    )
    assert item_key(None, PUBLIC_COMMENT, "Resolution") != key
    assert item_key("cf 21\u20130745", "anything", None) == "CF21-0745"


# -- crawls ------------------------------------------------------------------------------------------------


def test_crawl_groups_items_across_meetings_into_bills(tmp_path, db_url, engine):
    la, ccta = la_portal(), ccta_portal()
    with AppServer(la) as la_server, AppServer(ccta) as ccta_server:
        cfg = config(tmp_path, db_url, city("la", la_server, "lacity"), city("ccta", ccta_server, "ccta"))
        day = LocalDay(city("la", la_server, "lacity")["timezone"])  # the crawler's window is in local days
        result = crawl(cfg)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "la: succeeded (full) - 7 bills seen, 7 new, 0 changed, 0 status changes, 0 vanished, 0 errors, "
        f"{len(la_server.requests)} requests"
    )
    assert lines[1].startswith("ccta: succeeded (full) - 2 bills seen, 2 new, 0 changed")
    # one request per archive year of the window, the upcoming list, and one page per meeting with items
    listed = [(p, q) for p, q in la_server.requests if "PublicPortal" in p]

    def window_years(today):  # one request per archive year of the 30-day window, and the upcoming list
        return sorted([*map(str, range((today - timedelta(days=30)).year, today.year + 1)), "upcoming"])

    assert sorted(q.get("year", ["upcoming"])[0] for _, q in listed) in day.expect(window_years)
    pages = sorted(q["meetingTemplateId"][0] for p, q in la_server.requests if p == "/Portal/Meeting")
    assert pages == ["75649", "77546", "78142", "79021"]
    assert [q["meetingTemplateId"][0] for p, q in ccta_server.requests if p == "/Portal/Meeting"] == ["5422"]

    stored = bills(engine)
    la_bills = {sid: b for sid, b in stored.items() if b.raw["template_id"] != 5422}
    comment = item_key(None, PUBLIC_COMMENT, None)
    assert sorted(la_bills) == sorted(
        ["21-0600-S29", "21-0745", "21-0002-S123", "21-1048", "20-1371", "21-1100", comment]
    )
    assert {sid: (b.status, b.stage) for sid, b in la_bills.items()} == {
        "21-0600-S29": ("Approved", "enacted"),
        "21-0745": ("On agenda", "introduced"),  # continued at 10:00, on another agenda at 12:30
        "21-0002-S123": ("On agenda", "introduced"),
        "21-1048": ("On agenda", "introduced"),
        "20-1371": ("On agenda", "introduced"),
        "21-1100": ("On agenda", "introduced"),
        comment: ("On agenda", "introduced"),
    }
    ice = la_bills["21-0745"]
    assert (ice.identifier, ice.body_name, ice.agenda_date) == (
        "21-0745",
        "Immigrant Affairs, Civil Rights, and Equity Committee",
        date(2021, 10, 21),
    )
    assert ice.public_url == f"{la_server.base_url}/Portal/Meeting?meetingTemplateId=79021#AgendaItem_156101"
    assert actions(engine, "21-0745") == [
        ("9817:155871", "2021-10-21", datetime(2021, 10, 21, 17, 0, tzinfo=UTC), "Continued",
         "Information, Technology, and General Services", "3-0"),
        ("10014:156101", "2021-10-21", datetime(2021, 10, 21, 19, 30, tzinfo=UTC), "On agenda",
         "Immigrant Affairs, Civil Rights, and Equity Committee", None),
    ]  # fmt: skip
    assert [a[0] for a in actions(engine, comment)] == ["9817:155880", "9910:156002"]
    assert la_bills[comment].identifier is None and la_bills[comment].title == PUBLIC_COMMENT
    with session_scope(engine) as s:
        total_actions = s.scalar(select(func.count()).select_from(Action))
        names = s.scalars(
            select(Attachment.name)
            .join(Bill)
            .where(Bill.source_id == "21-0745")
            .order_by(Attachment.sequence)
        ).all()
        events = s.scalars(select(StatusChange.kind)).all()
    assert total_actions == 9 + 2
    assert names == ["Motion 21-0745.pdf", "Communication from the Immigrant Affairs Department.pdf"]
    assert events == ["first_seen"] * 9
    assert stored["22-041"].body_name == "Countywide Bicycle and Pedestrian Advisory Committee Meeting"


@BOTH_ENGINES
def test_outcome_change_and_stable_keys_across_two_crawls(tmp_path, db_url, engine):
    portal = la_portal()
    with AppServer(portal) as server:
        cfg = config(tmp_path, db_url, city("la", server, "lacity"))
        assert crawl(cfg).returncode == 0
        first = bills(engine)
        # The committee publishes its journal (with one outcome), and a council meeting is added with the
        # public comment item (no number) and a new file.
        listing = with_document(
            portal.upcoming,
            10014,
            {"id": 13999, "compileOutputType": 3, "publishStatus": 1, "templateId": 79022,
             "templateName": "HTML Journal"},
        )  # fmt: skip
        council = meeting_row(
            10100, "City Council Meeting", datetime(2021, 10, 26, 10, 0), [(14001, 80001, "HTML Agenda", 3)]
        )
        rows = [*json.loads(listing), council]
        portal.upcoming = json.dumps(rows).encode()
        portal.pages[79022] = immigrant_affairs(journal=True)
        portal.pages[80001] = Page(
            "City Council Meeting",
            [
                (
                    "ITEMS",
                    [
                        Item(157001, PUBLIC_COMMENT),
                        Item(157002, "Motion relative to a Sanctuary City report.", "21-1200"),
                    ],
                )
            ],
        )  # fmt: skip
        second = crawl(cfg)
        third = crawl(cfg)  # nothing changed since: nothing is written
    assert second.returncode == 0, second.stderr
    # 21-0745 changed status; the public comment bill gained an action; 21-1048 and 20-1371 link the journal
    assert "8 bills seen, 1 new, 4 changed, 1 status changes" in second.stdout
    stored = bills(engine)
    comment = item_key(None, PUBLIC_COMMENT, None)
    assert first[comment].id == stored[comment].id
    assert [sid for sid in stored if sid.startswith("item:")] == [comment]
    assert [a[0] for a in actions(engine, comment)] == ["9817:155880", "9910:156002", "10100:157001"]
    with session_scope(engine) as s:
        changed = s.scalars(select(StatusChange).where(StatusChange.kind == "changed")).all()
        assert len(changed) == 1
        event = changed[0]
        change = (event.old_status, event.new_status, event.old_stage, event.new_stage)
        assert (event.bill.source_id, *change) == (
            "21-0745", "On agenda", "Approved", "introduced", "enacted"
        )  # fmt: skip
        assert (event.action.source_id, event.action.description, event.action.tally) == (
            "10014:156101", "Approved", "5-0"
        )  # fmt: skip
        assert (
            s.scalar(select(func.count()).select_from(Action).join(Bill).where(Bill.source_id == "21-0745"))
            == 2
        )
    assert "8 bills seen, 0 new, 0 changed, 0 status changes" in third.stdout


def test_archive_years_and_datetime_payload(tmp_path, db_url, engine):
    portal = clayton_portal()
    day = LocalDay("America/New_York")  # the crawler counts the window back from Clayton's local date
    lookback = (day.first - date(2025, 12, 20)).days  # reaches back into 2025
    with AppServer(portal) as server:
        clayton = city("clayton", server, "claytoncountyga", timezone="America/New_York")
        clayton["lookback_days"] = lookback
        cfg = config(tmp_path, db_url, clayton)
        result = crawl(cfg)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("clayton: succeeded (full) - 16 bills seen, 16 new")
    years = [q["year"][0] for p, q in server.requests if p.endswith("ListArchivedMeetings")]
    assert sorted(years) in day.expect(lambda today: [str(y) for y in range(2025, today.year + 1)])
    pages = [int(q["meetingTemplateId"][0]) for p, q in server.requests if p == "/Portal/Meeting"]
    assert sorted(pages) == sorted([4801, 4438, 4423, 5055, 4562, 4564, 4571, 4578, 4585, 5069, 5328, 5062,
                                    5104, 5471, 5111])  # fmt: skip
    resolution = actions(engine, "2026-0100")
    assert len(resolution) == 15
    assert resolution[0][:4] == (
        "613:6131",
        "2026-01-13",
        datetime(2026, 1, 13, 14, 0, tzinfo=UTC),
        "On agenda",
    )
    assert [a[3] for a in resolution if a[3] != "On agenda"] == ["Adopted", "Adopted"]
    assert resolution[-1][:2] == ("646:6461", "2026-04-21")  # the latest appearance sets the status
    stored = bills(engine)
    assert (stored["2026-0100"].status, stored["2026-4438"].status) == ("On agenda", "Approved")


def test_committee_filter_and_track_crawl(tmp_path, db_url, engine):
    portal = la_portal()
    with AppServer(portal) as server:
        cfg = config(tmp_path, db_url, city("la", server, "lacity", committee_ids=[20]))
        tracked = crawl(cfg, "la", "--only", "21-1048")
        assert tracked.returncode == 0, tracked.stderr
        assert tracked.stdout.startswith("la: succeeded (track) - 1 bills seen, 1 new")
        assert list(bills(engine)) == ["21-1048"]
        result = crawl(cfg)
    assert result.returncode == 0, result.stderr
    assert "3 bills seen, 2 new" in result.stdout  # only committee 20's meeting (10014) is read
    assert sorted(bills(engine)) == ["20-1371", "21-0745", "21-1048"]
    assert [q["meetingTemplateId"][0] for p, q in server.requests if p == "/Portal/Meeting"] == [
        "79021",
        "79021",
    ]


@pytest.mark.parametrize(
    ("where", "answer", "reason"),
    [
        (UPCOMING, (200, HTML_TYPE, ERROR_PAGE), "expected JSON, got an HTML page"),
        (UPCOMING, (200, "application/json", b'[{"id": 1, "da'),
         "invalid or truncated JSON"),
        (UPCOMING, (503, HTML_TYPE, b"Service Unavailable"), "HTTP 503"),
    ],
    ids=["html200", "truncated", "503"],
)  # fmt: skip
# (one meeting's page that is garbage or fails for good fails only itself: test_agenda_one_bad.py)
def test_error_page_or_garbage_fails_the_crawl_and_imports_nothing(
    tmp_path, db_url, engine, where, answer, reason
):
    portal = la_portal()
    portal.faults[where] = answer
    with AppServer(portal) as server:
        cfg = config(tmp_path, db_url, city("la", server, "lacity"))
        result = crawl(cfg)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("la: failed (full) - 0 bills seen, 0 new")
    assert reason in line and server.base_url in line
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "Error: crawl did not succeed for la"
    assert bills(engine) == {}
    with session_scope(engine) as s:
        assert s.scalars(select(CrawlRun.status)).all() == ["failed"]


def test_changed_layout_fails_naming_the_url_and_keeps_the_store(tmp_path, db_url, engine):
    portal = la_portal()
    with AppServer(portal) as server:
        cfg = config(tmp_path, db_url, city("la", server, "lacity"))
        assert crawl(cfg).returncode == 0
        before = {sid: (b.status, b.content_hash) for sid, b in bills(engine).items()}
        # the tenant's agenda template changed: items are rendered without the item table
        portal.pages[78142] = (
            b"<html><body><table class='item-table-fromdocx' data-id='9560' data-itemid='9560'>"
            b"<tr><td>21-0002-S123. Resolution relative to SB 54</td></tr></table></body></html>"
        )
        result = crawl(cfg)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("la: failed (incremental) - 0 bills seen")
    assert line.endswith(
        "la: no agenda sections ([data-sectionid]) or items (div.meeting-item) on the page at "
        f"{server.base_url}/Portal/Meeting?meetingTemplateId=78142"
    )
    assert {sid: (b.status, b.content_hash) for sid, b in bills(engine).items()} == before
    with session_scope(engine) as s:
        assert s.scalars(select(CrawlRun.status).order_by(CrawlRun.id)).all() == ["succeeded", "failed"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_bad_item_is_rejected_by_name_and_the_rest_imported(tmp_path, db_url, engine):
    portal = la_portal()
    portal.pages[75649] = Page(
        "Trade", [("ITEMS", [Item(156201, "Port report.", "21-1100 <script>x</script>" * 5)])]
    )
    with AppServer(portal) as server:
        cfg = config(tmp_path, db_url, city("la", server, "lacity"))
        result = crawl(cfg)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith(
        "la: partial (full) - 6 bills seen, 6 new, 0 changed, 0 status changes, 0 vanished, 1 errors"
    )
    assert "meetingTemplateId=75649: agenda item 156201: not a file number: '21-1100 <script>" in line
    assert "21-1100" not in bills(engine)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_empty_window_is_an_error_unless_declared(tmp_path, db_url, engine):
    portal = la_portal()
    portal.upcoming = []
    with AppServer(portal) as server:
        cfg = config(tmp_path, db_url, city("la", server, "lacity"))
        result = crawl(cfg)
        assert result.returncode == 1
        assert "la: the portal listed no meetings from " in result.stdout
        assert "(set allow_empty = true if that is expected)" in result.stdout
        cfg = config(tmp_path, db_url, city("la", server, "lacity", allow_empty=True))
        assert crawl(cfg).stdout.startswith("la: succeeded (full) - 0 bills seen")
