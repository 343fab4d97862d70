"""Calendar feeds of hearings (RFC 5545): their content, read back by the library that wrote them (icalendar)
and by an independent parser (vobject); a moved hearing keeps its UID and bumps SEQUENCE, a cancelled one
is STATUS:CANCELLED; hostile text stays text; the secret-token URLs answer 404 to anything wrong."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import vobject
from fastapi.testclient import TestClient

from db.engine import session_scope
from db.models import Bill
from db.models_digest import Subscription
from tests import factories as f
from tests.clock import FIXED_NOW, utc_now
from tests.digests import helpers as h
from tracker.digests.ical import bill_calendar, subscription_calendar
from tracker.digests.links import Links
from tracker.web import auth

LA = ZoneInfo("America/Los_Angeles")
COMMENT = "E-mail the clerk at clerk@riverton.example; comments close at noon, the day before."
AGENDA = "https://riverton.legistar.com/View.ashx?M=A&ID=1"
LINKS = Links("https://tracker.example.org", None)


def _parse(data: bytes) -> tuple[list[icalendar.Event], list]:
    """The events as icalendar and as vobject read them (both must agree on how many)."""
    cal = icalendar.Calendar.from_ical(data)
    events = list(cal.walk("VEVENT"))
    other = vobject.readOne(data.decode("utf-8"))
    other_events = list(getattr(other, "vevent_list", []))
    assert len(events) == len(other_events)
    return events, other_events


def _bills(engine, titles: list[str], relevant: bool = True) -> list[int]:
    with session_scope(engine) as s:
        ids = []
        for title in titles:
            b = f.bill(s, title=title, first_seen=FIXED_NOW - timedelta(days=30))
            if relevant:
                f.match(s, b)
            else:
                f.match(s, b, relevant=False, categories=(), direction=None, review_state=None)
            ids.append(b.id)
        return ids


def _store(engine, bill_ids, starts_at, observed_at, source_id="E1", **fields):
    with session_scope(engine) as s:
        bills = [s.get(Bill, i) for i in bill_ids]
        f.store_meetings(
            s,
            [f.normalized_meeting(source_id, starts_at, bills, comment_instructions=COMMENT, **fields)],
            observed_at=observed_at,
        )


def _bill_ics(engine, bill_id: int, now: datetime = FIXED_NOW) -> bytes:
    with session_scope(engine) as s:
        return bill_calendar(s, s.get(Bill, bill_id), now, LINKS)


def test_a_hearing_event_read_by_both_parsers(engine):
    (bill_id,) = _bills(engine, ["Ordinance limiting civil immigration detainers"])
    start = datetime(2026, 11, 12, 10, 0, tzinfo=LA)
    _store(engine, [bill_id], start, FIXED_NOW)
    data = _bill_ics(engine, bill_id)
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and b"VERSION:2.0" in data
    assert b"BEGIN:VTIMEZONE" in data and b"TZID:America/Los_Angeles" in data
    (event,), (other,) = _parse(data)
    with session_scope(engine) as s:
        identifier = s.get(Bill, bill_id).identifier
    # icalendar
    assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
    dtstart = event.decoded("DTSTART")
    assert dtstart == start and str(dtstart.tzinfo) == "America/Los_Angeles"
    assert event["DTSTART"].params["TZID"] == "America/Los_Angeles"
    assert (
        str(event["SUMMARY"])
        == f"Public Safety Committee: {identifier} Ordinance limiting civil immigration detainers"
    )
    assert str(event["LOCATION"]) == "City Hall, Room 340"
    assert str(event["URL"]) == "https://riverton.legistar.com/MeetingDetail.aspx?ID=E1"
    description = str(event["DESCRIPTION"])
    assert f"Agenda: {AGENDA}" in description
    assert f"Public comment: {COMMENT}" in description
    assert f"Bill in the tracker: https://tracker.example.org/bills/{bill_id}" in description
    # vobject, independently
    assert other.uid.value == str(event["UID"])
    assert int(other.sequence.value) == 0 and other.status.value == "CONFIRMED"
    assert other.dtstart.value == start
    assert other.location.value == "City Hall, Room 340"
    assert other.description.value == description  # the same text: commas and semicolons unescaped alike
    assert other.summary.value == str(event["SUMMARY"])


def test_a_hearing_without_a_time_is_an_all_day_event(engine):
    (bill_id,) = _bills(engine, ["Ordinance limiting civil immigration detainers"])
    # the portal gives no time for Thursday 12 November: stored at local midnight
    _store(engine, [bill_id], datetime(2026, 11, 12, tzinfo=LA), FIXED_NOW, timed=False)
    data = _bill_ics(engine, bill_id)
    assert b"DTSTART;VALUE=DATE:20261112\r\n" in data
    assert b"DTSTART;TZID" not in data and b"T000000" not in data
    (event,), (other,) = _parse(data)
    assert event.decoded("DTSTART") == date(2026, 11, 12)
    assert other.dtstart.value == date(2026, 11, 12)
    # its time announced later: the same event, timed, with a higher SEQUENCE
    _store(engine, [bill_id], datetime(2026, 11, 12, 10, 0, tzinfo=LA), FIXED_NOW + timedelta(hours=1))
    (event,), _ = _parse(_bill_ics(engine, bill_id, FIXED_NOW + timedelta(hours=1)))
    assert event.decoded("DTSTART") == datetime(2026, 11, 12, 10, 0, tzinfo=LA)
    assert event["SEQUENCE"] == 1


def test_a_moved_hearing_keeps_its_uid_and_bumps_sequence_then_is_cancelled(engine):
    (bill_id,) = _bills(engine, ["Ordinance limiting civil immigration detainers"])
    first = datetime(2026, 11, 12, 10, 0, tzinfo=LA)
    _store(engine, [bill_id], first, FIXED_NOW)
    (before,), (before_v,) = _parse(_bill_ics(engine, bill_id))

    moved = datetime(2026, 11, 19, 14, 30, tzinfo=LA)
    _store(engine, [bill_id], moved, FIXED_NOW + timedelta(days=1))
    (after,), (after_v,) = _parse(_bill_ics(engine, bill_id))
    assert str(after["UID"]) == str(before["UID"]) == after_v.uid.value == before_v.uid.value
    assert after["SEQUENCE"] == before["SEQUENCE"] + 1 == int(after_v.sequence.value)
    assert after.decoded("DTSTART") == moved == after_v.dtstart.value
    assert str(after["STATUS"]) == "CONFIRMED"
    assert "Moved from Thu 12 Nov 2026 10:00." in str(after["DESCRIPTION"])
    assert after.decoded("DTSTAMP") > before.decoded("DTSTAMP")

    _store(engine, [bill_id], moved, FIXED_NOW + timedelta(days=2), cancelled=True)
    (cancelled,), (cancelled_v,) = _parse(_bill_ics(engine, bill_id))
    assert str(cancelled["UID"]) == str(before["UID"])
    assert str(cancelled["STATUS"]) == "CANCELLED" == cancelled_v.status.value
    assert cancelled["SEQUENCE"] == after["SEQUENCE"] + 1 == int(cancelled_v.sequence.value)
    assert "This meeting is cancelled." in str(cancelled["DESCRIPTION"])


def test_two_bills_on_one_agenda_are_two_events_and_a_bill_taken_off_leaves(engine):
    a, b = _bills(engine, ["Ordinance on detainers", "Resolution on sanctuary status"])
    start = datetime(2026, 11, 12, 10, 0, tzinfo=LA)
    _store(engine, [a, b], start, FIXED_NOW)
    (ev_a,), _ = _parse(_bill_ics(engine, a))
    (ev_b,), _ = _parse(_bill_ics(engine, b))
    assert str(ev_a["UID"]) != str(ev_b["UID"])  # the same meeting, two bills: two hearings
    _store(engine, [a], start, FIXED_NOW + timedelta(hours=1))  # b is off the (complete) agenda
    assert _parse(_bill_ics(engine, b)) == ([], [])
    (again,), _ = _parse(_bill_ics(engine, a))
    assert str(again["UID"]) == str(ev_a["UID"])
    # long past hearings are not in the feed
    assert _parse(_bill_ics(engine, a, now=start + timedelta(days=30))) == ([], [])


def test_the_subscription_calendar_has_the_hearings_of_its_measures_only(engine, db_url):
    config = h.make_config(db_url)
    a, b = _bills(engine, ["Ordinance on detainers", "Resolution on sanctuary status"])
    (noise,) = _bills(engine, ["Ice rink renovation contract"], relevant=False)
    _store(engine, [a, noise], datetime(2026, 11, 12, 10, 0, tzinfo=LA), FIXED_NOW, source_id="E1")
    _store(engine, [b], datetime(2026, 11, 20, 9, 0, tzinfo=LA), FIXED_NOW, source_id="E2", cancelled=True)
    with session_scope(engine) as s:
        sub = h.subscribe(s, config, starts_at=FIXED_NOW)
        follow = h.subscribe(s, config, "f@example.org", starts_at=FIXED_NOW, bill_id=noise)
        data = subscription_calendar(s, sub, FIXED_NOW, LINKS)
        followed = subscription_calendar(s, follow, FIXED_NOW, LINKS)
    events, others = _parse(data)
    summaries = [str(e["SUMMARY"]) for e in events]
    assert len(events) == 2 and "Ice rink" not in data.decode()
    assert "Ordinance on detainers" in summaries[0] and "Resolution on sanctuary status" in summaries[1]
    assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CANCELLED"]
    assert [o.status.value for o in others] == ["CONFIRMED", "CANCELLED"]
    (only,), _ = _parse(followed)
    assert "Ice rink renovation contract" in str(only["SUMMARY"])


HOSTILE = "<script>alert(1)</script>, a; b\\c\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil\x1b[31m"


def test_hostile_text_stays_text(engine):
    (bill_id,) = _bills(engine, ["Ordinance on detainers"])
    _store(
        engine,
        [bill_id],
        datetime(2026, 11, 12, 10, 0, tzinfo=LA),
        FIXED_NOW,
        body=HOSTILE,
        location=HOSTILE,
        agenda_url="javascript:alert(2)",
    )
    data = _bill_ics(engine, bill_id)
    assert b"javascript:" not in data and b"\x1b" not in data
    assert data.count(b"\r\nBEGIN:VEVENT\r\n") == 1 and b"\r\nUID:evil" not in data
    (event,), (other,) = _parse(data)
    expected = "<script>alert(1)</script>, a; b\\c\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil[31m"
    assert str(event["LOCATION"]) == expected == other.location.value
    assert str(event["SUMMARY"]).startswith(expected) and other.summary.value.startswith(expected)
    assert "Agenda:" not in str(event["DESCRIPTION"])


def test_a_right_to_left_override_never_reverses_a_calendar_title(engine):
    """U+202E and the isolates stayed raw in SUMMARY, LOCATION and DESCRIPTION after the web pages, mails,
    CSV and Markdown replaced them (until 2026-12-07)."""
    (bill_id,) = _bills(engine, ["Ordinance \u202erepealing\u202c Section 7-73-050 \u2067isolate\u2069"])
    _store(engine, [bill_id], datetime(2026, 11, 12, 10, 0, tzinfo=LA), FIXED_NOW, location="Room \u202e1")
    data = _bill_ics(engine, bill_id).decode()
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", data), data
    (event,), _ = _parse(data.encode())
    assert "Ordinance \ufffdrepealing\ufffd Section" in str(event["SUMMARY"])
    assert str(event["LOCATION"]) == "Room \ufffd1"


# -- the secret-token URLs ------------------------------------------------------------------------------


def test_calendar_urls_need_their_secret_token(app, client, login, engine, web_config):
    now = utc_now()
    (bill_id,) = _bills(engine, ["Ordinance on detainers"])
    _store(engine, [bill_id], now + timedelta(days=10), now - timedelta(minutes=5))
    with session_scope(engine) as s:
        sub = h.subscribe(s, web_config, starts_at=now)
        sub_id, sub_token = sub.id, sub.feed_token
    user = login(client, "editor", email="staff@example.org")
    with session_scope(engine) as s:
        from db.models_web import User

        token = auth.new_feed_token(s.get(User, user.id), now)

    # the subscriptions page shows the subscription's calendar link
    page = client.get("/subscriptions").text
    assert f"/calendar/subscriptions/{sub_token}.ics" in page

    with TestClient(app) as reader:  # a calendar program: no session cookie
        r = reader.get(f"/calendar/subscriptions/{sub_token}.ics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
        assert r.headers["referrer-policy"] == "no-referrer"
        (event,), _ = _parse(r.content)
        assert "Ordinance on detainers" in str(event["SUMMARY"])
        r = reader.get(f"/feeds/{token}/bills/{bill_id}.ics")
        assert r.status_code == 200
        (bill_event,), _ = _parse(r.content)
        assert str(bill_event["UID"]) == str(event["UID"])  # the same hearing in both feeds

        wrong = [
            f"/calendar/subscriptions/{sub_token}x.ics",
            "/calendar/subscriptions/.ics",
            f"/calendar/subscriptions/{'A' * 5000}.ics",
            "/calendar/subscriptions/%27%22%3Cx%3E.ics",
            f"/feeds/{sub_token}/bills/{bill_id}.ics",  # a subscription's token is not a user's
            f"/feeds/{token}x/bills/{bill_id}.ics",
            f"/feeds/{token}/bills/999999.ics",
            f"/feeds/{token}/bills/abc.ics",
            f"/feeds/{token}/bills/99999999999999999999.ics",
            f"/feeds/{token}/bills/-1.ics",
            f"/feeds/{'A' * 5000}/bills/{bill_id}.ics",
        ]
        for url in wrong:
            assert reader.get(url).status_code == 404, url
        # a NUL in a path is refused before any route (a bad request), never a server error
        assert reader.get("/calendar/subscriptions/%00.ics").status_code == 400

        # a new feed token stops the old one; a removed subscription's calendar is gone
        with session_scope(engine) as s:
            from db.models_web import User

            auth.new_feed_token(s.get(User, user.id), now)
            s.get(Subscription, sub_id).state = "removed"
        assert reader.get(f"/feeds/{token}/bills/{bill_id}.ics").status_code == 404
        assert reader.get(f"/calendar/subscriptions/{sub_token}.ics").status_code == 404


def test_the_feed_link_page_shows_the_bill_calendar_address(app, client, login, engine):
    now = utc_now()
    (bill_id,) = _bills(engine, ["Ordinance on detainers"])
    _store(engine, [bill_id], now + timedelta(days=3), now - timedelta(minutes=5))
    login(client, "editor", email="staff@example.org")
    page = client.post("/subscriptions/feed-token", data={"csrf_token": client.csrf}).text
    found = re.search(
        r'<code class="token" id="bill-calendar-url">(http://testserver/feeds/[^<]+)</code>', page
    )
    assert found and found.group(1).endswith("/bills/BILL-ID.ics")
    with TestClient(app) as reader:
        r = reader.get(found.group(1).replace("BILL-ID", str(bill_id)))
        assert r.status_code == 200
        (event,), _ = _parse(r.content)
        assert "Ordinance on detainers" in str(event["SUMMARY"])
