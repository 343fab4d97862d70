"""Matches precomputed beside a split crawl (tracker.matcher.apply.Precomputed): the import stores what
it would have stored classifying the bills itself (rows and embeddings), uses a result only when it was made
under its rules and model and from the bill's inputs, and a file it cannot read whole is left out with one
line in the log. In-process, on SQLite and PostgreSQL, with the learned layer and with the rules alone."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import delete

from db.engine import session_scope
from db.models_matcher import TextEmbedding
from db.models_review import BillMatch
from tests.factories import DETAINERS, FLOCK, GANG, PARKING, RINK, add_bills, stored_matches
from tracker.matcher.apply import (
    Precomputed,
    current_rules,
    match_bills,
    precompute,
    precomputed_path,
    read_precomputed,
)

TITLES = {"O1": GANG, "O2": PARKING, "O3": DETAINERS, "O4": FLOCK, "O5": RINK}


@pytest.fixture(params=["hybrid", "rules"])
def matcher(request, monkeypatch):
    monkeypatch.delenv("TRACKER_RULES", raising=False)
    if request.param == "rules":
        monkeypatch.setenv("TRACKER_MATCHER", "rules")
    else:
        monkeypatch.delenv("TRACKER_MATCHER", raising=False)
    return request.param


def forget_matches(engine) -> None:
    """As before the first match: no rows, no stored embeddings, none in this process's memory either."""
    with session_scope(engine) as s:
        s.execute(delete(BillMatch))
        s.execute(delete(TextEmbedding))
    loaded = current_rules()
    if loaded.hybrid is not None and loaded.hybrid.cache is not None:
        loaded.hybrid.cache.memory.clear()


def handed_over(tmp_path, titles: list[tuple[str | None, str | None]]) -> Precomputed:
    """Precomputed as the match process makes them, through the file the import reads."""
    path = precomputed_path(tmp_path / "riverton.1.jsonl")
    precompute(current_rules(), titles).write(path)
    read = read_precomputed([path, tmp_path / "absent.matches"])
    assert read is not None
    return read


def test_precomputed_matches_store_what_the_import_would(engine, tmp_path, matcher):
    ids = add_bills(engine, TITLES, match=False)
    forget_matches(engine)
    with session_scope(engine) as s:
        serial = match_bills(s, ids.values())
    expected = stored_matches(engine)
    assert serial.precomputed == 0 and len(expected[0]) == len(TITLES)
    assert (len(expected[1]) == len(TITLES)) == (matcher == "hybrid")  # embeddings only with the model
    forget_matches(engine)

    precomputed = handed_over(tmp_path, [(t, None) for t in TITLES.values()])
    with session_scope(engine) as s:
        summary = match_bills(s, ids.values(), precomputed=precomputed)
    assert (summary.classified, summary.precomputed, summary.created) == (5, 5, 5)
    assert summary.newly_relevant == serial.newly_relevant > 0
    assert stored_matches(engine) == expected


def test_precomputed_under_other_rules_are_ignored(engine, tmp_path, matcher, caplog):
    ids = add_bills(engine, TITLES, match=False)
    precomputed = handed_over(tmp_path, [(t, None) for t in TITLES.values()])
    forget_matches(engine)
    # made under other rules (or another model), and saying something else: recomputed, not stored
    precomputed.rules_hash = "0" * 64
    for result in precomputed.results.values():
        result.update(relevant=True, categories=["not_a_category"], score=1.0)
    with caplog.at_level(logging.INFO), session_scope(engine) as s:
        summary = match_bills(s, ids.values(), precomputed=precomputed)
    assert (summary.classified, summary.precomputed) == (5, 0)
    assert "made under other rules" in caplog.text
    got = stored_matches(engine)
    assert all(row[2] != ["not_a_category"] for row in got[0].values())
    forget_matches(engine)
    with session_scope(engine) as s:
        match_bills(s, ids.values())
    assert stored_matches(engine) == got


def test_a_bill_whose_inputs_differ_is_classified_here(engine, tmp_path, matcher):
    """The results are keyed by the inputs they were made from: another title, or the same title with a
    distinct name, is not the same bill to the matcher."""
    ids = add_bills(engine, {"O1": GANG, "O2": PARKING}, match=False)
    forget_matches(engine)
    precomputed = handed_over(tmp_path, [(GANG, None), (PARKING, "Parking meters, Ward 3")])
    with session_scope(engine) as s:
        summary = match_bills(s, ids.values(), precomputed=precomputed)
    assert (summary.classified, summary.precomputed) == (2, 1)
    expected = stored_matches(engine)
    forget_matches(engine)
    with session_scope(engine) as s:
        match_bills(s, ids.values())
    assert stored_matches(engine) == expected


def test_an_import_of_precomputed_matches_never_loads_the_embedder(engine, tmp_path, monkeypatch):
    """The embedder, the slowest part of loading the matcher, is loaded on first use: the crawl process
    loads the matcher for its import while the last shard finishes, and an import whose bills were all
    classified beside the crawl never needs it."""
    monkeypatch.delenv("TRACKER_RULES", raising=False)
    monkeypatch.delenv("TRACKER_MATCHER", raising=False)
    ids = add_bills(engine, TITLES, match=False)
    forget_matches(engine)
    precomputed = handed_over(tmp_path, [(t, None) for t in TITLES.values()])

    def no_embedder() -> None:
        raise AssertionError("the embedder was loaded")

    monkeypatch.setattr("tracker.matcher.hybrid.load_embedder", no_embedder)
    monkeypatch.setattr("tracker.matcher.apply._CACHE", {})  # the matcher as a new process loads it
    with session_scope(engine) as s:
        loaded = current_rules(session=s)
        summary = match_bills(s, ids.values(), precomputed=precomputed)
    assert (summary.classified, summary.precomputed) == (5, 5)
    assert loaded.hybrid is not None and loaded.hybrid.model is not None
    with pytest.raises(AssertionError, match="the embedder was loaded"):  # a bill it must classify
        loaded.hybrid.classify(GANG)


@pytest.mark.parametrize("damage", ["cut", "garbage", "format", "vector"])
def test_an_unreadable_file_is_left_out(tmp_path, matcher, caplog, damage):
    good = precomputed_path(tmp_path / "riverton.0.jsonl")
    bad = precomputed_path(tmp_path / "riverton.1.jsonl")
    precompute(current_rules(), [(GANG, None)]).write(good)
    precompute(current_rules(), [(PARKING, None), (RINK, None)]).write(bad)
    lines = bad.read_text(encoding="utf-8").splitlines()
    if damage == "cut":  # a shard killed while writing would leave no file (written whole, renamed)
        lines = lines[:-1]
    elif damage == "garbage":
        lines[1] = lines[1][: len(lines[1]) // 2]
    elif damage == "format":
        lines[0] = lines[0].replace('"format": 1', '"format": 99')
    elif matcher == "hybrid":
        lines[1] = lines[1].rsplit(",", 1)[0] + ',"AAAA"]'
    else:
        lines[1] = lines[1].replace('"relevant"', '"relevance"')
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        read = read_precomputed([good, bad])
    assert read is not None and len(read.results) == 1  # the readable file's one result
    assert "riverton.1.matches: precomputed matches unreadable" in caplog.text
    assert "Traceback" not in caplog.text
