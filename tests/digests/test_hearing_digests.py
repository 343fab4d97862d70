"""Hearings in digests: a hearing scheduled, moved, cancelled or taken off an agenda is announced once, in the
subscriber's time zone, with the agenda link and the public-comment instructions; "Coming up" lists the next
hearings of the subscriber's measures in every digest and consumes nothing; immediate subscribers hear of a
new hearing at the next run; scraped text is escaped in every rendering."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Bill
from db.models_digest import DigestItem, Subscription
from db.models_meetings import HearingChange
from tests import factories as f
from tests.digests import helpers as h
from tracker.digests.outbox import feed_for, send_due

T0 = f.T0  # Mon 2 Nov 2026 12:00 UTC
LA = "America/Los_Angeles"
# Thu 12 Nov 2026 10:00 in Los Angeles (18:00 UTC)
HEARING = T0 + timedelta(days=10, hours=6)
COMMENT = "E-mail the clerk at clerk@riverton.example before 5 pm the day before."
AGENDA = "https://riverton.legistar.com/View.ashx?M=A&ID=1"


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def _tracked_bill(s, title="Ordinance limiting civil immigration detainers", **match) -> Bill:
    """A matched measure seen long before the subscription (never a new measure in its digests)."""
    b = f.bill(s, title=title, first_seen=T0 - timedelta(days=30))
    f.match(s, b, **match)
    return b


def _store(engine, bill_ids, starts_at, observed_at, source_id="E1", **fields):
    with session_scope(engine) as s:
        bills = [s.get(Bill, i) for i in bill_ids]
        f.store_meetings(
            s,
            [f.normalized_meeting(source_id, starts_at, bills, comment_instructions=COMMENT, **fields)],
            observed_at=observed_at,
        )


def _sends_nothing(engine, config, when) -> None:
    report = send_due(engine, config, when)
    assert report.recorded == [] and report.sent == [], report.lines()


def test_scheduled_moved_and_cancelled_are_each_announced_once(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        sub_id = h.subscribe(s, config, starts_at=T0, timezone=LA).id
        bill_id = _tracked_bill(s).id
        identifier = s.get(Bill, bill_id).identifier

    # placed on the agenda of an upcoming meeting
    _store(engine, [bill_id], HEARING, T0 + timedelta(hours=1))
    report = send_due(engine, config, T0 + timedelta(hours=2))
    assert len(report.sent) == 1, report.lines()
    first = smtp.messages[0]
    assert first["Subject"].startswith("Sanctuary Tracker: 1 hearing change (")
    text, html = _text(first), _html(first)
    assert f"* {identifier}: Ordinance limiting civil immigration detainers" in text
    assert "Public Safety Committee, Thu 12 Nov 10:00 — on the agenda" in text
    assert f"Agenda: {AGENDA}" in text
    assert f"Public comment: {COMMENT}" in text
    assert "Where: City Hall, Room 340" in text
    assert "Hearings (1; times in America/Los_Angeles):" in text
    assert f'<a href="{AGENDA.replace("&", "&amp;")}">Agenda</a>' in html
    assert "Public Safety Committee, Thu 12 Nov 10:00 — on the agenda" in html
    _sends_nothing(engine, config, T0 + timedelta(hours=2, minutes=5))

    # the meeting moves to Fri 13 Nov 14:00 (Los Angeles)
    moved_to = HEARING + timedelta(days=1, hours=4)
    _store(engine, [bill_id], moved_to, T0 + timedelta(days=1))
    send_due(engine, config, T0 + timedelta(days=1, hours=1))
    assert len(smtp.messages) == 2
    second = _text(smtp.messages[1])
    assert "Public Safety Committee — moved from Thu 12 Nov 10:00 to Fri 13 Nov 14:00" in second
    assert "on the agenda" not in second
    _sends_nothing(engine, config, T0 + timedelta(days=1, hours=1, minutes=5))

    # the meeting is cancelled
    _store(engine, [bill_id], moved_to, T0 + timedelta(days=2), cancelled=True)
    send_due(engine, config, T0 + timedelta(days=2, hours=1))
    assert len(smtp.messages) == 3
    third = _text(smtp.messages[2])
    assert "Public Safety Committee, Fri 13 Nov 14:00 — cancelled" in third
    assert "moved from" not in third and "Coming up" not in third  # nothing is upcoming any more
    _sends_nothing(engine, config, T0 + timedelta(days=2, hours=1, minutes=5))

    with session_scope(engine) as s:
        kinds = s.execute(
            select(HearingChange.kind)
            .join(DigestItem, DigestItem.ref_id == HearingChange.id)
            .where(DigestItem.subscription_id == sub_id, DigestItem.kind == "hearing")
            .order_by(HearingChange.id)
        ).all()
    assert [k for (k,) in kinds] == ["scheduled", "moved", "cancelled"]


def _announced(engine, db_url, smtp):
    """A subscriber, a tracked bill on the agenda of the meeting at HEARING, and the digest that said so."""
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        h.subscribe(s, config, starts_at=T0, timezone=LA)
        bill_id = _tracked_bill(s).id
    _store(engine, [bill_id], HEARING, T0 + timedelta(hours=1))
    send_due(engine, config, T0 + timedelta(hours=2))
    return config, bill_id


def test_a_meeting_gone_from_the_calendar_is_announced_as_such(engine, db_url, smtp):
    """A meeting that left the portal's listing was announced as "taken off the agenda" (until 2026-12-07),
    while /hearings says it was removed from the council's calendar; the digest now says so too."""
    config, _ = _announced(engine, db_url, smtp)
    window = (T0, HEARING + timedelta(days=30))
    with session_scope(engine) as s:  # a complete listing of the window without the meeting
        f.store_meetings(s, [], observed_at=T0 + timedelta(days=1), window=window)
    send_due(engine, config, T0 + timedelta(days=1, hours=1))
    assert len(smtp.messages) == 2
    second = _text(smtp.messages[1])
    assert "Public Safety Committee, Thu 12 Nov 10:00 — removed from the council's calendar" in second, second
    assert "taken off the agenda" not in second


