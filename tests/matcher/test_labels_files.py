"""The labelled stream files (tracker/matcher/labels/): every stream row read once, titles as published,
labels the taxonomy knows; and which rows train the model."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from tracker.matcher.learned import LABELS_DIR, shipped_examples
from tracker.matcher.streams import STREAMS_DIR, labelled_stream

REPO = Path(__file__).resolve().parents[2]
COUNCILS = sorted(p.stem for p in LABELS_DIR.glob("*.csv"))
CODES = set(re.findall(r"^### \d+\. `(\w+)`", (REPO.parent / "shared" / "TAXONOMY.md").read_text(), re.M))
SAMPLES = {"net", "random", "flagged", "model", "rest"}


def read_csv(path: Path, **kw: str) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, **kw))  # type: ignore[arg-type]


def test_the_taxonomy_has_sixteen_codes() -> None:
    assert len(CODES) == 16


@pytest.mark.parametrize("council", COUNCILS)
def test_every_stream_row_is_labelled_once_with_its_published_title(council: str) -> None:
    stream = {r["id"]: r for r in read_csv(STREAMS_DIR / f"{council}.tsv", delimiter="\t")}
    labels = read_csv(LABELS_DIR / f"{council}.csv")
    ids = [r["id"] for r in labels]
    assert len(ids) == len(set(ids)), "a stream row labelled twice"
    labelled = set(ids)
    assert labelled == set(stream), "the labels must cover the whole stream, and only it"
    assert ids == [i for i in stream if i in labelled], "labels keep the stream's order"
    for r in labels:
        s = stream[r["id"]]
        assert r["date"] == s["date"]
        assert r["sample"] in SAMPLES, r
        assert r["relevant"] in ("0", "1"), r
        if r["title"]:
            assert r["title"] == s["title"], f"{r['id']}: a title edited"
        else:
            # only clear not-relevant rows of the full read go without their title
            assert r["sample"] in ("model", "rest") and r["relevant"] == "0" and not r["note"], r
        if r["relevant"] == "1":
            cats = r["category"].split("|")
            assert cats and set(cats) <= CODES, r
            assert r["direction"] in ("expands", "restricts", "neutral"), r
        else:
            assert not r["category"] and not r["direction"], r


def test_rows_without_a_title_are_scored_but_never_trained_on() -> None:
    council = "phoenix-az"
    labels = read_csv(LABELS_DIR / f"{council}.csv")
    untitled = {f"{council}:{r['id']}" for r in labels if not r["title"]}
    titled = {f"{council}:{r['id']}" for r in labels if r["title"]}
    assert untitled and titled
    trained = {e.source for e in shipped_examples([council], devset=False)}
    assert trained == titled
    rows = labelled_stream(council)
    assert not any(r.unread for r in rows)
    assert {r.source for r in rows if r.eval_only} == untitled
    # the stream gives the scored row its title
    assert all(r.title for r in rows)
