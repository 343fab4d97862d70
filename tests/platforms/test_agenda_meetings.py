"""PrimeGov and CivicClerk meetings: the real recorded listings (../shared/portal-samples, read in place) read
as meetings, and real crawls (the `tracker` command in a child process) of the loopback portals
(tests/platforms/primegov_server.py, civicclerk_server.py) that store each meeting with its agenda items
linked to the bills they became, roll calls where the portal names them, a moved and a cancelled hearing
recorded once each, and no meeting marked gone when a listing answers garbage."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import Bill, CrawlRun
from db.models_meetings import HearingChange, Meeting, MeetingItem, Vote
from tests.clock import local_today, utc_now
from tests.conftest import run_tracker, write_config
from tests.platforms.civicclerk_server import (
    MEETING_781,
    CivicClerkApi,
    agenda,
    item,
    sample_events,
    south_fulton_api,
)
from tests.platforms.conftest import BOTH_ENGINES
from tests.platforms.primegov_server import CCTA_UPCOMING, CLAYTON_2026, LA_UPCOMING, la_portal
from tracker.contract import NormalizedMeeting
from tracker.demo.primegov_portal import JSON_TYPE, AppServer, Item, Page, PrimeGovPortal, meeting_row
from tracker.platforms import civicclerk, primegov
from tracker.platforms.agenda import Appearance, build_meetings, item_key

FAST = {"retries": 1, "backoff_base": 0, "backoff_max": 0, "download_timeout": 5}
LA = "America/Los_Angeles"
NY = "America/New_York"
PG = "https://lacity.primegov.com"
PORTAL = "https://southfultonga.portal.civicclerk.com"


def config(tmp_path, db_url, entry: dict):
    path = write_config(tmp_path / "t.toml", [entry], database_url=db_url, crawl=FAST)
    path.write_text(re.sub(r'= "(\[[0-9, ]*\])"', r"= \1", path.read_text()))  # TOML arrays of numbers
    return path


def crawl(cfg):
    return run_tracker("--config", str(cfg), "crawl")


def meetings(engine) -> dict[str, tuple]:
    with session_scope(engine) as s:
        return {
            m.source_id: (m.state, m.starts_at, m.vanished_at, m.body_name)
            for m in s.scalars(select(Meeting))
        }


def changes(engine) -> list[tuple[str, str | None]]:
    with session_scope(engine) as s:
        rows = s.execute(select(HearingChange.kind, Bill.identifier).join(Bill).order_by(HearingChange.id))
        return sorted((tuple(r) for r in rows), key=lambda r: (r[0], r[1] or ""))  # (an unnumbered bill)


# -- the recorded listings -------------------------------------------------------------------------------


def test_primegov_recorded_listings_read_as_meetings():
    la = {
        m.id: primegov.meeting_record(m, PG, LA)
        for m in map(primegov.parse_meeting, json.loads(LA_UPCOMING.read_bytes()))
    }
    journal = la[9817]
    assert journal.starts_at == datetime(2021, 10, 21, 17, 0, tzinfo=UTC)  # 10:00 in Los Angeles
    assert (journal.local_date, journal.time_zone) == (date(2021, 10, 21), LA)
    assert journal.body_name == "Information, Technology, and General Services"
    assert journal.agenda_url == f"{PG}/Portal/Meeting?meetingTemplateId=77545"
    assert journal.minutes_url == f"{PG}/Portal/Meeting?meetingTemplateId=77546"
    assert journal.public_url == journal.minutes_url  # the page the crawl reads: the journal
    assert not journal.items_complete  # until its page is read
    # 9944's only documents are a notice of cancellation
    assert [k for k, m in la.items() if m.cancelled] == [9944]
    assert la[9944].agenda_url is None and la[9944].public_url is None
    # 9910 has an HTML agenda and a PDF journal: the journal's PDF is its minutes
    assert la[9910].minutes_url == f"{PG}/Public/CompiledDocument?meetingTemplateId=78143&compileOutputType=1"

    ccta = {
        m.id: primegov.meeting_record(m, "https://ccta.primegov.com", LA)
        for m in map(primegov.parse_meeting, json.loads(CCTA_UPCOMING.read_bytes()))
    }
    assert ccta[1330].cancelled and ccta[1330].body_name == "Citizens Advisory Committee Meeting"
    assert ccta[1330].raw["title"] == "Citizens Advisory Committee Meeting - Cancelled"
    assert not ccta[1298].cancelled
    assert ccta[1298].agenda_url == "https://ccta.primegov.com/Portal/Meeting?meetingTemplateId=5422"

    clayton = [
        primegov.meeting_record(m, PG, NY)
        for m in map(primegov.parse_meeting, json.loads(CLAYTON_2026.read_bytes()))
    ]
    assert len(clayton) == 18 and not any(m.cancelled for m in clayton)
    first = clayton[0]
    assert first.starts_at == datetime(2026, 1, 6, 23, 0, tzinfo=UTC)  # its dateTime, 18:00 in New York
    # PDFs only: full minutes before summary minutes
    assert first.agenda_url is None
    assert first.minutes_url == f"{PG}/Public/CompiledDocument?meetingTemplateId=4410&compileOutputType=1"


def test_primegov_meeting_without_a_time_starts_at_local_midnight():
    row = json.loads(LA_UPCOMING.read_bytes())[0]
    row["time"] = ""
    record = primegov.meeting_record(primegov.parse_meeting(row), PG, LA)
    assert record.starts_at == datetime(2021, 10, 21, 0, 0, tzinfo=ZoneInfo(LA))
    assert record.raw["timed"] is False and record.raw["time"] == "" and record.timed is False


def test_civicclerk_recorded_events_read_as_meetings():
    rows = sample_events()
    records = {r["id"]: civicclerk.meeting_record(civicclerk.parse_event(r), PORTAL, NY) for r in rows}
    assert len(records) == 16 and not any(m.cancelled for m in records.values())
    hearing = records[1744]
    assert hearing.starts_at == datetime(2026, 4, 15, 21, 0, tzinfo=UTC)  # the "Z" is local time: 17:00
    assert hearing.location == "5440 Fulton Industrial Blvd, South Fulton, Georgia, 30336"
    assert hearing.agenda_url == f"{PORTAL}/event/1744/files/agenda/2261"
    assert hearing.public_url == f"{PORTAL}/event/1744/files"
    assert hearing.body_name == "Alcohol License and Zoning Public Hearings"
    # address2 repeats address1 on the other rows: said once
    assert records[1745].location == hearing.location and records[1745].agenda_url is None

    for change in (
        {"eventName": "City Council Work Session - CANCELLED"},
        {"eventDescription": "<p>This meeting has been canceled.</p>"},
        {"eventNotice": "Cancellation notice"},
    ):
        event = civicclerk.parse_event({**rows[1], **change})
        assert civicclerk.meeting_record(event, PORTAL, NY).cancelled, change


def test_civicclerk_roll_call_of_the_last_motion():
    items, problems = civicclerk.parse_agenda(json.loads(MEETING_781.read_bytes()), 781)
    assert problems == []
    by_id = {i.id: i for i in items}
    approved = by_id[21511]
    assert [(v.member, v.vote, v.text) for v in approved.votes] == [
        (f"Member {x}", "yes", "Yes") for x in "ABCDEF"
    ]
    failed = by_id[21521]  # amended, then failed 3-3-1: the roll call of the last motion
    assert failed.tally == "3-3-1"
    assert Counter(v.vote for v in failed.votes) == {"yes": 3, "no": 3, "abstain": 1}
    assert by_id[21531].votes == []  # no motion recorded yet


def test_items_complete_only_for_a_page_read_whole_with_items():
    day = date(2026, 5, 1)

    def record(source_id: str, page_read: bool) -> NormalizedMeeting:
        start = datetime(2026, 5, 1, 17, tzinfo=UTC)
        return NormalizedMeeting(source_id, "Council", start, day, LA, items_complete=page_read)

    def seen(meeting_id: str, item_id: str, position: int, number: str | None) -> Appearance:
        return Appearance(meeting_id, item_id, position, day, None, "Council", number, "A motion", None, None)

    records = {k: record(k, k != "4") for k in ("1", "2", "3", "4")}
    appearances = [
        seen("1", "12", 1, None),
        seen("1", "11", 0, "cf 26 - 0001"),
        seen("3", "31", 0, "26-0003"),
    ]
    built = {m.source_id: m for m in build_meetings(records, appearances, incomplete={"3"})}
    # 1: its page read whole; 2: read without an item; 3: an item rejected; 4: no page read
    assert {k: m.items_complete for k, m in built.items()} == {"1": True, "2": False, "3": False, "4": False}
    assert [(i.source_id, i.sequence, i.bill_source_id, i.identifier) for i in built["1"].items] == [
        ("11", 0, "CF26-0001", "cf 26 - 0001"),
        ("12", 1, item_key(None, "A motion", None), None),
    ]


# -- crawls: the recorded listings -----------------------------------------------------------------------


def test_civicclerk_crawl_stores_meetings_items_and_roll_calls(tmp_path, db_url, engine):
    api = south_fulton_api()
    lookback = (local_today(NY) - date(2026, 4, 1)).days
    started = utc_now(seconds=False)
    with AppServer(api) as server:
        api.base_url = server.base_url
        entry = {
            "slug": "south-fulton",
            "name": "South Fulton",
            "platform": "civicclerk",
            "tenant": "southfultonga",
            "api_base": server.base_url,
            "portal_base": PORTAL,
            "timezone": NY,
            "lookback_days": lookback,
            "category_ids": [26],
        }
        result = crawl(config(tmp_path, db_url, entry))
    assert result.returncode == 0, result.stderr
    finished = utc_now(seconds=False)
    stored = meetings(engine)
    assert len(stored) == 16
    # held once the meeting's start has passed at the crawl, scheduled before: all held on any date after
    # the recording, and some scheduled on a clock set before it (found at 2026-07-01 by the date check)
    for state, starts_at, *_ in stored.values():
        at = starts_at if starts_at.tzinfo else starts_at.replace(tzinfo=UTC)
        expected = {"held"} if at <= started else {"scheduled"} if at > finished else {"held", "scheduled"}
        assert state in expected, (state, at, started)
    with session_scope(engine) as s:
        rows = s.execute(
            select(MeetingItem.source_id, MeetingItem.bill_source_id, Bill.identifier, MeetingItem.tally)
            .join(Meeting)
            .outerjoin(Bill, MeetingItem.bill_id == Bill.id)
            .where(Meeting.source_id == "1747")
            .order_by(MeetingItem.sequence)
        ).all()
        votes = s.execute(
            select(MeetingItem.source_id, Vote.vote)
            .join(Vote)
            .join(Meeting)
            .where(Meeting.source_id == "1747")
        ).all()
        meeting = s.scalar(select(Meeting).where(Meeting.source_id == "1747"))
        assert meeting.location == "5440 Fulton Industrial Blvd, South Fulton, Georgia, 30336"
        assert meeting.public_url == f"{PORTAL}/event/1747/files"
    numbered = [(r[0], r[2], r[3]) for r in rows if r[2]]
    assert numbered == [
        ("21511", "2026-R-041", "6-0-0"),
        ("21521", "2026-O-007", "3-3-1"),
        ("21531", "2026-O-012", None),
    ]
    assert all(r[1] is not None for r in rows)  # every item points at its bill (numbered or not)
    assert Counter((i, v) for i, v in votes) == {
        ("21511", "yes"): 6,
        ("21521", "yes"): 3,
        ("21521", "no"): 3,
        ("21521", "abstain"): 1,
    }
    if all(state == "held" for state, *_ in stored.values()):
        assert changes(engine) == []  # last spring's meetings announce nothing
    else:  # a clock set before them: the hearings still ahead are announced as scheduled, nothing else
        announced = changes(engine)
        assert announced and {kind for kind, _ in announced} == {"scheduled"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_primegov_crawl_stores_meetings_and_a_cancellation_notice(tmp_path, db_url, engine):
    with AppServer(la_portal()) as server:
        entry = {
            "slug": "lacity",
            "name": "Los Angeles",
            "platform": "primegov",
            "tenant": "lacity",
            "base_url": server.base_url,
            "timezone": LA,
            "lookback_days": 30,
        }
        result = crawl(config(tmp_path, db_url, entry))
    assert result.returncode == 0, result.stderr
    stored = meetings(engine)
    assert {k: v[0] for k, v in stored.items()} == {
        "9817": "held", "9910": "held", "10014": "held", "9545": "held", "9944": "cancelled"
    }  # fmt: skip
    with session_scope(engine) as s:
        items = s.execute(
            select(Meeting.source_id, Bill.identifier, MeetingItem.action)
            .join(MeetingItem, MeetingItem.meeting_id == Meeting.id)
            .join(Bill, MeetingItem.bill_id == Bill.id)
            .where(Bill.identifier.is_not(None))
        ).all()
    assert sorted(items) == sorted(
        [
            ("9817", "21-0600-S29", "Approved"),
            ("9817", "21-0745", "Continued"),
            ("9910", "21-0002-S123", None),
            ("10014", "21-0745", None),
            ("10014", "21-1048", None),
            ("10014", "20-1371", None),
            ("9545", "21-1100", None),
        ]
    )


# -- crawls: hearings moved and cancelled between two crawls ---------------------------------------------


def upcoming_event(event_id: int, agenda_id: int, days: int, hour: int, name: str) -> dict:
    row = copy.deepcopy(sample_events()[3])
    day = local_today(NY) + timedelta(days=days)
    stamp = f"{day.isoformat()}T{hour:02d}:00:00Z"
    row.update(id=event_id, agendaId=agenda_id, eventName=name, startDateTime=stamp, eventDate=stamp)
    row["publishedFiles"] = []
    return row


def civicclerk_entry(server) -> dict:
    return {
        "slug": "south-fulton",
        "name": "South Fulton",
        "platform": "civicclerk",
        "tenant": "southfultonga",
        "api_base": server.base_url,
        "portal_base": PORTAL,
        "timezone": NY,
        "lookback_days": 30,
    }


def upcoming_api() -> CivicClerkApi:
    api = CivicClerkApi(
        events=[
            upcoming_event(3001, 901, 10, 19, "City Council Regular Meeting"),
            upcoming_event(3002, 902, 20, 16, "City Council Work Session"),
        ]
    )
    api.agendas[901] = agenda(901, 3001, [item(90101, "A Resolution Declaring a Welcoming City",
                                               resolution="2026-R-901")])  # fmt: skip
    api.agendas[902] = agenda(902, 3002, [item(90201, "An Ordinance Limiting Data Sharing",
                                               ordinance="2026-O-902")])  # fmt: skip
    return api


@BOTH_ENGINES
def test_civicclerk_moved_and_cancelled_hearings_recorded_once(tmp_path, db_url, engine):
    api = upcoming_api()
    with AppServer(api) as server:
        api.base_url = server.base_url
        cfg = config(tmp_path, db_url, civicclerk_entry(server))
        first = crawl(cfg)
        assert first.returncode == 0, first.stderr
        assert {k: v[0] for k, v in meetings(engine).items()} == {"3001": "scheduled", "3002": "scheduled"}
        assert changes(engine) == [("scheduled", "2026-O-902"), ("scheduled", "2026-R-901")]

        # the regular meeting moves a day later; the work session is cancelled
        moved = upcoming_event(3001, 901, 11, 19, "City Council Regular Meeting")
        api.events[0]["startDateTime"] = api.events[0]["eventDate"] = moved["startDateTime"]
        api.events[1]["eventName"] = "City Council Work Session - CANCELLED"
        second = crawl(cfg)
        assert second.returncode == 0, second.stderr
        third = crawl(cfg)
        assert third.returncode == 0, third.stderr

    stored = meetings(engine)
    assert stored["3001"][0] == "moved" and stored["3002"][0] == "cancelled"
    day = local_today(NY) + timedelta(days=11)
    assert stored["3001"][1] == datetime.combine(day, time(19), ZoneInfo(NY)).astimezone(UTC)
    assert changes(engine) == [
        ("cancelled", "2026-O-902"),
        ("moved", "2026-R-901"),
        ("scheduled", "2026-O-902"),
        ("scheduled", "2026-R-901"),
    ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_primegov_moved_and_cancelled_hearings_recorded_once(tmp_path, db_url, engine):
    today = local_today(LA)

    def row(meeting_id: int, days: int, title: str, documents: list) -> dict:
        when = datetime.combine(today + timedelta(days=days), time(10))
        return meeting_row(meeting_id, title, when, documents)

    portal = PrimeGovPortal()
    portal.upcoming = [
        row(701, 10, "Public Safety Committee", [(1, 7011, "HTML Agenda", 3)]),
        row(702, 20, "City Council Meeting", [(2, 7021, "HTML Agenda", 3)]),
    ]
    portal.pages[7011] = Page("Public Safety", [("ITEMS", [Item(70101, "Sanctuary motion", "26-0701")])])
    portal.pages[7021] = Page("Council", [("ITEMS", [Item(70201, "ICE data motion", "26-0702")])])
    with AppServer(portal) as server:
        entry = {
            "slug": "lacity",
            "name": "Los Angeles",
            "platform": "primegov",
            "tenant": "lacity",
            "base_url": server.base_url,
            "timezone": LA,
            "lookback_days": 30,
        }
        cfg = config(tmp_path, db_url, entry)
        first = crawl(cfg)
        assert first.returncode == 0, first.stderr
        assert changes(engine) == [("scheduled", "26-0701"), ("scheduled", "26-0702")]

        # the committee moves a day later; the council meeting is cancelled (a notice replaces its agenda)
        portal.upcoming = [
            row(701, 11, "Public Safety Committee", [(1, 7011, "HTML Agenda", 3)]),
            row(702, 20, "City Council Meeting - Cancelled", [(3, 7022, "Notice of Cancellation", 1)]),
        ]
        second = crawl(cfg)
        assert second.returncode == 0, second.stderr
        third = crawl(cfg)
        assert third.returncode == 0, third.stderr

        # a listing answering garbage: the crawl fails as before, and no stored meeting is marked gone
        before = meetings(engine)
        portal.upcoming = b'[{"id": 701, "title": '
        garbage = crawl(cfg)
        assert garbage.returncode == 1
        assert "Traceback" not in garbage.stderr

    stored = meetings(engine)
    assert stored == before
    assert stored["701"][0] == "moved" and stored["702"][0] == "cancelled"
    assert stored["702"][3] == "City Council Meeting"
    assert all(v[2] is None for v in stored.values())
    assert changes(engine) == [
        ("cancelled", "26-0702"),
        ("moved", "26-0701"),
        ("scheduled", "26-0701"),
        ("scheduled", "26-0702"),
    ]
    with session_scope(engine) as s:
        assert s.scalars(select(CrawlRun.status).order_by(CrawlRun.id)).all() == [
            "succeeded", "succeeded", "succeeded", "failed"
        ]  # fmt: skip


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_civicclerk_garbage_listing_fails_as_before_and_marks_no_meeting_gone(tmp_path, db_url, engine):
    api = upcoming_api()
    with AppServer(api) as server:
        api.base_url = server.base_url
        cfg = config(tmp_path, db_url, civicclerk_entry(server))
        assert crawl(cfg).returncode == 0
        before, logged = meetings(engine), changes(engine)
        with session_scope(engine) as s:
            bills_before = sorted(s.execute(select(Bill.source_id, Bill.status)).all())
        api.faults["/v1/Events"] = (200, JSON_TYPE, b'{"@odata.context": "x", "value": [{"id": 3')
        result = crawl(cfg)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert meetings(engine) == before and changes(engine) == logged
    with session_scope(engine) as s:
        assert sorted(s.execute(select(Bill.source_id, Bill.status)).all()) == bills_before
