"""Digest content: what is in it, grouped by city, filtered per subscription, and never twice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models_digest import Digest, DigestItem
from tests import factories as f
from tests.digests import helpers as h
from tracker.digests.content import build_content
from tracker.digests.outbox import send_due

T0 = f.T0


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_digest_groups_new_measures_and_status_changes_by_city(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        h.subscribe(s, config, starts_at=T0)
        a = f.bill(
            s,
            "riverton",
            title="Ordinance limiting civil immigration detainers",
            first_seen=T0 + timedelta(hours=1),
        )
        f.match(s, a, categories=("detainers_warrants",), direction="expands")
        b = f.bill(
            s,
            "portalder",
            title="Resolution approving a 287(g) agreement",
            first_seen=T0 + timedelta(hours=1),
            url="https://portalder.legistar.com/LegislationDetail.aspx?ID=7",
        )
        f.match(s, b, categories=("federal_enforcement_partnerships",), direction="restricts")
        old = f.bill(
            s, "riverton", title="Ordinance creating a municipal ID", first_seen=T0 - timedelta(days=30)
        )
        f.match(s, old, categories=("municipal_id_services",))
        f.change(
            s,
            old,
            new_status="Referred to Committee",
            new_stage="in_committee",
            observed_at=T0 + timedelta(hours=2),
        )
        noise = f.bill(
            s, "riverton", title="Ice rink renovation contract", first_seen=T0 + timedelta(hours=1)
        )
        f.match(s, noise, relevant=False, categories=(), direction=None, review_state=None)
        f.change(s, noise, new_status="Adopted", new_stage="passed", observed_at=T0 + timedelta(hours=2))
        ids = (a.identifier, b.identifier, old.identifier, noise.identifier)

    report = send_due(engine, config, T0 + timedelta(hours=3))
    assert len(report.recorded) == 1 and len(report.sent) == 1, report.lines()
    (msg,) = smtp.messages
    assert msg["To"] == "staff@example.org"
    assert msg["Subject"].startswith("Sanctuary Tracker: 2 new measures, 1 status change (")
    assert msg.is_multipart() and msg.get_content_type() == "multipart/alternative"
    text, html = _text(msg), _html(msg)
    # grouped by city, cities in alphabetical order
    pa, rv = text.index("Port Alder City Council\n---"), text.index("Riverton City Council\n---")
    assert pa < rv
    port_alder = text[pa:rv]
    assert ids[1] in port_alder and "287(g)" in port_alder
    assert "Federal enforcement partnerships" in port_alder and "restricts sanctuary" in port_alder
    riverton = text[rv:]
    assert f"{ids[0]}: Ordinance limiting civil immigration detainers" in riverton
    assert "Detainers and warrants; expands sanctuary; stage: introduced (Introduced)" in riverton
    assert "Why it matched: “immigration detainers” in the title" in riverton
    assert "https://riverton.legistar.com/LegislationDetail.aspx?ID=1" in riverton
    assert "Status changes (1):" in riverton
    assert "introduced → in committee (Introduced → Referred to Committee)" in riverton
    assert ids[3] not in text and "Ice rink" not in text  # not relevant: neither new measure nor tracked
    assert '<a href="https://portalder.legistar.com/LegislationDetail.aspx?ID=7">' in html
    assert "<h2" in html and "Riverton City Council</h2>" in html


def test_nothing_twice_and_no_digest_when_nothing_is_new(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        sub_id = h.subscribe(s, config, starts_at=T0).id
        a = f.bill(s, title="Detainer ordinance A", first_seen=T0 + timedelta(hours=1))
        f.match(s, a)
        a_id = a.id
    send_due(engine, config, T0 + timedelta(hours=2))
    assert len(smtp.messages) == 1
    # later periods with nothing new: no digest at all
    for minutes in (5, 10, 60, 24 * 60):
        report = send_due(engine, config, T0 + timedelta(hours=2, minutes=minutes))
        assert report.recorded == [] and report.sent == []
    assert len(smtp.messages) == 1
    # something new: only that is sent
    with session_scope(engine) as s:
        a = s.get(type(a), a_id)
        f.change(s, a, new_status="Passed", new_stage="passed", observed_at=T0 + timedelta(days=2))
        b = f.bill(s, title="Detainer ordinance B", first_seen=T0 + timedelta(days=2))
        f.match(s, b)
    send_due(engine, config, T0 + timedelta(days=2, hours=1))
    assert len(smtp.messages) == 2
    second = _text(smtp.messages[1])
    assert "Detainer ordinance B" in second
    assert "New measures (1)" in second and "Status changes (1)" in second
    assert "introduced → passed" in second
    assert second.count("Detainer ordinance A") == 1  # only as the status change
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Digest)) == 2
        items = s.execute(
            select(DigestItem.kind, DigestItem.ref_id).where(DigestItem.subscription_id == sub_id)
        ).all()
        assert len(items) == len(set(items)) == 3


def test_new_means_first_seen_by_the_tracker_not_the_action_date(engine, db_url):
    """A bill seen before the subscription with a future-dated action is not new; one first seen inside the
    window is announced once, however far in the future its dates are."""
    config = h.make_config(db_url)
    future = date(2027, 3, 1)
    with session_scope(engine) as s:
        h.subscribe(s, config, starts_at=T0, email_enabled=False, webhook_url=None)
        old = f.bill(s, title="Old detainer ordinance", first_seen=T0 - timedelta(days=3), introduced=future)
        f.match(s, old)
        new = f.bill(s, title="New detainer ordinance", first_seen=T0 + timedelta(hours=1), introduced=future)
        f.match(s, new)
    for day in range(5):
        send_due(engine, config, T0 + timedelta(days=day, hours=2))
    with session_scope(engine) as s:
        digests = list(s.scalars(select(Digest)))
        assert len(digests) == 1
        titles = [m["title"] for c in digests[0].content["cities"] for m in c["measures"]]
        assert titles == ["New detainer ordinance"]


def test_a_crawl_that_commits_late_is_still_announced(engine, db_url):
    """Events carry their crawl's start time; a crawl that commits after a digest was recorded is not lost
    (no time watermark: what was received is what is excluded)."""
    config = h.make_config(db_url)
    with session_scope(engine) as s:
        h.subscribe(s, config, starts_at=T0, email_enabled=False)
        a = f.bill(s, title="Detainer ordinance", first_seen=T0 - timedelta(days=1))
        f.match(s, a)
        f.change(s, a, new_status="Referred", new_stage="in_committee", observed_at=T0 + timedelta(hours=1))
        a_id = a.id
    send_due(engine, config, T0 + timedelta(hours=2))
    with session_scope(engine) as s:  # observed at 01:30, committed after the 02:00 digest
        f.change(
            s,
            s.get(type(a), a_id),
            new_status="Passed",
            new_stage="passed",
            observed_at=T0 + timedelta(hours=1, minutes=30),
        )
    send_due(engine, config, T0 + timedelta(hours=2, minutes=5))
    with session_scope(engine) as s:
        digests = list(s.scalars(select(Digest).order_by(Digest.id)))
        assert [d.changes for d in digests] == [1, 1]
        assert digests[1].content["cities"][0]["status_changes"][0]["new_status"] == "Passed"


FILTERS = [
    ({}, {"A", "B", "C", "P"}),
    ({"jurisdictions": ["portalder"]}, {"P"}),
    ({"categories": ["federal_enforcement_partnerships"]}, {"B"}),
    ({"categories": ["federal_enforcement_partnerships", "municipal_id_services"]}, {"B", "C"}),
    ({"direction": "restricts"}, {"B"}),
    ({"confirmed_only": True}, {"C"}),
]


@pytest.mark.parametrize(("spec", "expected"), FILTERS)
def test_filters(engine, db_url, spec, expected):
    config = h.make_config(db_url)
    with session_scope(engine) as s:
        sub = h.subscribe(s, config, starts_at=T0, **spec)
        t = T0 + timedelta(hours=1)
        f.match(
            s, f.bill(s, title="A", first_seen=t), categories=("detainers_warrants",), direction="expands"
        )
        f.match(
            s,
            f.bill(s, title="B", first_seen=t),
            categories=("federal_enforcement_partnerships",),
            direction="restricts",
        )
        f.match(
            s,
            f.bill(s, title="C", first_seen=t),
            categories=("municipal_id_services",),
            review_state="confirmed",
            decided_at=t,
        )
        f.match(s, f.bill(s, "portalder", title="P", first_seen=t))
        f.match(s, f.bill(s, title="R", first_seen=t), review_state="rejected", decided_at=t)
        f.match(
            s,
            f.bill(s, title="N", first_seen=t),
            relevant=False,
            categories=(),
            direction=None,
            review_state=None,
        )
        content = build_content(s, sub, T0 + timedelta(hours=2))
        assert {m["title"] for c in content.cities for m in c["measures"]} == expected


def test_status_changes_can_be_left_out(engine, db_url):
    config = h.make_config(db_url)
    with session_scope(engine) as s:
        sub = h.subscribe(s, config, starts_at=T0, status_changes=False)
        old = f.bill(s, title="Old", first_seen=T0 - timedelta(days=1))
        f.match(s, old)
        f.change(s, old, new_status="Passed", new_stage="passed", observed_at=T0 + timedelta(hours=1))
        assert build_content(s, sub, T0 + timedelta(hours=2)).empty
        sub.status_changes = True
        assert build_content(s, sub, T0 + timedelta(hours=2)).changes == 1


def test_confirmed_only_announces_a_measure_when_an_editor_confirms_it(engine, db_url):
    config = h.make_config(db_url)
    with session_scope(engine) as s:
        sub = h.subscribe(s, config, starts_at=T0, confirmed_only=True)
        seen_before = f.bill(s, title="Seen before, confirmed now", first_seen=T0 - timedelta(days=10))
        m = f.match(s, seen_before)
        assert build_content(s, sub, T0 + timedelta(hours=1)).empty  # pending: not for this subscriber
        m.review_state, m.decided_at, m.editor_categories = (
            "confirmed",
            T0 + timedelta(hours=2),
            ["legal_defense"],
        )
        content = build_content(s, sub, T0 + timedelta(hours=3))
        (measure,) = content.cities[0]["measures"]
        assert measure["categories"] == ["legal_defense"]  # the editor's correction wins
        assert measure["review_label"] == "confirmed by an editor"


def test_a_status_change_of_a_bill_announced_in_the_same_digest_is_not_listed_twice(engine, db_url):
    config = h.make_config(db_url)
    with session_scope(engine) as s:
        sub = h.subscribe(s, config, starts_at=T0)
        a = f.bill(s, title="Fast ordinance", first_seen=T0 + timedelta(hours=1))
        f.match(s, a)
        f.change(s, a, new_status="Passed", new_stage="passed", observed_at=T0 + timedelta(hours=2))
        content = build_content(s, sub, T0 + timedelta(hours=3))
        assert content.measures == 1 and content.changes == 0
        assert len(content.change_ids) == 1  # consumed: it will not come later either
        assert content.cities[0]["measures"][0]["stage"] == "passed"


@pytest.mark.parametrize("catch_up", [False, True])
def test_a_pause_leaves_out_what_happened_while_paused_and_nothing_before_it(engine, db_url, catch_up):
    """A resume moved the subscription's start to the resume: news from before the pause that no digest
    had carried yet was lost too (a daily subscription paused at 17:00 lost that day's news). Now only the
    pause is left out; ``--catch-up`` announces everything since the subscription started."""
    from tracker.digests.subscriptions import pause, resume

    config = h.make_config(db_url)
    with session_scope(engine) as s:
        sub = h.subscribe(s, config, starts_at=T0, status_changes=True)
        for title, minutes in (("Before the pause", 30), ("While paused", 150), ("After the resume", 270)):
            b = f.bill(
                s,
                title=f"{title}: ordinance limiting ICE detainers",
                first_seen=T0 + timedelta(minutes=minutes),
            )
            f.match(s, b)
        old = f.bill(s, title="An older ordinance limiting ICE detainers", first_seen=T0 - timedelta(days=1))
        f.match(s, old)
        f.change(s, old, new_status="Passed", new_stage="passed", observed_at=T0 + timedelta(minutes=160))
        pause(s, sub, T0 + timedelta(hours=2))
        resume(s, sub, T0 + timedelta(hours=4), catch_up=catch_up)
        content = build_content(s, sub, T0 + timedelta(hours=5))
        titles = {m["title"].split(":")[0] for c in content.cities for m in c["measures"]}
        if catch_up:
            assert titles == {"Before the pause", "While paused", "After the resume"}
            assert content.changes == 1
        else:
            assert titles == {"Before the pause", "After the resume"}
            assert content.changes == 0  # the status change came while paused
