"""A full backfill split over two crawler processes has its bills classified by a match process beside the
crawl (tracker.matcher.precompute): the import uses its results for every bill, and what it stores is what
matching the bills itself stores (the match rows and the stored embeddings, checked against a rescore of
every bill), with the learned layer and with the rules alone, on SQLite and PostgreSQL (the other cases on
SQLite). The processes and the rescore run with one hash seed: the rules engine lists a title's cues in an
order that follows the process's string hashing (tracker/matcher/engine.py), which any two processes may
differ in, precomputed or not. A match process that fails or dies leaves the classifying to the import."""

from __future__ import annotations

import json
import os
import re

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Bill
from tests.conftest import run_tracker, write_config
from tests.factories import stored_matches
from tests.portal import portal_config
from tracker.config import load_config
from tracker.matcher.apply import current_rules, input_hash, precompute, precomputed_path, read_precomputed
from tracker.matcher.precompute import NICE, MatchProcess

CLIENT = "riverton"
SEED = {"PYTHONHASHSEED": "0"}
CRAWL = {"processes": 2, "page_size": 50, "meetings_ahead_days": 0, "meetings_back_days": 0}


def bill_count(engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(select(func.count()).select_from(Bill)) or 0


# Each engine and each matcher once (the pairs that matter: the embeddings cache is written by the match
# process beside the crawl and read by the import, in either engine).
@pytest.mark.parametrize(
    ("db_url", "matcher"), [("sqlite", "hybrid"), ("postgresql", "rules")], indirect=["db_url"]
)
def test_a_split_crawl_has_its_bills_classified_beside_it(
    tmp_path, db_url, engine, portal, server, monkeypatch, matcher
):
    if matcher == "hybrid":
        monkeypatch.delenv("TRACKER_MATCHER", raising=False)
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT], crawl=CRAWL)
    done = run_tracker("-v", "--config", str(cfg), "crawl", "--full", env=SEED)
    assert done.returncode == 0, done.stderr
    bills = bill_count(engine)
    assert bills > 20
    # both shards' stage files were read; the import classified none of the bills itself
    classified = [
        int(n) for n in re.findall(r"riverton: (\d+) bills classified beside the crawl", done.stderr)
    ]
    assert len(classified) == 2 and all(classified) and sum(classified) <= bills  # (same titles: once)
    assert f"matched {bills} bills ({bills} classified, {bills} of them precomputed" in done.stderr
    before = stored_matches(engine)
    assert len(before[0]) == bills
    assert (len(before[1]) > 0) == (matcher == "hybrid")

    rescored = run_tracker("--config", str(cfg), "match", "--rescore", env=SEED)
    assert rescored.returncode == 0, rescored.stderr
    assert stored_matches(engine) == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_the_match_process_can_be_switched_off(tmp_path, db_url, engine, portal, server):
    """TRACKER_PRECOMPUTE_MATCHES=0 (for measuring): the import classifies every bill itself."""
    cfg = portal_config(tmp_path / "t.toml", server, portal, db_url, clients=[CLIENT], crawl=CRAWL)
    done = run_tracker("-v", "--config", str(cfg), "crawl", "--full", env={"TRACKER_PRECOMPUTE_MATCHES": "0"})
    assert done.returncode == 0, done.stderr
    bills = bill_count(engine)
    assert "classified beside the crawl" not in done.stderr
    assert f"matched {bills} bills ({bills} classified, 0 of them precomputed" in done.stderr


def staged_bill(title: str, name: str | None) -> str:
    # only the fields the match process reads; the importer never sees this file
    return json.dumps({"title": title, "name": name, "source_id": title[:8]}) + "\n"


def test_the_match_process_reads_a_stage_file_as_it_grows(tmp_path, db_url, monkeypatch):
    """Lines written before and after its start, a line cut mid-way until it is finished, records that are
    not bills and a line that does not parse (the import reports that one) are all handled; the results are
    those of classifying the titles in this process."""
    config = load_config(write_config(tmp_path / "t.toml", [], database_url=db_url))
    stage = tmp_path / "riverton.1.jsonl"
    titles = [
        ("An ordinance prohibiting city agencies from honoring ICE detainer requests", None),
        ("A resolution approving a contract for street resurfacing", "Street resurfacing"),
        ("An ordinance establishing a community police oversight board", None),
    ]
    with stage.open("w", encoding="utf-8") as f:
        f.write(staged_bill(*titles[0]))
        f.write('{"meeting": {"source_id": "m1"}}\n{"title": \n')
        f.flush()
        matching = MatchProcess(config)
        matching.start([("riverton", stage)])
        try:
            assert matching.process is not None and matching.process.pid is not None
            # it runs at a lower priority than the crawl, from its start
            own = os.getpriority(os.PRIO_PROCESS, 0)
            assert os.getpriority(os.PRIO_PROCESS, matching.process.pid) == min(19, own + NICE)
            half = staged_bill(*titles[1])
            f.write(half[:20])
            f.flush()
            f.write(half[20:] + staged_bill(*titles[2]))
            f.close()
            matching.finish()
            matching.wait()
        finally:
            matching.stop()
    found = read_precomputed([precomputed_path(stage)])
    assert found is not None
    expected = precompute(current_rules(), titles)
    assert found.rules_hash == expected.rules_hash
    assert found.results == expected.results
    assert set(found.results) == {input_hash(t, n, None) for t, n in titles}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite: the engine is incidental here
def test_a_failed_or_stopped_match_process_leaves_the_matching_to_the_import(tmp_path, db_url):
    config = load_config(write_config(tmp_path / "t.toml", [], database_url=db_url))
    broken = tmp_path / "riverton.0.jsonl"
    broken.mkdir()  # cannot be read as a file: the process fails, says why, and ends
    matching = MatchProcess(config)
    matching.start([("riverton", broken)])
    matching.finish()
    matching.wait()  # returns: no results
    matching.stop()
    assert not precomputed_path(broken).exists()

    stage = tmp_path / "riverton.1.jsonl"
    stage.write_text(staged_bill("An ordinance ending the city's 287(g) agreement", None))
    stopped = MatchProcess(config)
    stopped.start([("riverton", stage)])
    stopped.stop()  # the crawl was interrupted: nothing is written, the process has ended
    assert not precomputed_path(stage).exists()
    assert stopped.process is None

    killed = MatchProcess(config)
    killed.start([("riverton", stage)])
    assert killed.process is not None
    killed.process.kill()
    killed.finish()
    killed.wait()  # returns at once: the process is dead
    killed.stop()
    assert not precomputed_path(stage).exists()
