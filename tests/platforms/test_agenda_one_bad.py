"""Agenda platforms (CivicClerk, PrimeGov): one meeting's agenda request that fails for good (an error answer
after the retries, an answer that is not JSON or not an HTML page) fails only itself, as one matter does on
the Legistar Web API, eLMS and InSite (crawler/spiders/agenda.py, ``AgendaSpider.on_error``).

Until 2026-12-07 it failed the whole city's crawl, every time, and no other change arrived. Now that agenda
is rejected with one named line, the crawl is partial (the watermark holds), the bills that agenda may hold
are kept as stored (a bill stored with an action at that meeting; a bill not known to be stored whose latest
appearance read comes before the meeting: its status could come from that agenda), the meeting keeps its
stored items, and the city's other bills are imported. A crawl that could read no agenda at all still
fails, with one error. Real crawls (the `tracker` command in a child process) of the loopback portals of
tests/platforms/civicclerk_server.py and primegov_server.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from db.engine import session_scope
from db.models import Action, Bill, CrawlRun, StatusChange
from db.models_meetings import Meeting, MeetingItem
from tests.platforms.civicclerk_server import DISCUSSION, item, regular, south_fulton_api
from tests.platforms.civicclerk_server import PUBLIC_COMMENT as CC_COMMENT
from tests.platforms.primegov_server import immigrant_affairs, la_portal, with_document
from tests.platforms.test_civicclerk import config as cc_config
from tests.platforms.test_civicclerk import crawl as cc_crawl
from tests.platforms.test_civicclerk import served
from tests.platforms.test_primegov import city
from tests.platforms.test_primegov import config as pg_config
from tests.platforms.test_primegov import crawl as pg_crawl
from tracker.demo.primegov_portal import HTML_TYPE, JSON_TYPE, AppServer, Item, Page, meeting_row
from tracker.platforms.agenda import item_key

SERVER_ERROR = (500, JSON_TYPE, b'{"error": {"message": "An error has occurred."}}')


def statuses(engine) -> dict[str, str | None]:
    with session_scope(engine) as s:
        return {sid: st for sid, st in s.execute(select(Bill.source_id, Bill.status))}


def action_ids(engine, source_id: str) -> list[str]:
    with session_scope(engine) as s:
        return list(
            s.scalars(
                select(Action.source_id)
                .join(Bill)
                .where(Bill.source_id == source_id)
                .order_by(Action.sequence)
            )
        )


def meeting_items(engine, meeting_id: str) -> list[str]:
    with session_scope(engine) as s:
        return sorted(
            s.scalars(
                select(MeetingItem.source_id)
                .join(Meeting)
                .where(Meeting.source_id == meeting_id, MeetingItem.removed_at.is_(None))
            )
        )


def runs(engine) -> list[str]:
    with session_scope(engine) as s:
        return list(s.scalars(select(CrawlRun.status).order_by(CrawlRun.id)))


def changed(engine) -> list[tuple[str, str | None, str | None]]:
    with session_scope(engine) as s:
        return [
            (c.bill.source_id, c.old_status, c.new_status)
            for c in s.scalars(select(StatusChange).where(StatusChange.kind == "changed"))
        ]


# -- CivicClerk --------------------------------------------------------------------------------------------


def test_civicclerk_one_agenda_that_fails_for_good_fails_only_itself(tmp_path, db_url, engine):
    """Agenda 786 (event 1752, 05-26) answers 500 for good: 2026-O-012, adopted there and also on 781's
    agenda (04-28, first reading), keeps its stored status instead of falling back to 781's "On agenda";
    the new meeting's resolution is imported; the next crawl reads everything again."""
    api = south_fulton_api(alpr_adopted=True)
    with served(api) as server:
        cfg = cc_config(tmp_path, db_url, server)
        assert cc_crawl(cfg).returncode == 0
        assert statuses(engine)["2026-O-012"] == "Adopt"
        before_1752 = meeting_items(engine, "1752")
        assert before_1752 and "1752:78699" in action_ids(engine, item_key(None, CC_COMMENT, None))
        api.faults["/v1/Meetings/786"] = SERVER_ERROR
        api.events.append(
            {**api.events[-1], "id": 1760, "agendaId": 794, "eventName": "City Council Regular Meeting",
             "startDateTime": "2026-08-11T19:00:00Z", "eventDate": "2026-08-11T19:00:00Z"}
        )  # fmt: skip
        api.agendas[794] = regular(
            794, 1760, item(79402, "A Resolution on Language Access", resolution="2026-R-099")
        )
        result = cc_crawl(cfg)
        url = f"{server.base_url}/v1/Meetings/786"
        hits = [p for p, _ in server.requests if p == "/v1/Meetings/786"]
        after = statuses(engine)
        comment_actions = action_ids(engine, item_key(None, CC_COMMENT, None))
        items_1752 = meeting_items(engine, "1752")
        api.faults.clear()
        third = cc_crawl(cfg)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stdout.splitlines()
    # 2026-O-012 and the public comment (on 1752's agenda too) are not among the bills seen
    assert line.startswith(
        "south-fulton: partial (incremental) - 14 bills seen, 1 new, 0 changed, 0 status changes, "
        "0 vanished, 1 errors, "
    ), line
    assert line.endswith(
        " - 1 records rejected, first: south-fulton: meeting 1752 not read: "
        f"HTTP 500 from {url} (gave up after 2 attempts)"
    ), line
    assert len(hits) == 3  # the first crawl's one, then the retried one of the second
    # kept as stored: its status, the meeting's items, and the public comment bill (on that agenda too)
    assert after["2026-O-012"] == "Adopt" and changed(engine) == []
    assert items_1752 == before_1752
    assert "1752:78699" in comment_actions and "1760:79499" not in comment_actions
    assert after["2026-R-099"] == "On agenda"  # the others are imported
    assert runs(engine) == ["succeeded", "partial", "succeeded"]
    assert third.stdout.startswith("south-fulton: succeeded (incremental) - 16 bills seen, 0 new, "), (
        third.stdout
    )
    assert action_ids(engine, item_key(None, CC_COMMENT, None))[-1] == "1760:79499"


