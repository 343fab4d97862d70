"""Near misses go to people (issue 12, point 6): a bill the learned layer decided just below the boundary
that applied (a rules match it overruled with a probability under 0.2 but over 0.05, a bill the rules
missed with one from 0.45 to 0.6) enters the editors' queue as a pending, uncertain *near miss*: it is not
on the list (exports, API, digests) until an editor confirms it, and confirming it without naming
categories adds it as the learned layer would have listed it. Before, such a bill was in no queue at all:
one editor's rejection could make the model overrule a rules match nobody would ever see again.

The model here is the shipped one with its relevance weights replaced by a constant probability (a real
model file, stored as ``tracker match --train`` stores one), so each case sits exactly where it should."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select, update

from db.engine import session_scope
from db.models_matcher import MatcherModel
from db.models_review import BillMatch
from tests.conftest import run_tracker, write_config
from tests.factories import DETAINERS, PARKING, add_bills
from tracker.matcher.apply import match_stored
from tracker.matcher.learned import Linear, load_shipped_model
from tracker.review import confirm, list_reviews

# A title a hard negative vetoes (TAXONOMY.md: heritage and ceremonial proclamations)
HERITAGE = (
    "Proclamation declaring September 15 through October 15 as Hispanic Heritage Month and celebrating "
    "immigrant communities"
)


@pytest.fixture(autouse=True)
def _learned_layer(monkeypatch):
    monkeypatch.delenv("TRACKER_MATCHER", raising=False)


def store_flat_model(engine, p: float) -> None:
    """Make a model that gives every bill the relevance probability ``p`` the active one."""
    model = load_shipped_model()
    rel = model.relevance
    model.relevance = Linear(
        np.zeros_like(rel.coef), np.full_like(rel.intercept, math.log(p / (1 - p))), rel.classes
    )
    version = f"flat-{p}"
    model.meta = {**model.meta, "version": version, "hash": hashlib.sha256(version.encode()).hexdigest()}
    data = model.to_bytes()
    with session_scope(engine) as s:
        s.execute(update(MatcherModel).values(active=False))
        s.add(MatcherModel(version=version, embedder=model.meta["embedder"], training_hash="0" * 64,
                           model_hash=hashlib.sha256(data).hexdigest(), examples=len(model.examples),
                           decisions=0, evaluation={}, data=data, active=True,
                           trained_at=datetime.now(UTC), trained_by="test"))  # fmt: skip


def rows(engine) -> dict[int, tuple]:
    with session_scope(engine) as s:
        found = s.execute(
            select(BillMatch.bill_id, BillMatch.review_state, BillMatch.relevant, BillMatch.uncertain,
                   BillMatch.effective_relevant, BillMatch.learned)
        ).all()  # fmt: skip
    # SQL's effective_relevant is NULL (not listed) for a bill outside review: read as a bool
    return {r[0]: (r[1], r[2], r[3], bool(r[4]), r[5]) for r in found}


def test_an_overruled_rules_match_and_a_bill_just_below_the_threshold_wait_in_the_queue(db_url, engine):
    store_flat_model(engine, 0.15)  # overrules every rules match, uncertainly
    ids = add_bills(engine, {"D1": DETAINERS, "P1": PARKING, "H1": HERITAGE})
    found = rows(engine)
    state, relevant, uncertain, listed, learned = found[ids["D1"]]
    assert (state, relevant, uncertain, listed) == ("pending", False, True, False)
    assert "overruled" in learned
    assert learned["suggested"]["categories"][0] == "detainers_warrants"
    assert learned["suggested"]["direction"] == "expands" and learned["suggested"]["reason"]
    assert found[ids["P1"]][:4] == (None, False, False, False)  # 0.15 is far from the rules-less 0.6

    store_flat_model(engine, 0.5)  # just below 0.6 for bills the rules miss
    match_stored(engine, rescore=True)
    found = rows(engine)
    assert found[ids["D1"]][:4] == ("pending", True, False, True)  # 0.5 keeps a rules match, surely
    state, relevant, uncertain, listed, learned = found[ids["P1"]]
    assert (state, relevant, uncertain, listed) == ("pending", False, True, False)
    assert learned["suggested"]["categories"]
    # a hard negative's veto (a heritage proclamation) is never uncertain, never in the queue
    assert found[ids["H1"]][:4] == (None, False, False, False)

    store_flat_model(engine, 0.02)  # far below: the near miss leaves the queue again
    match_stored(engine, rescore=True)
    found = rows(engine)
    assert found[ids["P1"]][:4] == (None, False, False, False)
    assert found[ids["D1"]][:4] == (None, False, False, False)  # overruled surely: the model's call


def test_confirming_a_near_miss_adds_it_as_suggested_and_lists_it_only_then(tmp_path, db_url, engine):
    store_flat_model(engine, 0.15)
    ids = add_bills(engine, {"D1": DETAINERS})
    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)

    matched = run_tracker("--config", str(cfg), "match", "--rescore")
    assert matched.returncode == 0, matched.stderr
    assert "Review queue: 1 pending (1 of them near misses, not on the list), 0 flagged" in matched.stdout
    listed = run_tracker("--config", str(cfg), "review", "list", "--state", "pending")
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("riverton:D1"))
    assert "pending" in line and "uncertain" in line and "? detainers_warrants" in line and "expands?" in line
    assert "1 near miss: not on the list" in listed.stdout
    shown = run_tracker("--config", str(cfg), "review", "show", "riverton:D1")
    assert "Near miss:  not on the list; confirming adds it as detainers_warrants" in shown.stdout
    exported = run_tracker("--config", str(cfg), "export", "--format", "csv", "--relevant")
    assert exported.returncode == 0, exported.stderr
    assert "D1" not in exported.stdout  # not on the list while pending

    with session_scope(engine) as s:
        decision = confirm(s, "riverton:D1", by="ana")
    assert decision.categories[0] == "detainers_warrants" and decision.direction == "expands"
    state, relevant, _uncertain, listed_now, _learned = rows(engine)[ids["D1"]]
    assert (state, relevant, listed_now) == ("confirmed", False, True)  # the editor's word puts it on
    exported = run_tracker("--config", str(cfg), "export", "--format", "csv", "--relevant")
    assert "D1" in exported.stdout
    with session_scope(engine) as s:
        (record,) = list_reviews(s, states=["confirmed"])
    assert record["categories"][0] == "detainers_warrants"
    shown = run_tracker("--config", str(cfg), "review", "show", "riverton:D1")
    assert "Near miss:" not in shown.stdout


def test_the_queue_filters_find_near_misses_and_a_bill_tracked_by_hand_is_not_one(tmp_path, db_url, engine):
    """`review list --category/--direction` read a near miss's suggestion (they read the empty machine
    categories and hid every near miss); a bill tracked by hand (pending, not relevant, not uncertain) is
    plain pending, not labelled a near miss."""
    store_flat_model(engine, 0.15)
    ids = add_bills(engine, {"D1": DETAINERS, "D2": DETAINERS + " (second reading)", "P1": PARKING})
    with session_scope(engine) as s:  # what `tracker track` leaves: in the queue, not relevant, certain
        s.execute(update(BillMatch).where(BillMatch.bill_id == ids["P1"]).values(review_state="pending"))
    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)

    def listed(*args: str) -> list[str]:
        done = run_tracker("--config", str(cfg), "review", "list", "--state", "pending", *args)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    lines = listed("--category", "detainers_warrants")
    assert sorted(x.split()[0] for x in lines[1:-1]) == ["riverton:D1", "riverton:D2"]
    assert "2 near misses: not on the list" in lines[-1]
    assert [x.split()[0] for x in listed("--direction", "expands")[1:-1]] == ["riverton:D1", "riverton:D2"]
    assert listed("--direction", "restricts") == ["No bills to show."]
    tracked = next(x for x in listed() if x.startswith("riverton:P1"))
    assert "?" not in tracked and "uncertain" not in tracked
    records = run_tracker("--config", str(cfg), "review", "list", "--format", "jsonl").stdout.splitlines()
    near = {r["bill"]: r["near_miss"] for r in map(json.loads, records)}
    assert near == {"riverton:D1": True, "riverton:D2": True, "riverton:P1": False}
