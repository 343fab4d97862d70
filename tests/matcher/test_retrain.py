"""`tracker match --train` (tracker/matcher/retrain.py) on a real database, both engines: a new model is
stored with its version, training-data hash and evaluation and becomes active; it moves the scores the
decisions say it should; decisions are never overridden; unchanged training data keeps the model."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models_matcher import MatcherModel
from db.models_review import BillMatch
from tests.factories import bill
from tracker.matcher.apply import match_stored
from tracker.matcher.retrain import retrain
from tracker.review import confirm, reject

# A title the shipped model finds relevant (a police camera network) that these editors reject, many times
# over in slightly different words, as a deployment's editors would.
REJECTED = [
    f"To authorize the Director of Public Safety to enter into contract with K.N.S. Services for maintenance "
    f"of the security camera system at the {place} recreation center"
    for place in ("Linden", "Hilltop", "Driving Park", "Marion-Franklin", "Whetstone", "Beatty", "Glenwood",
                  "Westgate", "Sullivant", "Milo-Grogan", "Barack", "Tuttle")
]  # fmt: skip
CONFIRMED = "An ordinance prohibiting the use of City resources to honor civil immigration detainer requests"


def _probability(engine, bill_id: int) -> float:
    with session_scope(engine) as s:
        learned = s.scalar(select(BillMatch.learned).where(BillMatch.bill_id == bill_id))
    assert learned is not None
    return float(learned["probability"])


def test_training_on_decisions_stores_a_model_moves_scores_and_never_overrides_a_decision(engine):
    with session_scope(engine) as s:
        rejected = [bill(s, title=t, identifier=f"R{i}").id for i, t in enumerate(REJECTED)]
        kept = bill(s, title=CONFIRMED, identifier="C1").id
    match_stored(engine, rescore=True)
    before = _probability(engine, rejected[0])
    with session_scope(engine) as s:
        for i in range(len(REJECTED)):
            reject(s, f"riverton:R{i}", by="ana")
        confirm(s, "riverton:C1", categories=["detainers_warrants"], direction="expands", by="ana")

    trained = retrain(engine, by="ana")
    assert not trained.unchanged and trained.version == "db-1"
    assert trained.decisions == len(REJECTED) + 1
    assert set(trained.evaluation["holdout"]) >= {"precision", "recall", "f1"}
    with session_scope(engine) as s:
        row = s.execute(select(MatcherModel)).scalar_one()
        assert (row.version, row.active, row.trained_by, len(row.training_hash)) == ("db-1", True, "ana", 64)

    match_stored(engine, rescore=True)
    assert _probability(engine, rejected[0]) < before  # the editors' rejections taught it
    with session_scope(engine) as s:
        states = dict(s.execute(select(BillMatch.bill_id, BillMatch.review_state)).all())
        learned = s.scalar(select(BillMatch.learned).where(BillMatch.bill_id == kept))
    assert all(states[b] == "rejected" for b in rejected) and states[kept] == "confirmed"
    assert learned["model"] == "db-1"

    again = retrain(engine)
    assert again.unchanged and again.version == "db-1"


# One engine: training takes seconds, and storing and reading a model row is the test above's, on both.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_unreadable_active_model_is_replaced_by_training_on_the_same_data(engine):
    """A stored model that cannot be read leaves matching to the rules alone; training on unchanged data
    kept it ("already trained on these examples: kept"), so nothing brought the learned layer back. It is
    trained again and replaced."""
    from db.types import utcnow
    from tracker.matcher.apply import active_model
    from tracker.matcher.learned import shipped_examples, training_hash
    from tracker.matcher.training import decision_examples, merge

    with session_scope(engine) as s:
        bill_id = bill(s, title=CONFIRMED).id
    with session_scope(engine) as s:
        confirm(s, str(bill_id), by="ana")
    with session_scope(engine) as s:  # a model of exactly this data, stored and then damaged
        digest = training_hash(merge(shipped_examples(), decision_examples(s)))
        s.add(MatcherModel(version="db-1", embedder="x", training_hash=digest, model_hash="0" * 64,
                           examples=1, decisions=1, evaluation={}, data=b"\xde\xad\xbe\xef", active=True,
                           trained_at=utcnow(), trained_by="ana"))  # fmt: skip
    with session_scope(engine) as s:
        assert active_model(s) is None  # the rules alone (one warning in the log)
    replaced = retrain(engine)
    assert not replaced.unchanged and replaced.version == "db-2"
    with session_scope(engine) as s:
        assert [r.version for r in s.scalars(select(MatcherModel).where(MatcherModel.active))] == ["db-2"]
        assert active_model(s) is not None
    assert retrain(engine).unchanged  # readable now: the same data keeps it


def test_train_for_one_city_and_a_misspelt_matcher_setting_are_refused_before_anything_changes(
    tmp_path, db_url, engine
):
    """``match --train --jurisdiction nope`` trained and switched the model for every city, then refused
    the city (and with a real city, matched only that city's bills under the new model); a misspelt
    ``$TRACKER_MATCHER`` (``rulez``) silently meant the learned layer. Both are one line, nothing trained."""
    from tests.conftest import run_tracker, write_config

    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)
    for slug in ("nope", "riverton"):
        done = run_tracker("--config", str(cfg), "match", "--train", "--jurisdiction", slug)
        assert done.returncode == 2, done.stderr
        want = "Error: --train matches every city's bills with the new model: drop --jurisdiction"
        assert want in done.stderr, done.stderr
    typo = run_tracker("--config", str(cfg), "match", env={"TRACKER_MATCHER": "rulez"})
    assert typo.returncode != 0 and "Traceback" not in typo.stderr
    assert typo.stderr.strip() == "Error: $TRACKER_MATCHER is 'rules' (the rules alone) or unset, not 'rulez'"
    with session_scope(engine) as s:
        assert s.scalars(select(MatcherModel)).all() == []
