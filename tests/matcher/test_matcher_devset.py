"""The labelled set parses and covers the taxonomy, the holdout is frozen, dev metrics stay above a floor."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tracker.matcher import CATEGORY_CODES
from tracker.matcher.evaluate import evaluate, read_labelled

DEVSET = Path(__file__).resolve().parents[2] / "tracker" / "matcher" / "devset"
HOLDOUT_SHA256 = "1959609dcd4000f0a9ab0b18bead206ef37dadefa69920e88eb633b2e83f77b7"


def test_holdout_is_frozen():
    digest = hashlib.sha256((DEVSET / "holdout.csv").read_bytes()).hexdigest()
    assert digest == HOLDOUT_SHA256, (
        "holdout.csv changed: see tracker/matcher/devset/README.md before updating"
    )


def test_sets_are_valid_real_and_disjoint():
    dev = read_labelled(DEVSET / "dev.csv")
    hold = read_labelled(DEVSET / "holdout.csv")
    assert len(dev) + len(hold) >= 300
    everything = dev + hold
    assert sum(i.relevant for i in everything) * 3 >= len(everything)  # at least a third relevant
    assert {i.title for i in dev}.isdisjoint({i.title for i in hold})
    assert all(i.source for i in everything), "every title needs its source"
    covered = {c for i in dev if i.relevant for c in i.categories}
    assert covered == set(CATEGORY_CODES)
    assert {i.direction for i in dev if i.relevant} == {"expands", "restricts", "neutral"}


def test_dev_metrics_stay_above_floor(matcher):
    report = evaluate(DEVSET / "dev.csv", matcher)
    assert report.precision >= 0.95, report.text()
    assert report.recall >= 0.88, report.text()
    assert report.f1 >= 0.92, report.text()
    assert report.category_accuracy >= 0.93, report.text()
    assert report.direction_accuracy >= 0.93, report.text()
