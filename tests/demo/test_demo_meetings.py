"""The demo portal's meetings: events, agenda items, roll calls and office records answer in the Legistar Web
API's wire format (the recorded samples' fields, paging, the OData filters the tracker sends, faults), agree
with the matters' histories, and unfold on the portal's clock: agendas before meetings, outcomes and roll
calls after them, a meeting moved and one cancelled during the first demo step.

Every test talks HTTP to a real server on loopback, as the crawler does.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote, urlencode
from urllib.request import urlopen

import pytest
from sqlalchemy import create_engine, func, select, text

from db.engine import session_scope
from db.models import Bill, Jurisdiction
from db.models_meetings import HearingChange, Meeting, MeetingItem, Vote
from tests.clock import utc_now
from tests.conftest import SAMPLES, run_tracker
from tests.portal import portal_config
from tracker.demo import DEMO_NOW, DEMO_STEP_DAYS, LegistarPortalServer, Portal, demo_portal
from tracker.demo.events import Event
from tracker.demo.server import GARBAGE_DATE
from tracker.demo.wire import EVENT, EVENT_ITEM, OFFICE_RECORD, VOTE

LOCAL_MIDNIGHT = re.compile(r"^\d{4}-\d\d-\d\dT00:00:00$")
UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?$")
EVENT_TIME = re.compile(r"^(1[0-2]|[1-9]):[0-5]\d (AM|PM)$")
GUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")
VOTE_WORDS = {"Aye", "Nay", "Abstain", "Absent", "Excused", "Recused", "Present"}
CLIENTS = ("riverton", "portalder", "lakesidecounty", "northhalden")


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read()


def fetch_json(url: str) -> Any:
    status, content_type, body = fetch(url)
    assert status == 200, (status, body[:300])
    assert content_type == "application/json; charset=utf-8"
    return json.loads(body)


def q(**params: object) -> str:
    return "?" + urlencode({k: str(v) for k, v in params.items()}, quote_via=quote)


def window_filter(first: datetime, after: datetime) -> str:
    """The tracker's events listing filter (docs/meetings.md): local dates, ``[first, after)``."""
    day = "%Y-%m-%dT00:00:00"
    return f"EventDate ge datetime'{first:{day}}' and EventDate lt datetime'{after:{day}}'"


def cancelled(event: dict[str, Any]) -> bool:
    """Legistar has no flag: the agenda status, the comment or the location says so."""
    fields = ("EventAgendaStatusName", "EventComment", "EventLocation")
    return any("cancel" in (event[f] or "").casefold() for f in fields)


def start_of(event: dict[str, Any]) -> datetime:
    return datetime.strptime(f"{event['EventDate'][:10]} {event['EventTime']}", "%Y-%m-%d %I:%M %p")


def items_of(server: LegistarPortalServer, client: str, event_id: int) -> list[dict[str, Any]]:
    url = server.url(client, "events", event_id, "eventitems") + q(AgendaNote=1, MinutesNote=1)
    return fetch_json(url)


@pytest.fixture(scope="module")
def demo_server() -> Iterator[LegistarPortalServer]:
    """The demo portal at its initial clock (DEMO_NOW); tests using it must not mutate it."""
    with LegistarPortalServer(demo_portal(seed=0), local_documents=True) as server:
        yield server


@pytest.fixture
def fresh_server() -> Iterator[LegistarPortalServer]:
    """The demo portal at DEMO_NOW, free to move on."""
    with LegistarPortalServer(demo_portal(seed=0)) as server:
        yield server


# --------------------------------------------------------------------------------------------- wire format


def test_objects_have_the_recorded_samples_fields_in_their_order() -> None:
    metro = json.loads((SAMPLES / "legistar-api/metro/event.json").read_text())
    assert list(metro) == list(EVENT.fields)
    oakland = json.loads((SAMPLES / "legistar-api/oakland/events-first-page-1000-rows.json").read_text())
    assert [k for k in EVENT.fields if k != "EventMedia"] == list(oakland[0])  # Metro's extra field
    items = json.loads((SAMPLES / "legistar-api/oakland/event-8172-eventitems.json").read_text())
    assert all(list(item) == list(EVENT_ITEM.fields) for item in items)