def test_civicclerk_first_crawl_with_an_unreadable_agenda_stores_the_others(tmp_path, db_url, engine):
    """The first (full) crawl, agenda 783 (05-12 19:00) truncated for good: 2026-R-050, on that agenda only,
    is not stored; the bills whose latest appearance read comes before that meeting wait for the next crawl
    (their status could come from the unread agenda); the later ones are stored."""
    api = south_fulton_api()
    api.faults["/v1/Meetings/783"] = (200, JSON_TYPE, b'{"id": 783, "items": [{"id": 1, "isSec')
    with served(api) as server:
        cfg = cc_config(tmp_path, db_url, server)
        result = cc_crawl(cfg)
        url = f"{server.base_url}/v1/Meetings/783"
        first = statuses(engine)
        api.faults.clear()
        second = cc_crawl(cfg)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("south-fulton: partial (full) - 7 bills seen, 7 new, "), line
    assert line.endswith(
        " - 1 records rejected, first: south-fulton: meeting 1749 not read: invalid or truncated JSON "
        f"(Unterminated string starting at) from {url} (gave up after 2 attempts)"
    ), line
    # seen after 05-12 19:00 (2026-O-012 at 05-26, the comment and the discussion in July...); 2026-O-007,
    # 2026-R-041, the hearings of 04-15 to 05-12 17:00 and 781's items without a number wait
    assert sorted(first) == sorted(
        ["2026-O-012", "2026-R-077", "2026-R-787", "2026-R-792", "2026-R-793",
         item_key(None, CC_COMMENT, None), item_key(None, DISCUSSION, None)]
    )  # fmt: skip
    assert second.returncode == 0, second.stdout
    assert second.stdout.startswith("south-fulton: succeeded (full) - 15 bills seen, 8 new")
    assert "2026-R-050" in statuses(engine)


def test_civicclerk_no_agenda_readable_fails_with_one_error(tmp_path, db_url, engine):
    api = south_fulton_api()
    for agenda_id in range(778, 794):
        api.faults[f"/v1/Meetings/{agenda_id}"] = SERVER_ERROR
    with served(api) as server:
        result = cc_crawl(cc_config(tmp_path, db_url, server))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("south-fulton: failed (full) - 0 bills seen, 0 new, 0 changed, 0 status changes, "
                           "0 vanished, 1 errors, "), line  # fmt: skip
    assert f"south-fulton: HTTP 500 from {server.base_url}/v1/Meetings/7" in line
    assert statuses(engine) == {} and runs(engine) == ["failed"]


# -- PrimeGov ----------------------------------------------------------------------------------------------


