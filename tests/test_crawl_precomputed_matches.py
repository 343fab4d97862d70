"""A full backfill split over two crawler processes classifies each shard's bills in that shard and hands
the results to the import (tracker.crawl._MatchPrecompute, tracker.matcher.apply.Precomputed): the import
uses them for every bill, and what it stores is what matching the bills itself stores (the match rows and
the stored embeddings, checked against a rescore of every bill), with the learned layer and with the rules
alone, on SQLite and PostgreSQL. The shards' processes and the rescore run with one hash seed: the rules
engine lists a title's cues in an order that follows the process's string hashing (tracker/matcher/engine.py),
which any two processes may differ in, precomputed or not."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Bill
from db.models_matcher import TextEmbedding
from db.models_review import BillMatch
from tests.conftest import run_tracker
from tests.portal import portal_config

CLIENT = "riverton"
FIELDS = (
    "relevant", "score", "categories", "direction", "category_scores", "evidence", "uncertain", "learned",
    "input_hash", "rules_hash", "review_state",
)  # fmt: skip
SEED = {"PYTHONHASHSEED": "0"}


def stored(engine) -> tuple[dict[int, tuple], set[tuple[str, str, bytes]]]:
    with session_scope(engine) as s:
        rows = {m.bill_id: tuple(getattr(m, f) for f in FIELDS) for m in s.scalars(select(BillMatch))}
        vectors = {(e.model, e.text_hash, e.vector) for e in s.scalars(select(TextEmbedding))}
    return rows, vectors


@pytest.mark.parametrize("matcher", ["hybrid", "rules"])
def test_a_split_crawl_hands_its_matches_to_the_import(
    tmp_path, db_url, engine, portal, server, monkeypatch, matcher
):
    if matcher == "hybrid":
        monkeypatch.delenv("TRACKER_MATCHER", raising=False)
    cfg = portal_config(
        tmp_path / "t.toml",
        server,
        portal,
        db_url,
        clients=[CLIENT],
        crawl={"processes": 2, "page_size": 50, "meetings_ahead_days": 0, "meetings_back_days": 0},
    )
    done = run_tracker("-v", "--config", str(cfg), "crawl", "--full", env=SEED)
    assert done.returncode == 0, done.stderr
    with session_scope(engine) as s:
        bills = s.scalar(select(func.count()).select_from(Bill))
    assert bills > 20
    # each shard precomputed its own bills; the import classified none itself
    shards = [int(n) for n in re.findall(r"riverton: (\d+) matches precomputed by this shard", done.stderr)]
    assert len(shards) == 2 and all(shards) and sum(shards) <= bills
    assert f"matched {bills} bills ({bills} classified, {bills} of them precomputed" in done.stderr
    before = stored(engine)
    assert len(before[0]) == bills
    assert (len(before[1]) > 0) == (matcher == "hybrid")

    rescored = run_tracker("--config", str(cfg), "match", "--rescore", env=SEED)
    assert rescored.returncode == 0, rescored.stderr
    assert stored(engine) == before


def test_the_hand_off_can_be_switched_off(tmp_path, db_url, engine, portal, server):
    """TRACKER_PRECOMPUTE_MATCHES=0 (for measuring): the import classifies every bill itself."""
    cfg = portal_config(
        tmp_path / "t.toml",
        server,
        portal,
        db_url,
        clients=[CLIENT],
        crawl={"processes": 2, "page_size": 50, "meetings_ahead_days": 0, "meetings_back_days": 0},
    )
    done = run_tracker("-v", "--config", str(cfg), "crawl", "--full", env={"TRACKER_PRECOMPUTE_MATCHES": "0"})
    assert done.returncode == 0, done.stderr
    with session_scope(engine) as s:
        bills = s.scalar(select(func.count()).select_from(Bill))
    assert "precomputed by this shard" not in done.stderr
    assert f"matched {bills} bills ({bills} classified, 0 of them precomputed" in done.stderr