def test_events_listing_wire_format(demo_server: LegistarPortalServer) -> None:
    for client in CLIENTS:
        events = fetch_json(demo_server.url(client, "Events"))
        assert 100 < len(events) <= 1000
        assert [e["EventId"] for e in events] == sorted(e["EventId"] for e in events)
        for event in events:
            assert list(event) == list(EVENT.fields)
            assert LOCAL_MIDNIGHT.match(event["EventDate"]) and EVENT_TIME.match(event["EventTime"])
            assert UTC_STAMP.match(event["EventLastModifiedUtc"]) and GUID.match(event["EventGuid"])
            assert event["EventItems"] == []
            assert event["EventInSiteURL"].startswith(
                f"https://{client}.legistar.com/MeetingDetail.aspx?LEGID={event['EventId']}&GID="
            )
            assert event["EventAgendaStatusName"] in ("Draft", "Final", "Cancelled")
            assert (event["EventAgendaFile"] is None) == (
                event["EventAgendaStatusName"] != "Final"
            ) or cancelled(event)
            if event["EventMinutesFile"]:
                assert event["EventMinutesStatusName"] == "Final" and start_of(event) < DEMO_NOW.replace(
                    tzinfo=None
                )
        single = fetch_json(demo_server.url(client, "events", events[5]["EventId"]))
        assert single == events[5]
        # some meetings carry public-comment instructions; each body has a location
        assert any(e["EventComment"] and "comment" in e["EventComment"].lower() for e in events)
        assert all(e["EventLocation"] for e in events)
    status, _, body = fetch(demo_server.url("riverton", "events", 1))
    assert status == 404 and json.loads(body)["Message"]


def test_the_trackers_window_query_pages_and_filters(demo_server: LegistarPortalServer) -> None:
    everything = fetch_json(demo_server.url("riverton", "events"))
    first, after = datetime(2026, 10, 18), datetime(2026, 12, 31)
    want = [e["EventId"] for e in everything if first <= datetime.fromisoformat(e["EventDate"]) < after]
    assert 20 < len(want) < len(everything)
    got: list[int] = []
    while True:
        page = fetch_json(
            demo_server.url("riverton", "events")
            + q(
                **{
                    "$filter": window_filter(first, after),
                    "$orderby": "EventId",
                    "$top": 7,
                    "$skip": len(got),
                }
            )
        )
        got += [e["EventId"] for e in page]
        if len(page) < 7:
            break
    assert got == want
    newest = fetch_json(
        demo_server.url("riverton", "events") + q(**{"$orderby": "EventDate desc", "$top": 3})
    )
    dates = [e["EventDate"] for e in newest]
    assert dates == sorted(dates, reverse=True) and dates[0] == max(e["EventDate"] for e in everything)
    status, _, body = fetch(demo_server.url("riverton", "events") + q(**{"$filter": "EventDate ge 'x'"}))
    assert status == 400 and json.loads(body)["Message"]
    status, _, body = fetch(demo_server.url("riverton", "events") + q(**{"$filter": "Nope eq 1"}))
    assert status == 400 and "Nope" in json.loads(body)["Message"]


# --------------------------------------------------------------------------------------------- agendas