def la_with_journal(portal):
    """Meeting 10014's journal (template 79022) published: 21-0745 approved there."""
    portal.upcoming = with_document(
        portal.upcoming,
        10014,
        {"id": 13999, "compileOutputType": 3, "publishStatus": 1, "templateId": 79022,
         "templateName": "HTML Journal"},
    )  # fmt: skip
    portal.pages[79022] = immigrant_affairs(journal=True)


def test_primegov_one_page_that_fails_for_good_fails_only_itself(tmp_path, db_url, engine):
    """Meeting 10014's journal answers 503 for good: 21-0745 (approved there, continued at 9817 before it)
    keeps its status; 21-1048 and 20-1371 (on that page only) are kept as stored; a new council meeting's
    file is imported."""
    portal = la_portal()
    la_with_journal(portal)
    with AppServer(portal) as server:
        cfg = pg_config(tmp_path, db_url, city("la", server, "lacity"))
        assert pg_crawl(cfg).returncode == 0
        before = statuses(engine)
        assert before["21-0745"] == "Approved"
        before_10014 = meeting_items(engine, "10014")
        portal.faults[("/portal/meeting", "79022")] = (503, HTML_TYPE, b"Service Unavailable")
        council = meeting_row(
            10100, "City Council Meeting", datetime(2021, 10, 26, 10, 0), [(14001, 80001, "HTML Agenda", 3)]
        )
        portal.upcoming = json.dumps([*json.loads(portal.upcoming), council]).encode()
        portal.pages[80001] = Page(
            "City Council Meeting", [("ITEMS", [Item(157002, "Motion relative to a Sanctuary City report.",
                                                     "21-1200")])]
        )  # fmt: skip
        result = pg_crawl(cfg)
        url = f"{server.base_url}/Portal/Meeting?meetingTemplateId=79022"
        after = statuses(engine)
        items_10014 = meeting_items(engine, "10014")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("la: partial (incremental) - 5 bills seen, 1 new, 0 changed, 0 status changes"), (
        line
    )
    assert line.endswith(
        f" - 1 records rejected, first: la: meeting 10014 not read: HTTP 503 from {url} "
        "(gave up after 2 attempts)"
    ), line
    assert after == {**before, "21-1200": "On agenda"} and changed(engine) == []
    assert items_10014 == before_10014
    assert runs(engine) == ["succeeded", "partial"]


def test_primegov_a_page_that_is_not_html_fails_only_itself(tmp_path, db_url, engine):
    """The first (full) crawl, meeting 9910's page (10:00, 21-0002-S123 and the public comment) answering an
    image: that page is rejected and named; the bills seen later that day (10014 at 12:30, 9545 at 14:00)
    are stored; those seen only before it (9817 at 10:00: 21-0600-S29, the public comment) wait for the next
    crawl, since their status could come from that page."""
    portal = la_portal()
    portal.faults[("/portal/meeting", "78142")] = (200, "application/octet-stream", b"\x89PNG\r\n\x1a\n\x00x")
    with AppServer(portal) as server:
        cfg = pg_config(tmp_path, db_url, city("la", server, "lacity"))
        result = pg_crawl(cfg)
        url = f"{server.base_url}/Portal/Meeting?meetingTemplateId=78142"
        first = statuses(engine)
        portal.faults.clear()
        second = pg_crawl(cfg)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("la: partial (full) - 4 bills seen, 4 new, "), line
    assert line.endswith(
        " - 1 records rejected, first: la: meeting 9910 not read: expected an HTML page, got content "
        f"type 'application/octet-stream' at {url}"
    ), line
    assert sorted(first) == ["20-1371", "21-0745", "21-1048", "21-1100"]
    assert second.stdout.startswith("la: succeeded (full) - 7 bills seen, 3 new"), second.stdout


def test_primegov_no_page_readable_fails_with_one_error(tmp_path, db_url, engine):
    portal = la_portal()
    for template in (77546, 78142, 79021, 75649):
        portal.faults[("/portal/meeting", str(template))] = (200, HTML_TYPE, b"")
    with AppServer(portal) as server:
        result = pg_crawl(pg_config(tmp_path, db_url, city("la", server, "lacity")))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith(
        "la: failed (full) - 0 bills seen, 0 new, 0 changed, 0 status changes, 0 vanished, 1 errors, "
    ), line
    assert "la: expected an HTML page, got an empty body at " in line
    assert statuses(engine) == {} and runs(engine) == ["failed"]
