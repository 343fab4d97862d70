"""Saved searches and followed bills: a subscription of words (new bills containing them, matched to
sanctuary or not, and their status changes) and a subscription of one bill (its status changes only)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from db.engine import make_engine, session_scope, upgrade
from db.models import Action
from db.models_digest import Subscription
from tests import factories as f
from tests.conftest import run_tracker
from tests.digests import helpers as h
from tracker.digests.content import build_content

T0 = f.T0


def _titles(content, key: str) -> set[str]:
    items = [m for c in content.cities for m in c[key]]
    if key == "status_changes":
        items += content.attention
    return {m["title"] for m in items}


def test_a_saved_search_gets_new_bills_with_its_words_matched_or_not_and_their_changes(engine, db_url):
    config = h.make_config(db_url)
    t = T0 + timedelta(hours=1)
    with session_scope(engine) as s:
        sub = h.subscribe(s, config, starts_at=T0, search_text="flock  cameras", confirmed_only=True)
        # not sanctuary-matched at all, words in the title: in
        flock = f.bill(s, title="Contract with Flock Safety for license plate cameras", first_seen=t)
        # one word in the title, the other in an action's text: in (the web search's matching)
        other = f.bill(s, title="Flock Safety agreement", first_seen=t)
        s.add(
            Action(
                bill_id=other.id, source_id="a1", sequence=1, text="Adds ten cameras downtown",
                description="Adds ten cameras downtown", classification="other", raw={},
            )
        )  # fmt: skip
        # matched, but without the words: out
        f.match(s, f.bill(s, title="Ordinance limiting cooperation with ICE detainers", first_seen=t))
        # only one of the words: out
        f.bill(s, title="Flock of geese management plan", first_seen=t)
        # the words, but seen before the subscription: not new, only its status change is announced
        old = f.bill(s, title="Flock cameras pilot", first_seen=T0 - timedelta(days=2))
        f.change(s, old, new_status="Passed", new_stage="passed", observed_at=t)
        f.change(s, flock, new_status="Referred", new_stage="in_committee", observed_at=t)
        content = build_content(s, sub, T0 + timedelta(hours=2))
        assert _titles(content, "measures") == {
            "Contract with Flock Safety for license plate cameras",
            "Flock Safety agreement",
        }
        # the new bill's own change is covered by its announcement; the old bill's change is listed
        assert _titles(content, "status_changes") == {"Flock cameras pilot"}
        assert len(content.change_ids) == 2
        item = next(m for c in content.cities for m in c["measures"] if m["bill_id"] == flock.id)
        assert item["matched"] is False and item["review_label"] == "not matched to sanctuary"


def test_a_saved_search_keeps_its_city_and_category_filters(engine, db_url):
    config = h.make_config(db_url)
    t = T0 + timedelta(hours=1)
    with session_scope(engine) as s:
        sub = h.subscribe(
            s, config, starts_at=T0, search_text="flock", jurisdictions=["riverton"],
            categories=["federal_enforcement_partnerships"],
        )  # fmt: skip
        f.match(
            s, f.bill(s, title="Flock data sharing with ICE", first_seen=t),
            categories=("federal_enforcement_partnerships",), direction="restricts",
        )  # fmt: skip
        f.bill(s, title="Flock cameras, no match", first_seen=t)
        f.match(
            s, f.bill(s, "portalder", title="Flock data sharing elsewhere", first_seen=t),
            categories=("federal_enforcement_partnerships",),
        )  # fmt: skip
        assert _titles(build_content(s, sub, T0 + timedelta(hours=2)), "measures") == {
            "Flock data sharing with ICE"
        }


def test_a_followed_bill_gets_its_status_changes_only(engine, db_url):
    config = h.make_config(db_url)
    t = T0 + timedelta(hours=1)
    with session_scope(engine) as s:
        followed = f.bill(s, title="Parking meter rates", first_seen=T0 - timedelta(days=3))
        sub = h.subscribe(s, config, starts_at=T0, bill_id=followed.id, jurisdictions=["portalder"])
        assert sub.status_changes is True
        other = f.bill(s, title="Ordinance limiting cooperation with ICE detainers", first_seen=t)
        f.match(s, other)
        f.change(s, other, new_status="Passed", new_stage="passed", observed_at=t)
        f.bill(s, title="Another new bill", first_seen=t)
        change = f.change(s, followed, new_status="Referred", new_stage="in_committee", observed_at=t)
        content = build_content(s, sub, T0 + timedelta(hours=2))
        assert content.measure_ids == []
        assert content.change_ids == [change.id]
        assert _titles(content, "status_changes") == {"Parking meter rates"}


def test_subscriptions_add_with_search_and_bill(tmp_path):
    url = f"sqlite:///{tmp_path}/tracker.db"
    engine = make_engine(url)
    upgrade(engine)
    config = h.make_config(url)
    cfg = str(h.write_toml(tmp_path / "t.toml", config))
    with session_scope(engine) as s:
        b = f.bill(s, title="Parking meter rates", identifier="O2026-0099")
        bill_id = b.id

    def tracker(*args):
        return run_tracker("--config", cfg, *args)

    r = tracker("subscriptions", "add", "ana@example.org", "--search", "Flock   cameras", "--frequency",
                "immediate")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "bills containing “Flock cameras”, matched or not" in r.stdout
    r = tracker("subscriptions", "add", "ana@example.org", "--bill", "riverton:O2026-0099")
    assert r.returncode == 0, r.stderr
    assert f"follows bill {bill_id}" in r.stdout
    r = tracker("subscriptions", "add", "ana@example.org", "--bill", "riverton:NOPE")
    assert r.returncode != 0 and r.stderr == "Error: no bill 'NOPE' in riverton\n"
    r = tracker("subscriptions", "add", "ana@example.org", "--bill", "1", "--search", "x")
    assert r.returncode == 2 and "--bill excludes --search" in r.stderr
    r = tracker("subscriptions", "add", "ana@example.org", "--search", "   ")
    assert r.returncode == 2 and r.stderr == "Error: the search has no words\n"
    r = tracker("subscriptions", "list", "--format", "jsonl")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(row["search"], row["bill_id"]) for row in rows] == [("Flock cameras", None), (None, bill_id)]
    first = rows[0]["id"]
    r = tracker("subscriptions", "edit", str(first), "--search", "license plate")
    assert r.returncode == 0, r.stderr
    r = tracker("subscriptions", "edit", str(first), "--no-search")
    assert r.returncode == 0, r.stderr
    with session_scope(engine) as s:
        subs = list(s.scalars(select(Subscription).order_by(Subscription.id)))
        assert [(x.search_text, x.bill_id) for x in subs] == [(None, None), (None, bill_id)]
    engine.dispose()


def test_a_saved_search_plans_its_words_as_the_web_search_does(engine, db_url):
    """A saved search's words get the planner setting of /search (tracker.read_model.plan_text_search) for
    the digest's transaction on PostgreSQL; the relevant-measures subscription does not need it."""
    from sqlalchemy import text

    from tracker.digests.content import subscription_scope
    from tracker.read_model import TEXT_SEARCH_RANDOM_PAGE_COST

    config = h.make_config(db_url)
    with session_scope(engine) as s:
        words = h.subscribe(s, config, starts_at=T0, search_text="ordinance")
        plain = h.subscribe(s, config, starts_at=T0, email="other@example.org")
    postgres = engine.dialect.name == "postgresql"
    with session_scope(engine) as s:
        subscription_scope(s, s.get(Subscription, plain.id))
        if postgres:
            assert float(s.scalar(text("SHOW random_page_cost"))) != TEXT_SEARCH_RANDOM_PAGE_COST
        subscription_scope(s, s.get(Subscription, words.id))
        if postgres:
            assert float(s.scalar(text("SHOW random_page_cost"))) == TEXT_SEARCH_RANDOM_PAGE_COST