def test_agenda_items_agree_with_the_matters_histories(demo_server: LegistarPortalServer) -> None:
    events = fetch_json(demo_server.url("portalder", "events"))
    held = [e for e in events if e["EventMinutesStatusName"] == "Final"][-12:]
    joined = 0
    for event in held:
        items = items_of(demo_server, "portalder", event["EventId"])
        assert items and [i["EventItemAgendaSequence"] for i in items] == sorted(
            i["EventItemAgendaSequence"] for i in items
        )
        for item in items:
            assert list(item) == list(EVENT_ITEM.fields)
            assert item["EventItemEventId"] == event["EventId"]
            assert UTC_STAMP.match(item["EventItemLastModifiedUtc"])
            assert isinstance(item["EventItemMatterAttachments"], list)
            if item["EventItemMatterId"] is None:
                continue
            histories = fetch_json(
                demo_server.url("portalder", "matters", item["EventItemMatterId"], "histories")
            )
            row = next(h for h in histories if h["MatterHistoryEventId"] == event["EventId"]
                       and h["MatterHistoryAgendaSequence"] == item["EventItemAgendaSequence"])  # fmt: skip
            assert item["EventItemActionName"] == row["MatterHistoryActionName"]
            assert item["EventItemPassedFlag"] == row["MatterHistoryPassedFlag"]
            assert item["EventItemTally"] == row["MatterHistoryTally"]
            assert item["EventItemRollCallFlag"] == (row["MatterHistoryRollCallFlag"] or 0)
            assert row["MatterHistoryActionDate"][:10] == event["EventDate"][:10]
            matter = fetch_json(demo_server.url("portalder", "matters", item["EventItemMatterId"]))
            assert item["EventItemMatterFile"] == matter["MatterFile"]
            assert item["EventItemMatterStatus"] == matter["MatterStatusName"]
            assert item["EventItemTitle"] == matter["MatterTitle"]
            joined += 1
    assert joined >= 5
    # notes only when asked for, attachments with Attachments=1
    plain = fetch_json(demo_server.url("portalder", "events", held[-1]["EventId"], "eventitems"))
    assert all(i["EventItemAgendaNote"] is None and i["EventItemMinutesNote"] is None for i in plain)
    assert any(i["EventItemAgendaNote"] for i in items_of(demo_server, "portalder", held[-1]["EventId"]))
    with_files = fetch_json(
        demo_server.url("portalder", "events", held[-1]["EventId"], "eventitems") + q(Attachments=1)
    )
    assert any(i["EventItemMatterAttachments"] for i in with_files)
    assert fetch_json(demo_server.url("portalder", "events", 99999999, "eventitems")) == []


def test_roll_calls_of_held_meetings(demo_server: LegistarPortalServer) -> None:
    persons = {p["PersonId"]: p["PersonFullName"] for p in fetch_json(demo_server.url("riverton", "persons"))}
    events = fetch_json(demo_server.url("riverton", "events"))
    council = [
        e for e in events if e["EventBodyName"] == "City Council" and e["EventMinutesStatusName"] == "Final"
    ]
    words: set[str] = set()
    roll_calls = 0
    for event in council[-10:]:
        for item in items_of(demo_server, "riverton", event["EventId"]):
            votes = fetch_json(demo_server.base_url + f"/riverton/EventItems/{item['EventItemId']}/Votes")
            if not item["EventItemRollCallFlag"]:
                assert votes == []
                continue
            roll_calls += 1
            assert len(votes) == 13  # every member of the council
            for sort, vote in enumerate(votes, start=1):
                assert list(vote) == list(VOTE.fields)
                assert vote["VoteEventItemId"] == item["EventItemId"] and vote["VoteSort"] == sort
                assert persons[vote["VotePersonId"]] == vote["VotePersonName"]  # the portal's people
                assert vote["VoteValueName"] in VOTE_WORDS
                assert vote["VoteResult"] == {"Aye": 1, "Nay": 2}.get(vote["VoteValueName"], 0)
            ayes = sum(v["VoteValueName"] == "Aye" for v in votes)
            nays = sum(v["VoteValueName"] == "Nay" for v in votes)
            assert item["EventItemTally"] == f"{ayes}:{nays}"
            words |= {v["VoteValueName"] for v in votes}
    assert roll_calls >= 10
    assert {"Aye", "Nay"} <= words and words & {"Absent", "Excused"}, words
    # an upcoming meeting has no outcomes and no roll calls yet
    upcoming = [e for e in events if start_of(e) > DEMO_NOW.replace(tzinfo=None) + timedelta(days=2)]
    items = [i for e in upcoming[:15] for i in items_of(demo_server, "riverton", e["EventId"])]
    assert any(i["EventItemMatterId"] for i in items)
    assert all(i["EventItemActionName"] is None and i["EventItemRollCallFlag"] == 0 for i in items)


