"""Legistar Web API events, event items, roll calls and office records → meetings, agenda items, votes and
members (tracker/platforms/legistar.py), on the real recorded responses read in place."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import SAMPLES
from tracker.contract import VOTE_VALUES, NormalizedMeeting, NormalizedVote, read_staged
from tracker.errors import DataError
from tracker.platforms.legistar import (
    ITEMS_STAMP_KEY,
    Settings,
    bill_of,
    event_is_cancelled,
    event_stamp,
    events_window,
    group_office_records,
    meeting_of,
    member_of,
    parse_event_time,
    vote_value,
)
from tracker.sanitize import sanitize_record

API = SAMPLES / "legistar-api"
LA = "America/Los_Angeles"
OAKLAND = Settings(slug="oakland", name="Oakland", platform="legistar", client="oakland", timezone=LA)
METRO = Settings(slug="la-metro", name="LA Metro", platform="legistar", client="metro", timezone=LA)


def _load(name: str):
    return json.loads((API / name).read_bytes())


def test_recorded_oakland_events_page_all_read():
    rows = _load("oakland/events-first-page-1000-rows.json")
    meetings = [meeting_of(OAKLAND, row, None) for row in rows]
    assert len(meetings) == 1000
    assert len({m.source_id for m in meetings}) == 1000
    first = meetings[0]
    assert first.source_id == "573"
    assert first.body_name == "*Life Enrichment Committee"
    # 2000-09-12 at 1:00 PM in Oakland (PDT, UTC-7)
    assert first.starts_at == datetime(2000, 9, 12, 20, 0, tzinfo=UTC)
    assert first.local_date == date(2000, 9, 12)
    assert first.time_zone == LA
    assert first.location == "Hearing Room One"
    assert first.public_url == rows[0]["EventInSiteURL"]
    assert (first.agenda_url, first.minutes_url, first.comment_instructions) == (None, None, None)
    # not read: the items are left as stored
    assert first.items == [] and first.items_complete is False
    assert ITEMS_STAMP_KEY not in first.raw and "EventItems" not in first.raw
    # every start is the local date at the local time given
    for row, meeting in zip(rows, meetings, strict=True):
        assert meeting.starts_at is not None
        local = meeting.starts_at.astimezone(ZoneInfo(LA))
        assert local.date().isoformat() == row["EventDate"][:10]
        assert local.strftime("%-I:%M %p") == row["EventTime"]
    # winter dates are PST (UTC-8)
    winter = next(m for r, m in zip(rows, meetings, strict=True) if r["EventDate"].startswith("2000-12"))
    assert winter.starts_at is not None
    assert winter.starts_at.astimezone(ZoneInfo(LA)).utcoffset() == timedelta(hours=-8)


def test_recorded_oakland_cancellation_is_read():
    rows = _load("oakland/events-first-page-1000-rows.json")
    (row,) = [r for r in rows if r.get("EventComment") == "CANCELED"]
    meeting = meeting_of(OAKLAND, row, None)
    assert meeting.cancelled is True
    # the others say nothing of a cancellation in the three fields Legistar leaves for it
    said = [
        r
        for r in rows
        if any(
            "cancel" in (r.get(k) or "").lower()
            for k in ("EventAgendaStatusName", "EventComment", "EventLocation")
        )
    ]
    assert sum(meeting_of(OAKLAND, r, None).cancelled for r in rows) == len(said)
    # a title, a body name or a file name that mentions a cancellation does not cancel the meeting
    assert not event_is_cancelled({"EventBodyName": "Cancellation Appeals Board", "EventComment": None})


def test_recorded_oakland_event_items():
    items = _load("oakland/event-8172-eventitems.json")
    event = {
        "EventId": 8172,
        "EventDate": "2019-04-23T00:00:00",
        "EventTime": "6:30 PM",
        "EventRowVersion": "x",
    }
    meeting = meeting_of(OAKLAND, event, items, {}, "stamp-1")
    assert meeting.items_complete is True
    assert meeting.raw[ITEMS_STAMP_KEY] == "stamp-1"
    assert len(meeting.items) == 15
    assert [i.sequence for i in meeting.items] == list(range(15))
    # in agenda order: item 191350 was added tenth on the agenda (its id is the newest)
    order = [i.source_id for i in meeting.items]
    assert order.index("191350") == order.index("191225") + 1
    assert order.index("191226") == order.index("191350") + 1
    minutes = meeting.items[order.index("191219")]
    assert minutes.bill_source_id == "30070"
    assert minutes.identifier == "18-1646"
    assert minutes.action == "Approved"
    assert minutes.result == "Pass"
    assert minutes.title is not None and minutes.title.startswith("Approval Of The Draft Minutes")
    schedule = meeting.items[order.index("191220")]
    assert schedule.minutes_note == "There was 1 speaker on this item."
    membership = meeting.items[order.index("191218")]
    assert membership.bill_source_id is None and membership.agenda_note is not None
    assert membership.agenda_note.startswith("Nikki Bas, District 2")
    # an item's matter id is the source id the bill of that matter is stored under
    matter = _load("metro/matters-filtered.json")[0]
    matter["MatterId"] = 30070
    assert bill_of(OAKLAND, matter, [], [], None).source_id == minutes.bill_source_id
    # the items with a matter are the ones with a file number
    assert sum(i.bill_source_id is not None for i in meeting.items) == sum(
        i["EventItemMatterId"] is not None for i in items
    )


def test_recorded_metro_event():
    meeting = meeting_of(METRO, _load("metro/event.json"), [])
    assert meeting.source_id == "2907"
    assert meeting.body_name == "Board of Directors - Regular Board Meeting"
    # 2024-09-26 at 10:00 AM in Los Angeles (PDT)
    assert meeting.starts_at == datetime(2024, 9, 26, 17, 0, tzinfo=UTC)
    assert meeting.local_date == date(2024, 9, 26)
    assert meeting.location == "One Gateway Plaza, Los Angeles, CA 90012, 3rd Floor, Metro Board Room"
    assert meeting.agenda_url is not None and meeting.agenda_url.endswith("_Agenda.pdf")
    assert meeting.minutes_url is None
    assert meeting.public_url == (
        "https://metro.legistar.com/MeetingDetail.aspx?LEGID=2907&GID=557&G=A5FAA737-A54D-4A6C-B1E8-FF70F765FA94"
    )
    assert meeting.comment_instructions is not None
    assert meeting.comment_instructions.startswith("Watch online: https://boardagendas.metro.net")
    assert "public comment" in meeting.comment_instructions
    assert meeting.cancelled is False
    assert meeting.items == [] and meeting.items_complete is True
    assert meeting.raw["EventTime"] == "10:00 AM" and meeting.raw["EventRowVersion"] == "AAAAAAJZKHU="


def test_staged_meeting_round_trip_and_sanitised():
    items = _load("oakland/event-8172-eventitems.json")
    event = {"EventId": 8172, "EventDate": "2019-04-23T00:00:00", "EventTime": "6:30 PM"}
    votes = {"191219": [_vote(1, "Noel Gallo", "Aye"), _vote(2, "Nikki Bas", "Nay")]}
    meeting = meeting_of(OAKLAND, event, items, votes, None)
    outcome = sanitize_record(meeting, "oakland meeting 8172")
    assert not outcome.cuts
    again = read_staged(meeting.to_json())
    assert isinstance(again, NormalizedMeeting)
    assert again == meeting
    assert again.content_hash() == meeting.content_hash()


def test_event_time_without_a_usable_time_starts_at_local_midnight():
    base = {"EventId": 1, "EventDate": "2025-01-14T00:00:00"}
    for given in (None, "", "TBD", "25:00", "13:00 PM", "Upon adjournment"):
        meeting = meeting_of(METRO, {**base, "EventTime": given}, None)
        assert meeting.starts_at == datetime(2025, 1, 14, 8, 0, tzinfo=UTC), given
        assert meeting.raw["EventTime"] == given
    assert parse_event_time("10:00 AM") == time(10, 0)
    assert parse_event_time("12:00 PM") == time(12, 0)
    assert parse_event_time("12:30 AM") == time(0, 30)
    assert parse_event_time("1:30PM") == time(13, 30)
    assert parse_event_time("9 a.m.") == time(9, 0)
    assert parse_event_time("19:05") == time(19, 5)
    # a meeting without a date has no start (the import keeps it, but it is on no calendar)
    undated = meeting_of(METRO, {"EventId": 2, "EventDate": None}, None)
    assert (undated.starts_at, undated.local_date) == (None, None)


def test_event_comment_is_kept_only_as_public_comment_instructions():
    """The eLMS rule (tracker.contract.public_comment): a comment that does not speak of comment is not
    public-comment instructions; a "Public comment:" label is not repeated by the places that name them."""
    base = {"EventId": 1, "EventDate": "2026-12-15T00:00:00", "EventTime": "9:30 AM"}
    for comment in (
        "CANCELLED",
        "Special meeting",
        "Rescheduled from Wednesday, December 23, 2026 at 9:30 AM.",
        "Public comment:",
        "",
        None,
    ):
        meeting = meeting_of(METRO, {**base, "EventComment": comment}, None)
        assert meeting.comment_instructions is None, comment
        assert meeting.raw["EventComment"] == comment  # kept as the portal gave it
    labelled = "Public comment: email clerk@example.gov before 5 PM the day before."
    meeting = meeting_of(METRO, {**base, "EventComment": labelled}, None)
    assert meeting.comment_instructions == "email clerk@example.gov before 5 PM the day before."
    # a note before the instructions (the demo's moved meetings): the instructions, without it or the label
    moved = "Rescheduled from Wednesday, December 23, 2026 at 9:30 AM. Public comment: speak in person."
    assert meeting_of(METRO, {**base, "EventComment": moved}, None).comment_instructions == "speak in person."
    written = "Written public comment deadline December 14, 2026, 3:00 PM"
    assert meeting_of(METRO, {**base, "EventComment": written}, None).comment_instructions == written
    # the cancelled meeting's comment still cancels it
    assert meeting_of(METRO, {**base, "EventComment": "CANCELLED"}, None).cancelled is True


def test_a_meeting_without_a_time_is_read_as_such():
    for given, timed in (("TBD", False), ("", False), (None, False), ("10:00 AM", True)):
        meeting = meeting_of(
            METRO, {"EventId": 1, "EventDate": "2026-11-12T00:00:00", "EventTime": given}, None
        )
        assert meeting.timed is timed, given
        # upcoming until its start, or without a time until the end of its local day
        end = (
            datetime(2026, 11, 13, 8, 0, tzinfo=UTC)
            if not timed
            else datetime(2026, 11, 12, 18, 0, tzinfo=UTC)
        )
        assert meeting.upcoming_until() == end, given
        assert read_staged(meeting.to_json()) == meeting


def test_a_spring_forward_time_is_read_in_the_zone():
    # 2025-03-09 2:30 AM does not exist in Los Angeles; zoneinfo reads it with the offset before (PST)
    meeting = meeting_of(
        METRO, {"EventId": 3, "EventDate": "2025-03-09T00:00:00", "EventTime": "2:30 AM"}, None
    )
    assert meeting.starts_at == datetime(2025, 3, 9, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("Aye", "yes"),
        ("Yes", "yes"),
        ("Yea", "yes"),
        ("Affirmative", "yes"),
        ("Nay", "no"),
        ("No", "no"),
        ("Opposed", "no"),
        ("Abstain", "abstain"),
        ("Abstained", "abstain"),
        ("Absent", "absent"),
        ("Excused", "excused"),
        ("Absent (Excused)", "excused"),
        ("Recused", "recused"),
        ("Conflict", "recused"),
        ("Present", "present"),
        ("Non-Voting", "other"),
        ("Maybe", "other"),
        ("", "other"),
        (None, "other"),
    ],
)
def test_vote_words(word, value):
    assert vote_value(word) == value
    assert value in VOTE_VALUES


def _vote(vid: int, name: str | None, word: str | None, sort: int | None = None) -> dict:
    return {
        "VoteId": vid,
        "VoteGuid": f"G{vid}",
        "VoteLastModifiedUtc": "2024-09-27T01:00:00.1",
        "VoteRowVersion": "AAAA",
        "VotePersonId": vid + 100,
        "VotePersonName": name,
        "VoteValueId": 1,
        "VoteValueName": word,
        "VoteSort": sort if sort is not None else vid,
        "VoteResult": 1,
        "VoteEventItemId": 191219,
    }


def test_roll_call_in_the_portals_order_with_its_words_kept():
    items = [
        {"EventItemId": 10, "EventItemAgendaSequence": 1, "EventItemRollCallFlag": 1, "EventItemTally": "2:1"}
    ]
    votes = {
        "10": [
            _vote(3, "Carol Fife", "Absent", 3),
            _vote(1, "Noel Gallo", "Aye", 1),
            _vote(2, "Dan Kalb", "Nay", 2),
        ]
    }
    meeting = meeting_of(OAKLAND, {"EventId": 9, "EventDate": "2024-01-01T00:00:00"}, items, votes)
    (item,) = meeting.items
    assert item.tally == "2:1"
    assert item.votes == [
        NormalizedVote("Noel Gallo", "yes", "Aye"),
        NormalizedVote("Dan Kalb", "no", "Nay"),
        NormalizedVote("Carol Fife", "absent", "Absent"),
    ]
    # a stored roll call handed back by the crawl is kept as it is
    again = meeting_of(OAKLAND, {"EventId": 9, "EventDate": "2024-01-01T00:00:00"}, items, {"10": item.votes})
    assert again.items[0].votes == item.votes


@pytest.mark.parametrize(
    ("event", "items", "votes", "named"),
    [
        ("not an object", [], None, "oakland: an event is not a JSON object"),
        ({"EventDate": "2024-01-01T00:00:00"}, [], None, "oakland event: missing or invalid EventId"),
        ({"EventId": True}, [], None, "missing or invalid EventId"),
        (
            {"EventId": 5, "EventDate": "2024-13-45T00:00:00"},
            [],
            None,
            "oakland event 5: EventDate: malformed",
        ),
        ({"EventId": 5, "EventDate": 20240101}, [], None, "oakland event 5: EventDate: expected a date"),
        ({"EventId": 5}, {"EventItemId": 1}, None, "oakland event 5 event items: expected a list"),
        ({"EventId": 5}, [{"EventItemTitle": "x"}], None, "oakland event 5 event item: missing or invalid"),
        (
            {"EventId": 5},
            [{"EventItemId": 7, "EventItemMatterId": [1]}],
            None,
            "event item 7: invalid EventItemMatterId",
        ),
        (
            {"EventId": 5},
            [{"EventItemId": 7}],
            {"7": [{"VoteId": 1, "VotePersonName": None}]},
            "event item 7 vote 1: missing VotePersonName",
        ),
        (
            {"EventId": 5},
            [{"EventItemId": 7}],
            {"7": [{"VotePersonName": "A"}]},
            "event item 7 vote: missing or invalid VoteId",
        ),
        ({"EventId": 5}, [{"EventItemId": 7}], {"7": "<html>"}, "event item 7 votes: expected a list"),
    ],
)
def test_garbage_is_a_data_error_naming_the_record(event, items, votes, named):
    with pytest.raises(DataError) as raised:
        meeting_of(OAKLAND, event, items, votes)
    assert named in str(raised.value)


def _office(rid: int, person: int | None, name: str | None, body: str | None, **kw) -> dict:
    return {
        "OfficeRecordId": rid,
        "OfficeRecordGuid": f"G{rid}",
        "OfficeRecordPersonId": person,
        "OfficeRecordFullName": name,
        "OfficeRecordBodyId": 1,
        "OfficeRecordBodyName": body,
        "OfficeRecordTitle": kw.get("title", "Councilmember"),
        "OfficeRecordStartDate": kw.get("start", "2023-01-09T00:00:00"),
        "OfficeRecordEndDate": kw.get("end", "2027-01-04T00:00:00"),
    }


def test_office_records_are_members_with_terms():
    rows = [
        _office(1, 41, "Noel Gallo", "City Council"),
        _office(2, 42, "Nikki Bas", "City Council", title="President"),
        _office(3, 41, "Noel Gallo", "Public Safety Committee", title="Chair", start="2024-01-01T00:00:00"),
        "garbage",
    ]
    groups = group_office_records(rows)
    assert len(groups) == 3
    gallo = member_of(OAKLAND, groups[0])
    assert (gallo.name, gallo.source_id) == ("Noel Gallo", "41")
    assert [(t.body_name, t.title, t.start, t.end) for t in gallo.terms] == [
        ("City Council", "Councilmember", date(2023, 1, 9), date(2027, 1, 4)),
        ("Public Safety Committee", "Chair", date(2024, 1, 1), date(2027, 1, 4)),
    ]
    assert member_of(OAKLAND, groups[1]).terms[0].title == "President"
    with pytest.raises(DataError, match="oakland office records: expected a list of objects"):
        member_of(OAKLAND, groups[2])
    with pytest.raises(DataError, match="oakland office record 9: missing OfficeRecordFullName"):
        member_of(OAKLAND, [_office(9, 1, None, "City Council")])
    with pytest.raises(DataError, match="oakland office record 9: missing OfficeRecordBodyName"):
        member_of(OAKLAND, [_office(9, 1, "A B", None)])
    with pytest.raises(DataError, match="oakland office record 9: OfficeRecordEndDate: malformed"):
        member_of(OAKLAND, [_office(9, 1, "A B", "Council", end="soon")])


def test_event_stamp_moves_with_what_a_crawl_stores():
    event = _load("metro/event.json")
    stamp = event_stamp(event, held=False)
    assert stamp is not None
    assert event_stamp(dict(event), held=False) == stamp
    assert event_stamp(event, held=True) != stamp  # held since: its roll calls come
    for key, value in (
        ("EventRowVersion", "AAAAAAJZKHY="),
        ("EventLastModifiedUtc", "2024-09-22T00:00:00"),
        ("EventAgendaLastPublishedUTC", "2024-09-22T00:00:00"),
        ("EventMinutesLastPublishedUTC", "2024-09-30T00:00:00"),
        ("EventMinutesStatusId", 10),
    ):
        assert event_stamp({**event, key: value}, held=False) != stamp, key
    # nothing to trust: no stamp, the items are read every time
    assert event_stamp({"EventId": 1, "EventDate": "2024-01-01T00:00:00"}, held=False) is None


def test_window_in_local_days():
    zone = ZoneInfo(LA)
    # 2026-11-01T05:00Z is still 31 October in Los Angeles
    first, after = events_window(zone, datetime(2026, 11, 1, 5, 0, tzinfo=UTC), 14, 60)
    assert (first, after) == (date(2026, 10, 17), date(2026, 12, 31))
