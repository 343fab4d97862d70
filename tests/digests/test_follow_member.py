"""Following a council member: a subscription that gets the member's new sponsorships of sanctuary measures
and their votes on them (each once), nothing else; `tracker subscriptions add --member` with a clear error
for a member nobody knows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from db.engine import make_engine, session_scope, upgrade
from db.models import Bill, Sponsor
from db.models_digest import DigestItem, Subscription
from db.models_meetings import Member
from tests import factories as f
from tests.conftest import run_tracker
from tests.digests import helpers as h
from tracker.contract import NormalizedMember
from tracker.digests.ical import subscription_calendar
from tracker.digests.links import Links
from tracker.digests.outbox import send_due
from tracker.meetings import MeetingImporter

T0 = f.T0
LA = "America/Los_Angeles"


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _sponsor(s, bill: Bill, *names: str) -> None:
    for n, name in enumerate(names, start=1):
        s.add(Sponsor(bill_id=bill.id, sequence=n, name=name, is_primary=n == 1))
    s.flush()


def _member(s, name: str, slug: str = "riverton") -> Member:
    importer = MeetingImporter(s, f.jurisdiction(s, slug), None, T0 - timedelta(days=60))
    importer.store_members([NormalizedMember(name=name, source_id=None, terms=[])])
    s.flush()
    return s.scalar(
        select(Member).where(Member.name == name, Member.jurisdiction_id == f.jurisdiction(s, slug).id)
    )


def _vote(engine, bill_ids, held_at, observed_at, source_id, roll, result="Passed"):
    with session_scope(engine) as s:
        bills = [s.get(Bill, i) for i in bill_ids]
        meeting = f.normalized_meeting(
            source_id,
            held_at,
            bills,
            votes={b.source_id: roll for b in bills},
            result=result,
            body="City Council",
        )
        f.store_meetings(s, [meeting], observed_at=observed_at)


def test_a_member_subscription_gets_their_sponsorships_and_votes_once(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        jane = _member(s, "Jane Doe")
        sub_id = h.subscribe(s, config, starts_at=T0, timezone=LA, member_id=jane.id).id
        everything = h.subscribe(s, config, "all@example.org", starts_at=T0, timezone=LA).id
        new = T0 + timedelta(hours=1)
        ours = f.bill(s, title="Ordinance limiting civil immigration detainers", first_seen=new)
        f.match(s, ours)
        _sponsor(s, ours, "Jane  Doe.", "John Roe")  # the same name in another spelling
        theirs = f.bill(s, title="Resolution affirming sanctuary city status", first_seen=new)
        f.match(s, theirs)
        _sponsor(s, theirs, "John Roe")
        noise = f.bill(s, title="Ice rink renovation contract", first_seen=new)
        f.match(s, noise, relevant=False, categories=(), direction=None, review_state=None)
        _sponsor(s, noise, "Jane Doe")
        old = f.bill(s, title="Ordinance creating a municipal ID", first_seen=T0 - timedelta(days=30))
        f.match(s, old, categories=("municipal_id_services",))
        _sponsor(s, old, "Jane Doe")
        ids = {"ours": ours.id, "theirs": theirs.id, "noise": noise.id, "old": old.id}
        identifiers = {k: s.get(Bill, v).identifier for k, v in ids.items()}
    roll = [("Jane Doe", "no"), ("John Roe", "yes"), ("Ann Poe", "yes")]
    # a meeting held before the subscription, recorded before it: not announced
    _vote(engine, [ids["old"]], T0 - timedelta(days=3), T0 - timedelta(days=2), "E0", roll)
    # a meeting held yesterday, its minutes read inside the window: the old measure and the noise voted on
    _vote(engine, [ids["old"], ids["noise"]], T0 - timedelta(hours=20), T0 + timedelta(hours=2), "E1", roll)

    send_due(engine, config, T0 + timedelta(hours=3))
    mine = [m for m in smtp.messages if m["To"] == "staff@example.org"]
    assert len(mine) == 1
    (msg,) = mine
    assert msg["Subject"].strip().startswith("Sanctuary Tracker: 1 new sponsorship, 1 vote (")
    text = _text(msg)
    assert text.count("Jane Doe: 1 new sponsorship and 1 vote in Riverton City Council.") == 1
    assert "New sponsorships of Jane Doe (1):" in text
    assert (
        f"* [NOT YET REVIEWED] {identifiers['ours']}: Ordinance limiting civil immigration detainers" in text
    )
    assert "Sponsors: Jane  Doe., John Roe" in text
    assert "Votes (1):" in text
    assert f"* {identifiers['old']}: Ordinance creating a municipal ID" in text
    assert "Jane Doe voted no: City Council, Sun 1 Nov 08:00 — Vote, Passed" in text
    assert "Tally: 2 yes, 1 no" in text
    # sanctuary measures only; nothing of the general digest (John Roe's resolution)
    assert "Ice rink" not in text and "Resolution affirming" not in text
    everyone = _text(next(m for m in smtp.messages if m["To"] == "all@example.org"))
    assert "Resolution affirming" in everyone and "voted" not in everyone

    # nothing twice
    report = send_due(engine, config, T0 + timedelta(hours=3, minutes=5))
    assert report.recorded == [], report.lines()

    # a later vote on their own measure: announced once
    _vote(engine, [ids["ours"]], T0 + timedelta(days=1), T0 + timedelta(days=1, hours=4), "E2",
          [("JANE DOE", "yes"), ("John Roe", "yes")])  # fmt: skip
    send_due(engine, config, T0 + timedelta(days=1, hours=5))
    later = [m for m in smtp.messages if m["To"] == "staff@example.org"][1:]
    assert len(later) == 1
    second = _text(later[0])
    assert f"* {identifiers['ours']}: Ordinance limiting civil immigration detainers" in second
    assert "Jane Doe voted yes: City Council, Tue 3 Nov 04:00 — Vote, Passed" in second
    assert "New sponsorships" not in second
    assert send_due(engine, config, T0 + timedelta(days=1, hours=5, minutes=5)).recorded == []
    with session_scope(engine) as s:
        items = sorted(
            (kind, ref)
            for kind, ref in s.execute(
                select(DigestItem.kind, DigestItem.ref_id).where(DigestItem.subscription_id == sub_id)
            )
        )
        assert [k for k, _ in items] == ["measure", "vote", "vote"]
        assert ("measure", ids["ours"]) in items
        assert not s.scalars(
            select(DigestItem).where(DigestItem.subscription_id == everything, DigestItem.kind == "vote")
        ).all()


def test_a_member_subscription_follows_its_filters_and_hearings(engine, db_url, smtp):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        jane = _member(s, "Jane Doe")
        sub = h.subscribe(s, config, starts_at=T0, timezone=LA, member_id=jane.id, direction="restricts")
        sub_id = sub.id
        expands = f.bill(
            s, title="Ordinance limiting civil immigration detainers", first_seen=T0 + timedelta(hours=1)
        )
        f.match(s, expands, direction="expands")
        _sponsor(s, expands, "Jane Doe")
        restricts = f.bill(
            s, title="Resolution approving a 287(g) agreement", first_seen=T0 + timedelta(hours=1)
        )
        f.match(s, restricts, categories=("federal_enforcement_partnerships",), direction="restricts")
        _sponsor(s, restricts, "Jane Doe")
        bills = [s.get(Bill, expands.id), s.get(Bill, restricts.id)]
        # both are on an upcoming agenda
        f.store_meetings(s, [f.normalized_meeting("E5", T0 + timedelta(days=8), bills)], observed_at=T0)
        restricts_identifier = restricts.identifier
    send_due(engine, config, T0 + timedelta(hours=2))
    (msg,) = smtp.messages
    text = _text(msg)
    assert "Resolution approving a 287(g) agreement" in text
    assert "Ordinance limiting" not in text  # another direction than the subscription's
    coming = text[text.index("Coming up (1;") :]
    assert (
        f"* {restricts_identifier} (Riverton City Council): Resolution approving a 287(g) agreement" in coming
    )
    with session_scope(engine) as s:
        data = subscription_calendar(s, s.get(Subscription, sub_id), T0, Links(None, None)).decode()
    assert data.count("BEGIN:VEVENT") == 1 and "287(g)" in data


@pytest.fixture
def cli(tmp_path, smtp):
    url = f"sqlite:///{tmp_path}/tracker.db"
    engine = make_engine(url)
    upgrade(engine)
    config = h.make_config(url, smtp.port)
    cfg = h.write_toml(tmp_path / "t.toml", config)
    yield engine, str(cfg)
    engine.dispose()


def test_subscriptions_add_member_by_name_or_id_and_clear_errors(cli):
    engine, cfg = cli
    with session_scope(engine) as s:
        jane = _member(s, "Jane Doe")
        _member(s, "Sam Lee", "riverton")
        _member(s, "Sam Lee", "portalder")
        jane_id = jane.id

    r = run_tracker("--config", cfg, "subscriptions", "add", "ana@example.org", "--member", "jane doe")
    assert r.returncode == 0, r.stderr
    assert (
        "follows Jane Doe: new sponsorships of sanctuary measures (confirmed by an editor) and votes on them"
        in r.stdout
    )
    r = run_tracker("--config", cfg, "subscriptions", "add", "bo@example.org", "--member", str(jane_id))
    assert r.returncode == 0, r.stderr
    r = run_tracker(
        "--config", cfg, "subscriptions", "add", "cy@example.org", "--member", "portalder:Sam Lee"
    )
    assert r.returncode == 0, r.stderr
    with session_scope(engine) as s:
        subs = s.scalars(select(Subscription).order_by(Subscription.id)).all()
        assert [x.member_id for x in subs][:2] == [jane_id, jane_id]
        assert s.get(Member, subs[2].member_id).jurisdiction.slug == "portalder"

    r = run_tracker("--config", cfg, "subscriptions", "list")
    assert r.returncode == 0 and "follows Jane Doe" in r.stdout

    for ref, message in [
        ("Nobody Atall", "Error: no council member named 'Nobody Atall'"),
        ("999999", "Error: no council member with id 999999"),
        ("Sam Lee", "Error: 'Sam Lee' names 2 council members: portalder:Sam Lee (id"),
    ]:
        r = run_tracker("--config", cfg, "subscriptions", "add", "dee@example.org", "--member", ref)
        assert r.returncode != 0
        assert r.stderr.startswith(message), r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run_tracker("--config", cfg, "subscriptions", "add", "dee@example.org", "--member", "Jane Doe",
                    "--search", "detainer")  # fmt: skip
    assert r.returncode == 2 and "--member excludes --bill and --search" in r.stderr
    with session_scope(engine) as s:
        assert len(s.scalars(select(Subscription)).all()) == 3