def test_every_recorded_vote_agrees_with_its_roll_call() -> None:
    """Every roll-call vote of every council of the demo: its tally is the ayes and nays of its roll call, and
    it carried exactly when the ayes outnumber the nays (a tie, or fewer ayes once members are absent, is not
    recorded as passing), on the agenda items and on the matters' history rows; at the demo's clock and
    once every meeting the demo generates has been held."""
    portal = demo_portal(seed=0)
    items = rows = 0
    for step in (0, 400):
        portal.advance(days=step)
        for client in portal:
            for event in client.event_rows():
                for item in client.event_item_rows(event["EventId"]):
                    if not item["EventItemRollCallFlag"]:
                        continue
                    votes = [v["VoteValueName"] for v in client.vote_rows(item["EventItemId"])]
                    ayes, nays = votes.count("Aye"), votes.count("Nay")
                    where = (client.name, item["EventItemMatterFile"], item["EventItemTally"], votes)
                    assert item["EventItemTally"] == f"{ayes}:{nays}", where
                    assert item["EventItemPassedFlagName"] == ("Pass" if ayes > nays else "Fail"), where
                    items += 1
            for matter_id in sorted(client.matters):
                for row in client.history_rows(matter_id):
                    if not row.get("MatterHistoryRollCallFlag") or not row.get("MatterHistoryTally"):
                        continue
                    ayes, nays = (int(n) for n in row["MatterHistoryTally"].split(":"))
                    passed = "Pass" if ayes > nays else "Fail"
                    assert row["MatterHistoryPassedFlagName"] == passed, (client.name, matter_id, row)
                    rows += 1
    assert items > 300 and rows > 300, (items, rows)


def test_office_records_members_and_terms(demo_server: LegistarPortalServer) -> None:
    persons = {p["PersonId"] for p in fetch_json(demo_server.url("lakesidecounty", "persons"))}
    records = fetch_json(demo_server.url("lakesidecounty", "officerecords"))
    current = fetch_json(
        demo_server.url("lakesidecounty", "officerecords")
        + q(**{"$filter": f"OfficeRecordEndDate ge datetime'{DEMO_NOW:%Y-%m-%d}T00:00:00'"})
    )
    assert 0 < len(current) < len(records)  # earlier terms are filtered out
    for row in records:
        assert list(row) == list(OFFICE_RECORD.fields)
        assert row["OfficeRecordPersonId"] in persons
        assert LOCAL_MIDNIGHT.match(row["OfficeRecordStartDate"]) and LOCAL_MIDNIGHT.match(
            row["OfficeRecordEndDate"]
        )
    board = [r for r in current if r["OfficeRecordBodyName"] == "Board of Supervisors"]
    assert len(board) == 7
    assert any(
        r["OfficeRecordBodyName"].endswith("Committee") and r["OfficeRecordTitle"] == "Chair" for r in current
    )
    # sponsors and voters are these members: the names join
    members = {r["OfficeRecordFullName"] for r in board}
    sponsors = set()
    for matter in fetch_json(demo_server.url("lakesidecounty", "matters") + q(**{"$top": 40})):
        sponsors |= {s["MatterSponsorName"] for s in fetch_json(
            demo_server.url("lakesidecounty", "matters", matter["MatterId"], "sponsors"))}  # fmt: skip
    assert sponsors and sponsors <= members


