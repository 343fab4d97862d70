"""Uncertain matches in `tracker review list|show`: the marker, --uncertain-first, the learned evidence
(probability, similar labelled titles, why this direction), escaped, and in --json. The rows' uncertain and
learned fields are written directly (the learned layer has its own tests)."""

from __future__ import annotations

import json

from sqlalchemy import update

from db.engine import session_scope
from db.models_review import BillMatch
from tests.conftest import run_tracker, write_config
from tests.factories import DETAINERS, FLOCK, GANG, add_bills

LEARNED = {
    "model": "db-3",
    "probability": 0.8312,
    "uncertain": True,
    "similar": [
        {"title": "Ending the gang database\x1b[31m RED", "label": "relevant: gang_databases, restricts",
         "source": "riverton", "similarity": 0.91},
        {"title": "Repeal of the gang registry", "label": "relevant: gang_databases, restricts",
         "source": "labels/oakdale.csv", "similarity": 0.88},
    ],
    "direction_reason": 'the verb "abolishing" ends the gang database',
    "category_probability": 0.9,
}  # fmt: skip


def _setup(tmp_path, db_url, engine):
    ids = add_bills(engine, {"A1": GANG, "A2": DETAINERS, "A3": FLOCK})
    with session_scope(engine) as s:
        s.execute(update(BillMatch).where(BillMatch.bill_id.in_(ids.values())).values(review_state="pending"))
        s.execute(update(BillMatch).where(BillMatch.bill_id == ids["A1"]).values(score=0.99))
        s.execute(update(BillMatch).where(BillMatch.bill_id == ids["A3"]).values(
            score=0.51, uncertain=True, learned=LEARNED))  # fmt: skip
    return ids, write_config(tmp_path / "t.toml", [], database_url=db_url)


def test_list_marks_uncertain_and_orders_them_first(tmp_path, db_url, engine):
    _ids, cfg = _setup(tmp_path, db_url, engine)
    plain = run_tracker("--config", str(cfg), "review", "list", "--state", "pending")
    assert plain.returncode == 0, plain.stderr
    header, *rows = plain.stdout.splitlines()[:4]
    # every column has its header (docs/review.md names the `uncertain` one), over its values
    assert header.split() == ["bill", "state", "score", "direction", "categories", "uncertain", "title"]
    assert header.index("uncertain") == rows[-1].index(" uncertain ") + 1
    assert rows[0].startswith("riverton:A1") and rows[-1].startswith("riverton:A3")  # by score
    assert " uncertain " in rows[-1] and all(" uncertain " not in r for r in rows[:-1])
    assert "1 uncertain: the model's probability is near its decision boundary" in plain.stdout

    first = run_tracker("--config", str(cfg), "review", "list", "--state", "pending", "--uncertain-first")
    assert first.returncode == 0, first.stderr
    rows = first.stdout.splitlines()[1:4]
    assert [r.split()[0] for r in rows] == ["riverton:A3", "riverton:A1", "riverton:A2"]

    jsonl = run_tracker("--config", str(cfg), "review", "list", "--format", "jsonl", "--uncertain-first")
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["uncertain"] for r in records] == [True, False, False]


def test_show_prints_the_learned_evidence_escaped(tmp_path, db_url, engine):
    ids, cfg = _setup(tmp_path, db_url, engine)
    done = run_tracker("--config", str(cfg), "review", "show", str(ids["A3"]))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Model:      probability 0.83 (uncertain)" in out
    like = "Like:       Repeal of the gang registry — relevant: gang_databases, restricts (labels/oakdale.csv"
    assert like in out
    assert "Like:       Ending the gang database" in out and "\x1b[31m" not in out  # scraped text made inert
    assert 'Why this direction: the verb "abolishing" ends the gang database' in out

    certain = run_tracker("--config", str(cfg), "review", "show", str(ids["A1"]))
    assert "(uncertain)" not in certain.stdout and "Like:" not in certain.stdout  # no learned field

    as_json = json.loads(run_tracker("--config", str(cfg), "review", "show", str(ids["A3"]), "--json").stdout)
    assert as_json["uncertain"] is True
    assert as_json["learned"]["probability"] == 0.8312
    assert as_json["learned"]["similar"][1]["title"] == "Repeal of the gang registry"
