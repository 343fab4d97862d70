"""Real crawls (the `tracker` command in a child process) of a Legistar Web API portal's meetings: events,
event items, roll calls and office records answered by a loopback server beside a recorded matter.

A crawl counts its window from the jurisdiction's local date (tests/clock.py ``local_today``), so the events
are dated from it."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Bill, CrawlRun
from db.models_meetings import HearingChange, Meeting, MeetingItem, Member, Vote
from tests.clock import local_today
from tests.conftest import SAMPLES, run_tracker, write_config
from tests.platforms.conftest import BOTH_ENGINES
from tests.replay import ReplayServer

API = SAMPLES / "legistar-api"
TZ = "America/Los_Angeles"
JSON = "application/json; charset=utf-8"
MATTER_ID = 10881  # the recorded LA Metro matter (file 2024-1026)
FAST = {"retries": 1, "backoff_base": 0.01, "backoff_max": 0.1, "download_timeout": 5.0}


def _event(eid: int, days: int, at: str, version: str, **extra: object) -> dict:
    """An event row as the API lists it (field names and order as in legistar-api/metro/event.json)."""
    day = (local_today(TZ) + timedelta(days=days)).isoformat()
    row = {
        "EventId": eid,
        "EventGuid": f"00000000-0000-0000-0000-{eid:012d}",
        "EventLastModifiedUtc": f"2026-01-01T00:00:{len(version):02d}.5",
        "EventRowVersion": version,
        "EventBodyId": 7,
        "EventBodyName": "Public Safety Committee",
        "EventDate": f"{day}T00:00:00",
        "EventTime": at,
        "EventVideoStatus": "Public",
        "EventAgendaStatusId": 10,
        "EventAgendaStatusName": "Final",
        "EventMinutesStatusId": 9,
        "EventMinutesStatusName": "Draft",
        "EventLocation": "City Hall, Hearing Room 1",
        "EventAgendaFile": f"https://metro.legistar1.com/metro/meetings/{eid}_A.pdf",
        "EventMinutesFile": None,
        "EventAgendaLastPublishedUTC": "2026-01-01T00:00:00",
        "EventMinutesLastPublishedUTC": None,
        "EventComment": "Public comment: email clerk@example.gov before 5 PM the day before.",
        "EventVideoPath": None,
        "EventInSiteURL": f"https://metro.legistar.com/MeetingDetail.aspx?LEGID={eid}",
        "EventItems": [],
    }
    row.update(extra)
    return row


def _item(iid: int, eid: int, seq: int, *, roll_call: bool = False, tally: str | None = None) -> dict:
    return {
        "EventItemId": iid,
        "EventItemEventId": eid,
        "EventItemAgendaSequence": seq,
        "EventItemMinutesSequence": seq,
        "EventItemAgendaNote": None,
        "EventItemMinutesNote": None,
        "EventItemActionName": "Approved" if roll_call else None,
        "EventItemPassedFlagName": "Pass" if roll_call else None,
        "EventItemRollCallFlag": 1 if roll_call else 0,
        "EventItemTitle": "An ordinance limiting cooperation with federal immigration enforcement",
        "EventItemTally": tally,
        "EventItemMatterId": MATTER_ID,
        "EventItemMatterFile": "2024-1026",
    }


VOTES = [
    {"VoteId": 1, "VotePersonId": 41, "VotePersonName": "Noel Gallo", "VoteValueName": "Aye", "VoteSort": 1},
    {"VoteId": 2, "VotePersonId": 42, "VotePersonName": "Nikki Bas", "VoteValueName": "Nay", "VoteSort": 2},
    {
        "VoteId": 3,
        "VotePersonId": 43,
        "VotePersonName": "Dan Kalb",
        "VoteValueName": "Excused",
        "VoteSort": 3,
    },
]
OFFICE_RECORDS = [
    {
        "OfficeRecordId": 1,
        "OfficeRecordPersonId": 41,
        "OfficeRecordFullName": "Noel Gallo",
        "OfficeRecordBodyId": 7,
        "OfficeRecordBodyName": "Public Safety Committee",
        "OfficeRecordTitle": "Chair",
        "OfficeRecordStartDate": "2025-01-06T00:00:00",
        "OfficeRecordEndDate": "2029-01-01T00:00:00",
    },
    {
        "OfficeRecordId": 2,
        "OfficeRecordPersonId": 42,
        "OfficeRecordFullName": "Nikki Bas",
        "OfficeRecordBodyId": 7,
        "OfficeRecordBodyName": "Public Safety Committee",
        "OfficeRecordTitle": "Member",
        "OfficeRecordStartDate": "2025-01-06T00:00:00",
        "OfficeRecordEndDate": "2029-01-01T00:00:00",
    },
]


class Portal:
    """The loopback portal: one recorded matter, and meetings the test changes between crawls."""

    def __init__(self) -> None:
        matter = json.loads((API / "metro/matters-filtered.json").read_bytes())
        self.matter = matter[0]
        self.upcoming = _event(101, 10, "10:00 AM", "v1")
        self.held = _event(102, -3, "6:00 PM", "h1")
        self.server = ReplayServer({})
        self.set(
            f"/v1/metro/matters/{MATTER_ID}/histories",
            json.loads((API / "chicago/matter-histories.json").read_bytes()),
        )
        self.set(f"/v1/metro/matters/{MATTER_ID}/sponsors", [])
        self.set(f"/v1/metro/matters/{MATTER_ID}/attachments", [])
        self.set("/v1/metro/events/101/eventitems", [_item(1001, 101, 1)])
        self.set("/v1/metro/events/102/eventitems", [_item(2001, 102, 1, roll_call=True, tally="1:1")])
        self.set("/v1/metro/eventitems/2001/votes", VOTES)
        self.set("/v1/metro/officerecords", OFFICE_RECORDS)
        self.publish()

    def set(self, path: str, payload: object) -> None:
        self.server.routes[path.lower()] = (200, JSON, json.dumps(payload).encode())

    def publish(self) -> None:
        self.set("/v1/metro/matters", [self.matter])
        self.set("/v1/metro/events", [self.upcoming, self.held])

    def paths(self) -> list[str]:
        return [p.lower() for p, _ in self.server.requests]

    def meeting_paths(self) -> list[str]:
        return sorted(p for p in self.paths() if "/matters" not in p)


def _config(tmp_path, server: ReplayServer, db_url: str):
    entry = {
        "slug": "la-metro",
        "name": "LA Metro",
        "platform": "legistar",
        "client": "metro",
        "api_base": server.base_url,
        "web_base": "https://metro.legistar.com",
        "timezone": TZ,
    }
    # the crawls count their requests exactly: the matter's attachment list comes with it, whatever its title
    crawl = {**FAST, "attachments_by_title": False}
    return write_config(tmp_path / "t.toml", [entry], database_url=db_url, crawl=crawl)


def _crawl(cfg, portal: Portal, *args: str, ok: bool = True) -> str:
    portal.server.requests.clear()
    result = run_tracker("--config", str(cfg), "crawl", *args)
    assert (result.returncode == 0) is ok, result.stdout + result.stderr
    return result.stdout


def _changes(engine) -> list[tuple[str, str]]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(HearingChange.kind, Meeting.source_id)
            .join(Meeting, Meeting.id == HearingChange.meeting_id)
            .order_by(HearingChange.id)
        ).all()
        return [(kind, source_id) for kind, source_id in rows]


def _meetings(engine) -> dict[str, tuple]:
    with session_scope(engine) as s:
        return {
            m.source_id: (m.state, m.vanished_at is None, m.sequence, [i.source_id for i in m.items])
            for m in s.scalars(select(Meeting))
        }


def _roll_call(engine) -> list[tuple[str, str, str | None]]:
    with session_scope(engine) as s:
        return [
            (v.member_name, v.vote, v.text)
            for v in s.scalars(
                select(Vote).join(MeetingItem).where(MeetingItem.source_id == "2001").order_by(Vote.id)
            )
        ]


@BOTH_ENGINES
def test_meetings_scheduled_moved_cancelled_each_recorded_once(tmp_path, db_url, engine):
    portal = Portal()
    with portal.server as server:
        cfg = _config(tmp_path, server, db_url)

        # 1. first crawl: everything is read, once
        _crawl(cfg, portal)
        assert portal.meeting_paths() == sorted(
            [
                "/v1/metro/events",
                "/v1/metro/officerecords",
                "/v1/metro/events/101/eventitems",
                "/v1/metro/events/102/eventitems",
                "/v1/metro/eventitems/2001/votes",
            ]
        )
        (events_query,) = [q for p, q in server.requests if p.lower() == "/v1/metro/events"]
        first = (local_today(TZ) - timedelta(days=14)).isoformat()
        assert events_query["$filter"][0].startswith(
            f"EventDate ge datetime'{first}T00:00:00' and EventDate lt"
        )
        items_query = next(q for p, q in server.requests if p.lower().endswith("/eventitems"))
        assert items_query == {"AgendaNote": ["1"], "MinutesNote": ["1"]}
        with session_scope(engine) as s:
            run = s.scalars(select(CrawlRun)).one()
            assert (run.status, run.mode, run.requests) == ("succeeded", "full", 9), run.message
            bill = s.scalars(select(Bill)).one()
            upcoming = s.scalars(select(Meeting).where(Meeting.source_id == "101")).one()
            assert upcoming.state == "scheduled"
            assert upcoming.body_name == "Public Safety Committee"
            assert upcoming.comment_instructions is not None
            assert upcoming.comment_instructions.startswith("email")  # the "Public comment:" label dropped
            assert upcoming.agenda_url == "https://metro.legistar1.com/metro/meetings/101_A.pdf"
            assert [i.bill_id for i in upcoming.items] == [bill.id]
            held = s.scalars(select(Meeting).where(Meeting.source_id == "102")).one()
            assert held.state == "held"
            assert [i.tally for i in held.items] == ["1:1"]
            members = {m.name: [(t.body_name, t.title) for t in m.terms] for m in s.scalars(select(Member))}
            assert members["Noel Gallo"] == [("Public Safety Committee", "Chair")]
            assert members["Nikki Bas"] == [("Public Safety Committee", "Member")]
            assert "Dan Kalb" in members  # from the roll call
        assert _roll_call(engine) == [
            ("Noel Gallo", "yes", "Aye"),
            ("Nikki Bas", "no", "Nay"),
            ("Dan Kalb", "excused", "Excused"),
        ]
        assert _changes(engine) == [("scheduled", "101")]

        # 2. nothing changed: the listing and the office records only; the stored items and votes stand
        _crawl(cfg, portal)
        assert portal.meeting_paths() == ["/v1/metro/events", "/v1/metro/officerecords"]
        assert _meetings(engine) == {
            "101": ("scheduled", True, 0, ["1001"]),
            "102": ("held", True, 0, ["2001"]),
        }
        assert len(_roll_call(engine)) == 3
        assert _changes(engine) == [("scheduled", "101")]

        # 3. the hearing moves: its items are read again, the held meeting's roll call is not
        portal.upcoming = _event(101, 12, "2:00 PM", "v2")
        portal.publish()
        _crawl(cfg, portal)
        assert portal.meeting_paths() == [
            "/v1/metro/events",
            "/v1/metro/events/101/eventitems",
            "/v1/metro/officerecords",
        ]
        assert _meetings(engine)["101"][0] == "moved"
        assert _changes(engine) == [("scheduled", "101"), ("moved", "101")]

        # 4. it is cancelled (Legistar says so in the agenda status)
        portal.upcoming = _event(101, 12, "2:00 PM", "v3", EventAgendaStatusName="CANCELLED")
        portal.publish()
        _crawl(cfg, portal)
        assert _meetings(engine)["101"][0] == "cancelled"
        assert _changes(engine) == [("scheduled", "101"), ("moved", "101"), ("cancelled", "101")]

        # 5. the roll call is corrected (the tally changes): read again, nothing is announced twice
        portal.held = _event(102, -3, "6:00 PM", "h2")
        portal.publish()
        portal.set("/v1/metro/events/102/eventitems", [_item(2001, 102, 1, roll_call=True, tally="2:0")])
        portal.set("/v1/metro/eventitems/2001/votes", [{**VOTES[0]}, {**VOTES[1], "VoteValueName": "Aye"}])
        _crawl(cfg, portal)
        assert portal.meeting_paths() == [
            "/v1/metro/eventitems/2001/votes",
            "/v1/metro/events",
            "/v1/metro/events/102/eventitems",
            "/v1/metro/officerecords",
        ]
        assert _roll_call(engine) == [("Noel Gallo", "yes", "Aye"), ("Nikki Bas", "yes", "Aye")]
        assert _changes(engine) == [("scheduled", "101"), ("moved", "101"), ("cancelled", "101")]
        with session_scope(engine) as s:
            assert [r.status for r in s.scalars(select(CrawlRun).order_by(CrawlRun.id))] == ["succeeded"] * 5


def test_garbage_for_events_leaves_bills_stored_and_meetings_untouched(tmp_path, db_url, engine):
    portal = Portal()
    with portal.server as server:
        cfg = _config(tmp_path, server, db_url)
        _crawl(cfg, portal)
        before = _meetings(engine)
        assert set(before) == {"101", "102"}

        # the bill changes; the events listing is an HTML error page with a 200
        portal.matter = {**portal.matter, "MatterStatusName": "Adopted", "MatterRowVersion": "AAAAAAAAAAE="}
        portal.publish()
        server.routes["/v1/metro/events"] = (200, "text/html", b"<html><body>Runtime Error</body></html>")
        out = _crawl(cfg, portal, ok=False)
        assert "partial" in out
        with session_scope(engine) as s:
            run = s.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
            assert run is not None and run.status == "partial"
            assert run.message is not None and run.message.startswith("warning: meetings not read completely")
            assert s.scalars(select(Bill)).one().status == "Adopted"
        assert _meetings(engine) == before
        assert len(_roll_call(engine)) == 3
        assert _changes(engine) == [("scheduled", "101")]

        # a listing with an invalid row: the valid meetings are read, no stored meeting is marked gone
        portal.set("/v1/metro/events", [{"EventId": "not a number"}, portal.held])
        _crawl(cfg, portal, ok=False)
        assert _meetings(engine) == before
        with session_scope(engine) as s:
            assert (
                s.scalar(select(func.count()).select_from(Meeting).where(Meeting.vanished_at.is_not(None)))
                == 0
            )

        # the agenda items of a meeting fail: the meeting is stored as listed, its stored items kept, and
        # they are read again by the next crawl
        portal.upcoming = _event(101, 10, "11:00 AM", "v2")
        portal.publish()
        server.routes["/v1/metro/events/101/eventitems"] = (
            500,
            JSON,
            b'{"Message": "An error has occurred."}',
        )
        _crawl(cfg, portal, ok=False)
        assert _meetings(engine)["101"][0] == "moved" and _meetings(engine)["101"][3] == ["1001"]
        portal.set("/v1/metro/events/101/eventitems", [_item(1001, 101, 1)])
        _crawl(cfg, portal)
        assert "/v1/metro/events/101/eventitems" in portal.meeting_paths()

        # a listing read completely without the held meeting: it is marked gone, never deleted
        portal.set("/v1/metro/events", [portal.upcoming])
        _crawl(cfg, portal)
        state = _meetings(engine)
        assert state["102"][1] is False and state["102"][3] == ["2001"]
        assert len(_roll_call(engine)) == 3


def test_a_crawl_split_over_processes_reads_the_meetings_once(tmp_path, db_url, engine):
    portal = Portal()
    with portal.server as server:
        cfg = _config(tmp_path, server, db_url)
        text = cfg.read_text().replace("processes = 1", "processes = 2")
        cfg.write_text(text)
        _crawl(cfg, portal)
        assert portal.meeting_paths() == sorted(
            [
                "/v1/metro/events",
                "/v1/metro/officerecords",
                "/v1/metro/events/101/eventitems",
                "/v1/metro/events/102/eventitems",
                "/v1/metro/eventitems/2001/votes",
            ]
        )
        assert _meetings(engine) == {
            "101": ("scheduled", True, 0, ["1001"]),
            "102": ("held", True, 0, ["2001"]),
        }
        assert len(_roll_call(engine)) == 3
        assert _changes(engine) == [("scheduled", "101")]
        # a second split crawl (--full) whose first process reads a listing without the held meeting: the
        # listing was read completely, so the meeting is marked gone
        portal.set("/v1/metro/events", [portal.upcoming])
        _crawl(cfg, portal, "--full")
        assert portal.paths().count("/v1/metro/events") == 1
        assert _meetings(engine)["102"][1] is False