def test_agenda_and_minutes_pdfs_are_served(demo_server: LegistarPortalServer) -> None:
    events = fetch_json(demo_server.url("northhalden", "events"))
    event = [e for e in events if e["EventMinutesFile"]][-1]
    for url in (event["EventAgendaFile"], event["EventMinutesFile"]):
        assert url.startswith(f"http://127.0.0.1:{demo_server.port}/files/northhalden/meetings/")
        status, content_type, body = fetch(url)
        assert status == 200 and content_type == "application/pdf" and body.startswith(b"%PDF")
    assert re.search(r"/\d+_A_[A-Za-z_-]+_\d\d-\d\d-\d\d_Agenda\.pdf$", event["EventAgendaFile"])
    draft = next(e for e in events if e["EventAgendaStatusName"] == "Draft")
    assert draft["EventAgendaFile"] is None
    status, _, _ = fetch(event["EventAgendaFile"].replace(f"/{event['EventId']}_", f"/{draft['EventId']}_"))
    assert status == 404


# --------------------------------------------------------------------------------------------- the clock


def test_a_meeting_moves_and_one_is_cancelled_during_the_first_step(
    fresh_server: LegistarPortalServer,
) -> None:
    portal = fresh_server.portal
    before = {c: {e["EventId"]: e for e in fetch_json(fresh_server.url(c, "events"))} for c in CLIENTS}
    agendas = {
        (c, eid): items_of(fresh_server, c, eid)
        for c in CLIENTS
        for eid, e in before[c].items()
        if DEMO_NOW.replace(tzinfo=None) < start_of(e) < datetime(2027, 1, 1)
    }
    portal.advance(days=DEMO_STEP_DAYS)
    clock = portal.now.replace(tzinfo=None)
    moved: list[str] = []
    gone: list[str] = []
    for c in CLIENTS:
        labels = portal.client(c).labels()
        after = {e["EventId"]: e for e in fetch_json(fresh_server.url(c, "events"))}
        assert set(before[c]) <= set(after)  # nothing leaves the calendar
        for eid, old in before[c].items():
            new = after[eid]
            listed = [i["EventItemMatterId"] for i in agendas.get((c, eid), []) if i["EventItemMatterId"]]
            relevant = any(":" in labels.get(m, "") for m in listed)
            if (old["EventDate"], old["EventTime"]) != (new["EventDate"], new["EventTime"]):
                assert new["EventLastModifiedUtc"] > old["EventLastModifiedUtc"]
                assert new["EventRowVersion"] != old["EventRowVersion"]
                if listed and min(start_of(old), start_of(new)) > clock and not cancelled(new):
                    moved.append(f"{c}:{eid}:{relevant}")
                    assert "Rescheduled from" in new["EventComment"]
            if cancelled(new) and not cancelled(old):
                assert new["EventLastModifiedUtc"] > old["EventLastModifiedUtc"]
                assert new["EventMinutesFile"] is None
                if listed and start_of(new) > clock:
                    gone.append(f"{c}:{eid}:{relevant}")
                    # the agenda stays listed as it was
                    assert [i["EventItemMatterId"] for i in items_of(fresh_server, c, eid)
                            if i["EventItemMatterId"]] == listed  # fmt: skip
    # every council has a meeting moved and one cancelled (upcoming, with matters on the agenda), mostly
    # with a sanctuary-related matter among them
    assert {m.split(":")[0] for m in moved} == set(CLIENTS), moved
    assert {m.split(":")[0] for m in gone} == set(CLIENTS), gone
    assert sum(m.endswith("True") for m in moved) >= 3 and sum(m.endswith("True") for m in gone) >= 3
    # the ways Legistar says "cancelled" all occur
    styles = set()
    for c in CLIENTS:
        for e in fetch_json(fresh_server.url(c, "events")):
            if e["EventAgendaStatusName"] == "Cancelled":
                styles.add("status")
            if (e["EventComment"] or "").upper() == "CANCELLED":
                styles.add("comment")
            if e["EventLocation"] == "CANCELLED":
                styles.add("location")
    assert styles == {"status", "comment", "location"}


