"""``next_hearing`` and ``votes`` in the JSON API (both engines): the shapes of issue 15 exactly, ``at`` in
ISO 8601 with the UTC offset of the meeting's zone, votes oldest first with their roll call, a cancelled
hearing never next, and a page of bills loaded in a fixed number of queries (no query per bill)."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from tests.web.meeting_data import HOSTILE, ROLL, World, build

ZONE = ZoneInfo("America/Los_Angeles")
AGENDA = "https://riverton.legistar.com/View.ashx?M=A&ID=1"


@pytest.fixture
def world(engine) -> World:
    return build(engine)


def expected(world: World) -> dict[int, dict]:
    held = (world.now - timedelta(days=5)).astimezone(ZONE).isoformat()
    return {
        world.gang: {
            "next_hearing": {
                "at": (world.now + timedelta(days=12)).astimezone(ZONE).isoformat(),
                "body": "Public Safety Committee",
                "location": HOSTILE,  # JSON carries the text as it is; the pages escape it
                "agenda_url": AGENDA,
            },
            "votes": [
                {
                    "at": held,
                    "body": "City Council",
                    "action": "Vote",
                    "result": "Passed",
                    "roll_call": [{"member": m, "vote": v} for m, v in ROLL],
                }
            ],
        },
        world.detainers: {
            "next_hearing": None,  # its only upcoming hearing was cancelled
            "votes": [
                {
                    "at": held,
                    "body": "City Council",
                    "action": "Vote",
                    "result": "Passed",
                    "roll_call": [
                        {"member": "Ana Ortiz", "vote": "no"},
                        {"member": "Bo Chen", "vote": "yes"},
                    ],
                }
            ],
        },
        world.rink: {"next_hearing": None, "votes": []},
    }


def test_api_bills_gives_next_hearing_and_votes(client, login, world):
    login(client, "staff")
    body = client.get("/api/bills").json()
    want = expected(world)
    got = {item["id"]: {k: item[k] for k in ("next_hearing", "votes")} for item in body["items"]}
    assert got == want
    gang = next(i for i in body["items"] if i["id"] == world.gang)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", gang["next_hearing"]["at"])
    assert gang["next_hearing"]["at"][-6:] in ("-08:00", "-07:00")  # Pacific time, with its offset
    # the existing keys are kept
    for key in ("id", "jurisdiction", "identifier", "title", "match", "direction_reason", "url"):
        assert key in gang


def test_api_bill_and_matches_give_the_same_fields(client, login, world):
    login(client, "staff")
    want = expected(world)
    one = client.get(f"/api/bills/{world.gang}").json()
    assert {k: one[k] for k in ("next_hearing", "votes")} == want[world.gang]
    assert "sponsors" in one and "actions" in one
    matches = client.get("/api/matches").json()["items"]
    assert {m["id"]: {k: m[k] for k in ("next_hearing", "votes")} for m in matches} == {
        world.gang: want[world.gang],
        world.detainers: want[world.detainers],
    }


def test_votes_are_oldest_first(client, login, world, engine):
    from db.engine import session_scope
    from db.models import Bill
    from tests.factories import normalized_meeting, store_meetings

    with session_scope(engine) as s:
        gang = s.get(Bill, world.gang)
        earlier = normalized_meeting(
            "E-EARLIER",
            world.now - timedelta(days=9),
            [gang],
            body="Public Safety Committee",
            votes={gang.source_id: [("Ana Ortiz", "yes"), ("Bo Chen", "yes")]},
            result="Recommended",
        )
        store_meetings(s, [earlier], observed_at=world.now - timedelta(hours=1))
    login(client, "staff")
    votes = client.get(f"/api/bills/{world.gang}").json()["votes"]
    assert [(v["body"], v["result"]) for v in votes] == [
        ("Public Safety Committee", "Recommended"),
        ("City Council", "Passed"),
    ]
    assert votes[0]["roll_call"] == [
        {"member": "Ana Ortiz", "vote": "yes"},
        {"member": "Bo Chen", "vote": "yes"},
    ]


def test_a_page_of_bills_takes_a_fixed_number_of_queries(client, login, world, engine):
    login(client, "staff")
    counts = {}
    for limit in (1, 3):
        statements: list[str] = []

        def count(*args, statements=statements):
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert len(client.get(f"/api/bills?limit={limit}").json()["items"]) == limit
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts[limit] = len(statements)
    assert counts[1] == counts[3], counts