def test_a_bill_taken_off_the_agenda_is_announced(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        h.subscribe(s, config, starts_at=T0, timezone=LA)
        a, b = _tracked_bill(s).id, _tracked_bill(s, title="Resolution on sanctuary city status").id
    _store(engine, [a, b], HEARING, T0 + timedelta(hours=1))
    send_due(engine, config, T0 + timedelta(hours=2))
    _store(engine, [a], HEARING, T0 + timedelta(days=1))  # b is no longer on the complete agenda
    send_due(engine, config, T0 + timedelta(days=1, hours=1))
    assert len(smtp.messages) == 2
    second = _text(smtp.messages[1])
    assert "Public Safety Committee, Thu 12 Nov 10:00 — taken off the agenda" in second
    assert second.count("taken off the agenda") == 1
    # a is still on the agenda: it is what comes up next
    coming = second[second.index("Coming up") :]
    assert "Ordinance limiting civil immigration detainers" in coming
    assert "Resolution on sanctuary city status" not in coming


def test_a_hearing_moved_to_a_day_already_past_is_announced(engine, db_url, smtp):
    config, bill_id = _announced(engine, db_url, smtp)
    assert "Public Safety Committee, Thu 12 Nov 10:00 — on the agenda" in _text(smtp.messages[0])
    # the clerk moves it to Wednesday 4 November, 10:00; the crawl reads it on Thursday 5 November
    _store(engine, [bill_id], T0 + timedelta(days=2, hours=6), T0 + timedelta(days=3))
    send_due(engine, config, T0 + timedelta(days=3, hours=1))
    assert len(smtp.messages) == 2
    second = _text(smtp.messages[1])
    assert "Public Safety Committee — moved from Thu 12 Nov 10:00 to Wed 4 Nov 10:00 (already past)" in second
    assert "Coming up" not in second  # nothing is upcoming any more
    _sends_nothing(engine, config, T0 + timedelta(days=4))


def test_a_hearing_without_a_time_shows_its_date(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        h.subscribe(s, config, starts_at=T0, timezone=LA)
        bill_id = _tracked_bill(s).id
    # the portal gives no time for Thursday 12 November: stored at local midnight
    midnight = datetime(2026, 11, 12, tzinfo=ZoneInfo(LA))
    _store(engine, [bill_id], midnight, T0 + timedelta(hours=1), timed=False)
    send_due(engine, config, T0 + timedelta(hours=2))
    text = _text(smtp.messages[0])
    assert "Public Safety Committee, Thu 12 Nov, time not announced — on the agenda" in text
    coming = text[text.index("Coming up") :]
    assert "Public Safety Committee, Thu 12 Nov, time not announced" in coming
    assert "00:00" not in text
    assert "Thu 12 Nov, time not announced — on the agenda" in _html(smtp.messages[0])


def test_only_the_subscribers_measures_and_a_followed_bill(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        measures = h.subscribe(s, config, "measures@example.org", starts_at=T0, timezone=LA)
        restricts = h.subscribe(
            s, config, "restricts@example.org", starts_at=T0, timezone=LA, direction="restricts"
        )
        elsewhere = h.subscribe(
            s, config, "portalder@example.org", starts_at=T0, timezone=LA, jurisdictions=["portalder"]
        )
        sanctuary = _tracked_bill(s).id
        noise = f.bill(s, title="Ice rink renovation contract", first_seen=T0 - timedelta(days=30))
        f.match(s, noise, relevant=False, categories=(), direction=None, review_state=None)
        follow = h.subscribe(s, config, "follower@example.org", starts_at=T0, timezone=LA, bill_id=noise.id)
        ids = {
            "measures": measures.id,
            "restricts": restricts.id,
            "elsewhere": elsewhere.id,
            "follow": follow.id,
        }
        noise_id = noise.id
    _store(engine, [sanctuary, noise_id], HEARING, T0 + timedelta(hours=1))
    send_due(engine, config, T0 + timedelta(hours=2))
    by_address = {m["To"]: _text(m) for m in smtp.messages}
    assert set(by_address) == {"measures@example.org", "follower@example.org"}
    assert "Ordinance limiting civil immigration detainers" in by_address["measures@example.org"]
    assert "Ice rink" not in by_address["measures@example.org"]
    assert "Ice rink renovation contract" in by_address["follower@example.org"]
    assert "— on the agenda" in by_address["follower@example.org"]
    assert "Ordinance limiting" not in by_address["follower@example.org"]
    with session_scope(engine) as s:
        counts = {
            name: len(
                s.scalars(
                    select(DigestItem).where(DigestItem.subscription_id == i, DigestItem.kind == "hearing")
                ).all()
            )
            for name, i in ids.items()
        }
    assert counts == {"measures": 1, "restricts": 0, "elsewhere": 0, "follow": 1}


def test_coming_up_lists_the_next_hearings_and_consumes_nothing(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        sub_id = h.subscribe(s, config, starts_at=T0, timezone=LA).id
        a = _tracked_bill(s).id
        b = _tracked_bill(s, title="Resolution affirming sanctuary city status").id
        noise = f.bill(s, title="Ice rink renovation contract", first_seen=T0 - timedelta(days=30))
        f.match(s, noise, relevant=False, categories=(), direction=None, review_state=None)
        noise_id = noise.id
    # hearings known before the subscription started: not announced, but coming up
    _store(engine, [a, noise_id], HEARING, T0 - timedelta(days=1), source_id="E1")
    _store(engine, [a, b], HEARING + timedelta(days=3), T0 - timedelta(days=1), source_id="E2",
           body="City Council")  # fmt: skip
    # a past meeting is not coming up
    _store(engine, [b], T0 - timedelta(days=2), T0 - timedelta(days=3), source_id="E0", body="Old Committee")
    with session_scope(engine) as s:
        news = f.bill(s, title="Ordinance creating a municipal ID", first_seen=T0 + timedelta(hours=1))
        f.match(s, news, categories=("municipal_id_services",))
    send_due(engine, config, T0 + timedelta(hours=2))
    (first,) = smtp.messages
    text = _text(first)
    assert first["Subject"].startswith("Sanctuary Tracker: 1 new measure (")
    coming = text[text.index("Coming up (2; times in America/Los_Angeles)") :]
    # each measure's next hearing, soonest first
    a_at = coming.index("Ordinance limiting civil immigration detainers")
    b_at = coming.index("Resolution affirming sanctuary city status")
    assert a_at < b_at
    assert "Public Safety Committee, Thu 12 Nov 10:00" in coming[a_at:b_at]
    assert "City Council, Sun 15 Nov 10:00" in coming[b_at:]
    assert f"Public comment: {COMMENT}" in coming and f"Agenda: {AGENDA}" in coming
    assert "Ice rink" not in text and "Old Committee" not in text
    assert "— on the agenda" not in text  # known before the subscription: not announced
    assert "Coming up" in _html(first)

    # a later digest shows what is coming up again (a view, not an item)
    with session_scope(engine) as s:
        later = f.bill(
            s, title="Ordinance on immigration detainers, part 2", first_seen=T0 + timedelta(days=1)
        )
        f.match(s, later)
    send_due(engine, config, T0 + timedelta(days=1, hours=1))
    assert len(smtp.messages) == 2
    assert "Coming up (2; times in America/Los_Angeles)" in _text(smtp.messages[1])
    # Coming up alone never makes a digest
    _sends_nothing(engine, config, T0 + timedelta(days=2))
    with session_scope(engine) as s:
        kinds = set(s.scalars(select(DigestItem.kind).where(DigestItem.subscription_id == sub_id)))
    assert kinds == {"measure"}


def test_an_immediate_subscriber_hears_of_a_new_hearing_at_once(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        h.subscribe(s, config, "now@example.org", starts_at=T0, timezone=LA)
        h.subscribe(s, config, "daily@example.org", starts_at=T0, timezone=LA, frequency="daily",
                    at_time="08:00")  # fmt: skip
        bill_id = _tracked_bill(s).id
    _store(engine, [bill_id], HEARING, T0 + timedelta(hours=1))
    # the next immediate run (every 5 minutes) sends it; the daily digest waits for 08:00 Los Angeles
    report = send_due(engine, config, T0 + timedelta(hours=1, minutes=5))
    assert [m["To"] for m in smtp.messages] == ["now@example.org"], report.lines()
    assert "— on the agenda" in _text(smtp.messages[0])
    send_due(engine, config, T0 + timedelta(hours=20, minutes=1))  # Tue 3 Nov 08:01 Los Angeles
    assert [m["To"] for m in smtp.messages] == ["now@example.org", "daily@example.org"]
    assert "Public Safety Committee, Thu 12 Nov 10:00 — on the agenda" in _text(smtp.messages[1])


def test_webhook_json_carries_the_hearing_and_coming_up(engine, db_url, webhook):
    config = h.make_config(db_url)
    with session_scope(engine) as s:
        h.subscribe(s, config, starts_at=T0, timezone=LA, email_enabled=False, webhook_url=webhook.url)
        bill_id = _tracked_bill(s).id
    _store(engine, [bill_id], HEARING, T0 + timedelta(hours=1))
    send_due(engine, config, T0 + timedelta(hours=2))
    (hook,) = webhook.receiver.requests
    body = hook.body
    assert body["hearings"] == 1 and body["measures"] == 0 and body["status_changes"] == 0
    (city,) = body["cities"]
    (hearing,) = city["hearings"]
    assert hearing["kind"] == "scheduled" and hearing["bill_id"] == bill_id
    assert hearing["text"] == "Public Safety Committee, Thu 12 Nov 10:00 — on the agenda"
    assert hearing["at"] == "2026-11-12T10:00:00-08:00"  # the meeting's own zone, with its offset
    assert hearing["agenda_url"] == AGENDA and hearing["comment_instructions"] == COMMENT
    (coming,) = body["coming_up"]
    assert coming["bill_id"] == bill_id and coming["at"] == "2026-11-12T10:00:00-08:00"


XSS = "<script>alert(1)</script>"


def test_hostile_meeting_text_is_escaped_everywhere(engine, db_url, smtp, webhook):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        mail_id = h.subscribe(s, config, "mail@example.org", starts_at=T0, timezone=LA).id
        h.subscribe(s, config, "slack@example.org", starts_at=T0, timezone=LA, email_enabled=False,
                    webhook_url=webhook.url, webhook_format="slack")  # fmt: skip
        bill_id = _tracked_bill(s).id
    with session_scope(engine) as s:
        f.store_meetings(
            s,
            [
                f.normalized_meeting(
                    "E9",
                    HEARING,
                    [s.get(Bill, bill_id)],
                    body=f"Committee {XSS} & <b>friends</b>",
                    location=f"Room {XSS}",
                    comment_instructions=f"Write to <a href='https://evil.example'>us</a> {XSS}",
                    agenda_url="javascript:alert(2)",
                )
            ],
            observed_at=T0 + timedelta(hours=1),
        )
    send_due(engine, config, T0 + timedelta(hours=2))
    (msg,) = smtp.messages
    html = _html(msg)
    assert "<script>" not in html and "<b>friends" not in html and "<a href='https://evil" not in html
    assert "Committee &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;friends&lt;/b&gt;" in html
    assert "javascript:" not in html  # a link that is not http(s) is dropped
    assert f"Committee {XSS}" in _text(msg)  # plain text is not HTML: shown as it is
    (hook,) = webhook.receiver.requests
    slack = hook.body["text"]
    assert "<script>" not in slack and "<b>" not in slack and "javascript:" not in slack
    assert "Committee &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;friends&lt;/b&gt;" in slack
    with session_scope(engine) as s:
        feed = feed_for(s, s.get(Subscription, mail_id), config)
    assert b"<script>" not in feed and b"javascript:" not in feed
    entry = ET.fromstring(feed).find("{http://www.w3.org/2005/Atom}entry")
    content = entry.find("{http://www.w3.org/2005/Atom}content").text
    assert "&lt;script&gt;" in content and "<script>" not in content


# -- end to end: real crawls of the demo portal -----------------------------------------------------------


def test_demo_portal_hearings_scheduled_moved_and_cancelled_are_each_announced_once(tmp_path, smtp):
    """Crawls of the demo Legistar portal (the `tracker` command in a child process); between two crawls the
    clerk moves one meeting with a sanctuary measure on its agenda and cancels another; then two weeks pass
    and new agendas come out."""
    from zoneinfo import ZoneInfo

    from db.engine import make_engine, upgrade
    from db.models_meetings import Meeting, MeetingItem
    from db.models_review import BillMatch
    from tests.clock import utc_now
    from tests.conftest import run_tracker
    from tests.portal import portal_config
    from tracker.config import load_config
    from tracker.demo import LegistarPortalServer, demo_portal

    url = f"sqlite:///{tmp_path}/tracker.db"
    engine = make_engine(url)
    upgrade(engine)
    portal = demo_portal(now=utc_now(seconds=False))
    with LegistarPortalServer(portal) as server:
        cfg = portal_config(tmp_path / "t.toml", server, portal, url, clients=["riverton"])
        with cfg.open("a") as out:
            out.write(
                f'\n[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\n'
                'from_address = "tracker@example.org"\nstarttls = false\n'
            )
        config = load_config(cfg)
        first = run_tracker("--config", str(cfg), "crawl")
        assert first.returncode == 0, first.stderr
        subscribed = utc_now(seconds=False)

        def upcoming_with_measures(s) -> list[tuple[Meeting, Bill]]:
            rows = s.execute(
                select(Meeting, Bill)
                .join(MeetingItem, MeetingItem.meeting_id == Meeting.id)
                .join(Bill, MeetingItem.bill_id == Bill.id)
                .join(BillMatch, BillMatch.bill_id == Bill.id)
                .where(
                    Meeting.state == "scheduled",
                    Meeting.starts_at > subscribed + timedelta(days=2),
                    MeetingItem.removed_at.is_(None),
                    BillMatch.effective_relevant,
                )
                .order_by(Meeting.starts_at, Meeting.id, Bill.id)
            ).all()
            seen: dict[int, tuple[Meeting, Bill]] = {}
            for meeting, bill in rows:
                seen.setdefault(meeting.id, (meeting, bill))
            return list(seen.values())

        with session_scope(engine) as s:
            h.subscribe(s, config, "all@example.org", starts_at=subscribed, timezone=LA,
                        include_uncertain=True)  # fmt: skip
            (to_move, moved_bill), (to_cancel, cancelled_bill) = upcoming_with_measures(s)[:2]
            zone = ZoneInfo(to_move.time_zone)
            old_local = to_move.starts_at.astimezone(zone)
            new_local = old_local + timedelta(days=1, hours=1)
            moved_id, cancelled_id = int(to_move.source_id), int(to_cancel.source_id)
            moved_bill_id, cancelled_bill_id = moved_bill.id, cancelled_bill.id
            moved_identifier, cancelled_identifier = moved_bill.identifier, cancelled_bill.identifier
            body = to_move.body_name
            cancelled_local = to_cancel.starts_at.astimezone(ZoneInfo(LA))
        portal.client("riverton").move_event(moved_id, new_local.replace(tzinfo=None))
        portal.client("riverton").cancel_event(cancelled_id)
        second = run_tracker("--config", str(cfg), "crawl")
        assert second.returncode == 0, second.stderr
        report = send_due(engine, config, utc_now(seconds=False))
        assert len(report.sent) == 1, report.lines()
        text = _text(smtp.messages[0])

        def when(local) -> str:
            local = local.astimezone(ZoneInfo(LA))
            return f"{local.strftime('%a')} {local.day} {local.strftime('%b')} {local.strftime('%H:%M')}"

        moved_line = f"{body} — moved from {when(old_local)} to {when(new_local)}"
        assert moved_line in text
        # under the moved measure's own entry
        assert re.search(rf"\* {re.escape(moved_identifier)}: [^\n]*\n  {re.escape(moved_line)}\n", text)
        cancelled_line = f", {when(cancelled_local)} — cancelled"
        assert re.search(
            rf"\* {re.escape(cancelled_identifier)}: [^\n]*\n  [^\n]*{re.escape(cancelled_line)}\n", text
        )
        # nothing twice
        assert send_due(engine, config, utc_now(seconds=False) + timedelta(minutes=5)).recorded == []

        # two weeks later: the clerk publishes new agendas; only what is new is announced
        portal.advance(days=14)
        third = run_tracker("--config", str(cfg), "crawl")
        assert third.returncode == 0, third.stderr
        send_due(engine, config, utc_now(seconds=False) + timedelta(minutes=10))
        later = "\n".join(_text(m) for m in smtp.messages[1:])
        assert moved_line not in later and cancelled_line not in later

        with session_scope(engine) as s:
            expected = set(
                s.scalars(
                    select(HearingChange.id)
                    .join(BillMatch, BillMatch.bill_id == HearingChange.bill_id)
                    .where(HearingChange.observed_at >= subscribed, BillMatch.effective_relevant)
                )
            )
            announced = s.execute(
                select(DigestItem.ref_id, func.count())
                .where(DigestItem.kind == "hearing")
                .group_by(DigestItem.ref_id)
            ).all()
            assert {ref for ref, _ in announced} == expected
            assert all(n == 1 for _, n in announced)
            kinds = {
                (c.kind, c.bill_id)
                for c in s.scalars(select(HearingChange).where(HearingChange.id.in_(expected)))
            }
            assert ("moved", moved_bill_id) in kinds and ("cancelled", cancelled_bill_id) in kinds
            assert any(kind == "scheduled" for kind, _ in kinds)
    engine.dispose()


def test_a_preview_is_read_at_its_digest_time(engine, db_url):
    """``digest preview`` (and the demo's digest) showed the next daily digest, dated tomorrow, with a
    meeting of this afternoon under "Coming up": a digest sent tomorrow morning would not list it. The preview
    reads what is known now as the digest's time would: a meeting that will have started is not coming up."""
    from tracker.digests.outbox import preview

    config = h.make_config(db_url)
    now = T0  # Mon 2 Nov 12:00 UTC: today's 08:00 UTC digest is past, tomorrow's is next
    with session_scope(engine) as s:
        sub = h.subscribe(s, config, starts_at=now, frequency="daily", at_time="08:00", timezone="UTC")
        b = _tracked_bill(s)
        f.hearing(s, [b], now + timedelta(hours=4), observed_at=now - timedelta(days=1), source_id="TODAY")
        f.hearing(s, [b], now + timedelta(days=2), observed_at=now - timedelta(days=1), source_id="LATER")
        slot, content = preview(s, sub, config, now)
        assert slot.period == "2026-11-03"
        shown = " ".join(str(c) for c in content.coming_up)
        assert "Wed 4 Nov" in shown and "Mon 2 Nov" not in shown, shown