def test_agendas_grow_before_a_meeting_and_outcomes_come_after(fresh_server: LegistarPortalServer) -> None:
    portal = fresh_server.portal
    clock = portal.now.replace(tzinfo=None)
    events = fetch_json(fresh_server.url("riverton", "events"))
    council = next(
        e for e in events
        if e["EventBodyName"] == "City Council" and start_of(e) > clock + timedelta(days=8)
        and not cancelled(e)
    )  # fmt: skip
    assert council["EventAgendaStatusName"] == "Draft" and council["EventAgendaFile"] is None
    early = items_of(fresh_server, "riverton", council["EventId"])
    portal.set_clock(portal.now + (start_of(council) - clock) - timedelta(days=1))
    later = fetch_json(fresh_server.url("riverton", "events", council["EventId"]))
    assert later["EventAgendaStatusName"] == "Final" and later["EventAgendaFile"]
    assert later["EventLastModifiedUtc"] > council["EventLastModifiedUtc"]
    agenda = items_of(fresh_server, "riverton", council["EventId"])
    assert {i["EventItemId"] for i in early} < {i["EventItemId"] for i in agenda}
    assert all(i["EventItemActionName"] is None for i in agenda)
    portal.advance(days=3)
    after = items_of(fresh_server, "riverton", council["EventId"])
    decided = [i for i in after if i["EventItemMatterId"] and i["EventItemActionName"]]
    assert decided and all(i["EventItemLastModifiedUtc"] > council["EventLastModifiedUtc"] for i in decided)
    assert any(i["EventItemRollCallFlag"] == 1 and i["EventItemTally"] for i in decided)
    assert (
        fetch_json(fresh_server.url("riverton", "events", council["EventId"]))["EventLastModifiedUtc"]
        > (later["EventLastModifiedUtc"])
    )


def test_tests_can_move_and_cancel_a_meeting_now(fresh_server: LegistarPortalServer) -> None:
    client = fresh_server.portal.client("portalder")
    events = fetch_json(fresh_server.url("portalder", "events"))
    one, two = [e for e in events if start_of(e) > DEMO_NOW.replace(tzinfo=None) and not cancelled(e)][:2]
    fresh_server.portal.advance(hours=1)
    client.move_event(one["EventId"], start_of(one) + timedelta(days=1, hours=1))
    client.cancel_event(two["EventId"])
    moved = fetch_json(fresh_server.url("portalder", "events", one["EventId"]))
    assert start_of(moved) == start_of(one) + timedelta(days=1, hours=1)
    assert moved["EventLastModifiedUtc"] > one["EventLastModifiedUtc"]
    assert cancelled(fetch_json(fresh_server.url("portalder", "events", two["EventId"])))


def test_faults_apply_to_the_meetings_endpoints(fresh_server: LegistarPortalServer) -> None:
    url = fresh_server.url("riverton", "events") + q(**{"$top": 5})
    fresh_server.add_fault(r"/riverton/events$", "500")
    status, _, body = fetch(url)
    assert status == 500 and json.loads(body)["Message"] == "An error has occurred."
    fresh_server.add_fault(r"/riverton/events$", "garbage-date")
    assert {e["EventDate"] for e in fetch_json(url)} == {GARBAGE_DATE}
    fresh_server.add_fault(r"/eventitems$", "html200")
    status, content_type, _ = fetch(fresh_server.url("riverton", "events", 5380, "eventitems"))
    assert status == 200 and content_type.startswith("text/html")
    assert len(fetch_json(url)) == 5  # faults are used up: back to normal


def test_meetings_are_deterministic() -> None:
    one, two = demo_portal(seed=0), demo_portal(seed=0)
    for a, b in zip(one, two, strict=True):
        assert a.event_rows() == b.event_rows()
        some = [e["EventId"] for e in a.event_rows()][-40:]
        assert [a.event_item_rows(i) for i in some] == [b.event_item_rows(i) for i in some]
        assert a.office_record_rows() == b.office_record_rows()


