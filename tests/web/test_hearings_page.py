"""The upcoming hearings page (``/hearings``, both engines): the meetings of the next days whose agendas
list a sanctuary-related measure, soonest first, cancelled and moved ones marked, past meetings and
measures that are not relevant left out; the city filter and the window; bad parameters are a 400 with one
line; scraped text is escaped; a login is needed."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from db.engine import session_scope
from db.models import Bill
from tests.factories import normalized_meeting, store_meetings
from tests.web.meeting_data import COMMENT, ESCAPED_HOSTILE, HOSTILE, World, build

ZONE = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def world(engine) -> World:
    world = build(engine)
    with session_scope(engine) as s:  # a meeting whose only matter is not sanctuary-related
        rink = s.get(Bill, world.rink)
        store_meetings(
            s,
            [normalized_meeting("E-RINK", world.now + timedelta(days=7), [rink], body="Parks Committee")],
            observed_at=world.now - timedelta(hours=1),
        )
    return world


def _shown(instant) -> str:
    local = instant.astimezone(ZONE)
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"


def _sections(html: str) -> list[str]:
    return [part.split("</section>")[0] for part in html.split('<section class="hearing">')[1:]]


def test_upcoming_hearings_of_measures_soonest_first_with_cancelled_and_moved_marked(client, login, world):
    login(client, "staff")
    page = client.get("/hearings")
    assert page.status_code == 200, page.text
    assert "2 meetings in the next 28 days with 2 sanctuary-related measures" in page.text
    cancelled, moved = _sections(page.text)
    # the cancelled meeting, three days ahead: both measures, in agenda order
    assert _shown(world.now + timedelta(days=3)) in cancelled
    assert '<span class="state state-rejected">cancelled</span>' in cancelled
    assert cancelled.index(f'href="/bills/{world.gang}"') < cancelled.index(
        f'href="/bills/{world.detainers}"'
    )
    assert "restricts sanctuary" in cancelled and "confirmed" in cancelled
    # the moved one, with the time it was first announced at
    assert _shown(world.now + timedelta(days=12)) in moved
    assert f"(was {_shown(world.now + timedelta(days=10))})" in moved
    assert f'href="/bills/{world.gang}"' in moved and f'href="/bills/{world.detainers}"' not in moved
    # scraped text is escaped: the location and the comment instructions
    assert ESCAPED_HOSTILE in moved and HOSTILE not in page.text
    assert "clerk@riverton.gov before 5 pm &lt;b&gt;sharp&lt;/b&gt;" in moved and COMMENT not in page.text
    # neither the held meeting (past) nor the rink's (no measure) is listed
    assert "Parks Committee" not in page.text
    assert _shown(world.now - timedelta(days=5)) not in page.text
    assert '<a href="/hearings">Hearings</a>' in page.text  # in the navigation


def test_a_meeting_gone_from_the_councils_calendar_is_listed_and_marked(client, login, world, engine):
    from db.models import Jurisdiction
    from tracker.meetings import MeetingImporter

    with session_scope(engine) as s:
        gang = s.get(Bill, world.gang)
        store_meetings(
            s,
            [normalized_meeting("E-GONE", world.now + timedelta(days=6), [gang], body="Rules Committee")],
            observed_at=world.now - timedelta(hours=3),
        )
        # the next crawl reads the whole window, and the portal no longer lists it
        riverton = s.query(Jurisdiction).filter_by(slug="riverton").one()
        window = (world.now - timedelta(days=30), world.now + timedelta(days=60))
        MeetingImporter(s, riverton, None, world.now - timedelta(hours=2)).store(
            [], window, {"E-HELD", "E-NEXT", "E-CANCEL", "E-RINK"}
        )
    login(client, "staff")
    page = client.get("/hearings")
    assert "3 meetings in the next 28 days with 2 sanctuary-related measures" in page.text
    (gone,) = [section for section in _sections(page.text) if "Rules Committee" in section]
    assert _shown(world.now + timedelta(days=6)) in gone
    assert '<span class="state state-rejected">removed from the council\'s calendar</span>' in gone
    assert f'href="/bills/{world.gang}"' in gone


def test_a_meeting_without_a_time_shows_its_date_and_is_listed_all_its_day(client, login, world, engine):
    from tracker.web.queries.meetings import upcoming_hearings

    day = (world.now + timedelta(days=5)).astimezone(ZONE).date()
    midnight = datetime.combine(day, time(), tzinfo=ZONE)  # where a meeting without a time is stored
    with session_scope(engine) as s:
        gang = s.get(Bill, world.gang)
        meeting = normalized_meeting("E-TBD", midnight, [gang], body="Rules Committee", timed=False)
        store_meetings(s, [meeting], observed_at=world.now - timedelta(hours=1))
    login(client, "staff")
    page = client.get("/hearings")
    (section,) = [section for section in _sections(page.text) if "Rules Committee" in section]
    assert f"{midnight:%a %d %b %Y}, time not announced</time>" in section
    assert f"{midnight:%a %d %b %Y}, 00:00" not in section
    # on the morning of its day it has not started: still listed, until the day ends
    with session_scope(engine) as s:
        for now, listed in ((midnight + timedelta(hours=9), True), (midnight + timedelta(days=1), False)):
            _, hearings = upcoming_hearings(s, now)
            assert ("Rules Committee" in [h["body"] for h in hearings]) is listed, now


def test_the_window_and_the_city_filter(client, login, world):
    login(client, "staff")
    near = client.get("/hearings?days=5")
    assert near.status_code == 200
    assert len(_sections(near.text)) == 1 and "cancelled" in _sections(near.text)[0]
    assert "1 meeting in the next 5 days with 2 sanctuary-related measures" in near.text
    assert '<input type="number" name="days" min="1" max="366" value="5">' in near.text  # the form keeps it
    assert 'name="days"' not in client.get("/living-list").text  # the shared city filter has it here only
    assert len(_sections(client.get("/hearings?days=366&jurisdiction=riverton").text)) == 2
    assert len(_sections(client.get("/hearings?days=2").text)) == 0
    assert "No meeting in the next 2 days" in client.get("/hearings?days=2").text


BAD = [
    "days=0",
    "days=367",
    "days=abc",
    "days=-3",
    "days=1.5",
    "days=99999999999999999999",
    "days=%C2%B2",  # "²", a digit to str.isdigit() that int() refuses
    "days=%EF%BC%95",  # a full-width 5
    "days=%00",
    "jurisdiction=nowhere",
]


def test_bad_parameters_are_a_400_with_one_line(client, login, world):
    login(client, "staff")
    for query in BAD:  # (one world for all: each case is one request)
        response = client.get(f"/hearings?{query}", headers={"Accept": "text/html"})
        assert response.status_code == 400, (query, response.text)
        assert "Traceback" not in response.text, query
        if query.startswith("days=") and query != "days=%00":  # (a NUL is refused at the door)
            assert "days must be a whole number from 1 to 366" in response.text, query


def test_a_confirmed_measure_later_rejected_leaves_the_page(client, login, world, engine):
    from tracker import review

    with session_scope(engine) as s:
        review.reject(s, str(world.gang), by="ana")
    login(client, "staff")
    page = client.get("/hearings")
    sections = _sections(page.text)
    assert len(sections) == 1  # the moved meeting listed only the gang bill
    assert (
        f'href="/bills/{world.gang}"' not in page.text and f'href="/bills/{world.detainers}"' in sections[0]
    )


def test_the_hearings_page_needs_a_login(client, world):
    assert client.get("/hearings").status_code in (303, 401)
