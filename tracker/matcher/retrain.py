"""``tracker match --train``: a new model from the shipped labelled titles and this database's decisions.

Each model is stored in ``matcher_models`` with its version, the SHA-256 of its training data, how many
examples and editors' decisions it learned from, and its evaluation: the model is scored on the
decisions themselves by 5-fold cross-validation over the decisions (each fold trained on the shipped
titles and the other folds' decisions) when there are at least 20, and on ``devset/holdout.csv`` always.
The new model becomes the active one; the next ``tracker match`` rematches every bill (their rules hash
includes the model's), and decisions are never touched (only the machine's fields are rewritten).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select, update

from db.engine import session_scope
from db.models_matcher import MatcherModel
from db.types import utcnow
from tracker.errors import ConfigError
from tracker.matcher.embed import EmbeddingCache, load_embedder
from tracker.matcher.engine import Matcher
from tracker.matcher.evaluate import read_labelled, score
from tracker.matcher.hybrid import HybridMatcher
from tracker.matcher.learned import DEVSET_DIR, Example, LearnedModel, shipped_examples, training_hash
from tracker.matcher.rules import load_rules
from tracker.matcher.training import decision_examples, merge, train_model

logger = logging.getLogger(__name__)

#: Decisions newer than the active model's needed before the scheduler retrains on its own.
MIN_NEW_DECISIONS = 20
FOLDS = 5


@dataclass
class Trained:
    version: str
    examples: int
    decisions: int
    evaluation: dict[str, Any]
    unchanged: bool  # the training data is the same as the active model's: nothing stored


def _holdout(hybrid: HybridMatcher) -> dict[str, Any]:
    items = read_labelled(DEVSET_DIR / "holdout.csv")
    s = score(items, hybrid.classify_many([i.title for i in items]))
    return {"precision": s.precision, "recall": s.recall, "f1": s.f1, "direction": s.direction_accuracy}


def _cross_validated(shipped: list[Example], decisions: list[Example], rules: Matcher,
                     cache: EmbeddingCache) -> dict[str, Any] | None:  # fmt: skip
    if len(decisions) < MIN_NEW_DECISIONS:
        return None
    hits = agree = 0
    for fold in range(FOLDS):
        test = decisions[fold::FOLDS]
        train = [d for i, d in enumerate(decisions) if i % FOLDS != fold]
        model = train_model(merge(shipped, train), version=f"cv{fold}", rules=rules, cache=cache)
        results = HybridMatcher(rules, model, cache).classify_many([d.title for d in test])
        for d, r in zip(test, results, strict=True):
            hits += 1
            agree += r.relevant == d.relevant
    return {"decisions": hits, "agreement": round(agree / hits, 4) if hits else 0.0}


def retrain(engine: Engine, *, by: str | None = None, force: bool = False) -> Trained:
    rules = Matcher(load_rules())
    cache = EmbeddingCache(load_embedder())
    with session_scope(engine) as session:
        decisions = decision_examples(session)
        shipped = shipped_examples()
        examples = merge(shipped, decisions)
        digest = training_hash(examples)
        active = session.execute(
            select(MatcherModel.id, MatcherModel.version, MatcherModel.training_hash, MatcherModel.evaluation,
                   MatcherModel.examples, MatcherModel.decisions)
            .where(MatcherModel.active).order_by(MatcherModel.id.desc()).limit(1)
        ).first()  # fmt: skip
        if active is not None and active.training_hash == digest and not force:
            data = session.scalar(select(MatcherModel.data).where(MatcherModel.id == active.id))
            try:
                LearnedModel.from_bytes(data or b"", f"#{active.id} in the database")
                return Trained(active.version, active.examples, active.decisions, active.evaluation, True)
            except ConfigError:
                pass  # the same data, but the stored model cannot be read: trained again, replacing it
        number = (session.scalar(select(func.count()).select_from(MatcherModel)) or 0) + 1
        version = f"db-{number}"
        model = train_model(examples, version=version, rules=rules, cache=cache, session=session,
                            extra_meta={"decisions": len(decisions)})  # fmt: skip
        evaluation: dict[str, Any] = {"holdout": _holdout(HybridMatcher(rules, model, cache))}
        cv = _cross_validated(shipped, decisions, rules, cache)
        if cv is not None:
            evaluation["decisions_cross_validated"] = cv
        model.meta["evaluation"] = evaluation
        session.execute(update(MatcherModel).where(MatcherModel.active).values(active=False))
        session.add(
            MatcherModel(version=version, embedder=model.meta["embedder"], training_hash=digest,
                         model_hash=model.hash, examples=len(examples), decisions=len(decisions),
                         evaluation=evaluation, data=model.to_bytes(), active=True, trained_at=utcnow(),
                         trained_by=by)
        )  # fmt: skip
    return Trained(version, len(examples), len(decisions), evaluation, False)


def new_decisions(engine: Engine) -> int:
    """Decisions not yet in the active model's training data (an estimate: decided since it was trained)."""
    from db.models_review import BillMatch

    with session_scope(engine) as session:
        since = session.scalar(
            select(MatcherModel.trained_at)
            .where(MatcherModel.active)
            .order_by(MatcherModel.id.desc())
            .limit(1)
        )
        q = (
            select(func.count())
            .select_from(BillMatch)
            .where(BillMatch.review_state.in_(("confirmed", "rejected")))
        )
        if since is not None:
            q = q.where(BillMatch.decided_at > since)
        return int(session.scalar(q) or 0)