# --------------------------------------------------------------------------------------------- end to end


def _forced(portal: Portal, client: str, start: float, step: float) -> tuple[Event, Event]:
    """The meeting the first demo step moves and the one it cancels (both still ahead after it)."""
    events = portal.client(client).events.values()
    moved = next(
        e for e in events
        if len(e.schedule) > 1 and start < e.schedule[1][0] < start + step
        and portal.client(client).utc_ts(min(e.schedule[0][1], e.held_start)) > start + step
    )  # fmt: skip
    cancelled_one = next(
        e for e in events
        if e.cancelled_at is not None and start < e.cancelled_at < start + step
        and portal.client(client).utc_ts(e.held_start) > start + step and any(i.matter for i in e.items)
    )  # fmt: skip
    return moved, cancelled_one


FORCED_CLIENTS = ("riverton", "lakesidecounty")


def _portal_with_forced(
    now: datetime, clients: tuple[str, ...] = FORCED_CLIENTS
) -> tuple[Portal, dict[str, tuple[Event, Event]]]:
    """The demo's portal (seed 0) at ``now``, with the meeting its first step moves and the one it cancels
    for each of ``clients``."""
    portal = demo_portal(0, now=now)
    step = DEMO_STEP_DAYS * 86400.0
    return portal, {c: _forced(portal, c, portal.now_ts, step) for c in clients}


def test_the_demo_moves_and_cancels_a_meeting_of_every_council_at_any_date() -> None:
    """The portal's clock is the machine's: on every day of the calendars' two-week cycle, and at the instant
    a run first failed (Monday 2026-12-07 00:02 UTC), the demo's first step moves a meeting and cancels one of
    every council. Every other Monday, no Riverton committee meeting 15 to 50 days ahead was free of business
    and the demo cancelled none: it now calls a special meeting and cancels that (tracker/demo/agendas.py)."""
    first = datetime.fromisoformat("2026-12-07T00:02:01+00:00")
    specials = 0
    for now in [first, *(first + timedelta(days=d, hours=5 * d) for d in range(1, 15))]:
        portal, forced = _portal_with_forced(now, CLIENTS)
        for moved, cancelled_one in forced.values():
            assert moved.id != cancelled_one.id
            assert all(start.weekday() < 5 for _, start in moved.schedule)  # never announced for a weekend
            if cancelled_one.comment == "Special meeting":
                specials += 1
                assert cancelled_one.body.type_name == "Committee"
                assert cancelled_one.listed_at < portal.now_ts  # on the calendar at the demo's first crawl
                assert all(i.at < portal.now_ts for i in cancelled_one.items if i.matter is not None)
    assert specials  # the fallback ran on some of these dates (Riverton on 2026-12-07, for one)


# SQLite: the meetings store on PostgreSQL is the platforms' (tests/platforms, BOTH_ENGINES)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_crawls_record_a_hearing_scheduled_moved_and_cancelled_once(tmp_path, db_url, engine):
    """`tracker crawl` at successive portal times: the bills on the agendas of the meeting the first demo step
    moves and of the one it cancels are each announced scheduled once, then moved (cancelled) once."""
    clients = list(FORCED_CLIENTS)
    portal, forced = _portal_with_forced(utc_now())
    start = portal.now_ts
    with LegistarPortalServer(portal) as server:
        cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=clients)
        for days in (0, 7, 7, 0):  # the last crawl sees nothing new: nothing is announced twice
            portal.advance(days=days)
            done = run_tracker("--config", str(cfg), "crawl", timeout=300)
            assert done.returncode == 0, done.stderr[-3000:]
    with session_scope(engine) as s:
        for c in clients:
            moved, gone = forced[c]
            jid = s.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == c))
            for event, kind, state in ((moved, "moved", "moved"), (gone, "cancelled", "cancelled")):
                meeting = s.scalar(
                    select(Meeting).where(Meeting.jurisdiction_id == jid, Meeting.source_id == str(event.id))
                )
                assert meeting is not None and meeting.state == state, (c, event.id)
                on_agenda = {  # the matters the tracker stores (a restricted one it never sees)
                    str(i.matter.id)
                    for i in event.items
                    if i.matter is not None and i.at < start and not i.matter.restricted
                }
                bills = dict(
                    s.execute(select(Bill.id, Bill.source_id).where(Bill.jurisdiction_id == jid)).all()
                )
                changes = s.execute(
                    select(HearingChange.bill_id, HearingChange.kind).where(
                        HearingChange.meeting_id == meeting.id
                    )
                ).all()
                counts = Counter((bills[b], k) for b, k in changes)
                assert set(k for _, k in counts) <= {"scheduled", kind} and max(counts.values()) == 1, counts
                once = all(counts[(m, "scheduled")] == counts[(m, kind)] == 1 for m in on_agenda)
                assert on_agenda and once, (
                    c, event.id, counts
                )  # fmt: skip
                if kind == "moved":
                    assert meeting.moved_from is not None and meeting.sequence >= 1
            assert s.scalar(select(func.count()).select_from(Vote).join(MeetingItem).join(Meeting)
                            .where(Meeting.jurisdiction_id == jid)), c  # fmt: skip


def test_the_demo_shows_meetings_moves_cancellations_and_roll_calls(demo_run):
    """`tracker demo` (as ./dev demo runs it) stores the councils' meetings and prints what its
    second crawl found: hearings of matched measures moved and cancelled during the demo's two weeks."""
    out = demo_run.result.stdout
    assert "Meetings read from the council calendars:" in out
    summary = out.split("Meetings read from the council calendars:", 1)[1].split(
        "Explore the demo database:"
    )[0]
    assert {line.split()[1] for line in summary.splitlines() if line.startswith(("  moved ", "  cancelled "))}
    engine = create_engine(f"sqlite:///{demo_run.dir / 'tracker.db'}")
    try:
        with engine.connect() as conn:
            states = dict(conn.execute(text("SELECT state, count(*) FROM meetings GROUP BY state")).all())
            kinds = dict(conn.execute(text("SELECT kind, count(*) FROM hearing_changes GROUP BY kind")).all())
            votes = conn.execute(text("SELECT vote, count(*) FROM votes GROUP BY vote")).all()
            members = conn.execute(text("SELECT count(*) FROM members")).scalar()
    finally:
        engine.dispose()
    assert {"scheduled", "moved", "cancelled", "held"} <= set(states), states
    assert {"scheduled", "moved", "cancelled"} <= set(kinds), kinds
    assert {"yes", "no"} <= {v for v, _ in votes} and members


def test_the_demo_prints_hearing_times_in_its_declared_zone_as_the_digest_does(demo_run):
    """The terminal's table of hearing changes names the declared zone (the header's "Time zone:") and shows
    every time in it, as the digest written beside it does: a council in another zone is converted, so a
    staff member reading both sees the same times (until 2026-12-07 it showed each meeting's own zone)."""
    out = demo_run.result.stdout
    zone = out.split("Time zone:   ", 1)[1].split(" ", 1)[0]
    header, table = out.split("Hearings of matched measures scheduled, moved or cancelled", 1)[1].split(
        "\n", 1
    )
    assert f"times in {zone}" in header, header
    digest = (demo_run.dir / "digest.txt").read_text(encoding="utf-8")
    moved = re.compile(r"^  moved .* ((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} \w{3} \d\d:\d\d) \(was (.*)\)$")
    rows = [m.groups() for m in map(moved.match, table.split("\n\n", 1)[0].splitlines()) if m]
    assert len(rows) >= 2, table  # every council moves a meeting; they are not all in the declared zone
    for at, was in rows:
        assert f"moved from {was} to {at}" in digest, (at, was)
