"""The matcher as the tracker runs it: the rules engine, then the learned layer on top.

:class:`HybridMatcher` has the rules engine's interface (``classify``, ``classify_many``) and returns a
:class:`HybridResult`, a :class:`~tracker.matcher.engine.MatchResult` with one more field, ``learned``:
the probability, whether the match is uncertain, the most similar labelled titles, the reason for the
direction and the model's version. With no model (``model=None``, or a model file that cannot be read)
it is the rules engine alone, and says so once in the log.

How the two are combined (docs/matching.md has the measurements behind each choice):

* relevance: a rules match stands unless the model, reading the embedding and the rules' findings, is
  confident it is not relevant; the model adds bills the rules missed when it is confident they are; a
  hard negative that fired on a bill the rules do not find relevant is a veto the model never overrides;
* category: the rules' categories when the rules found the bill (their phrases are the evidence), else
  the model's most probable category;
* direction: a certain verb-object pairing (:mod:`tracker.matcher.direction`) decides; else a rules cue
  found next to the category's phrase; else the learned direction model. The reason is kept in words;
* evidence: the rules' phrases, cues and hard negatives as before, plus the similar labelled titles.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tracker.errors import ConfigError
from tracker.matcher.direction import read_direction
from tracker.matcher.embed import EmbeddingCache, load_embedder
from tracker.matcher.engine import Matcher, MatchResult
from tracker.matcher.learned import LearnedModel, Prediction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HybridResult(MatchResult):
    learned: dict[str, Any] | None = None

    @property
    def uncertain(self) -> bool:
        return bool(self.learned and self.learned.get("uncertain"))

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["learned"] = self.learned
        return out


def embedding_text(title: str, name: str | None = None) -> str:
    """What the embedding reads: the title, and a distinct name after it (Legistar's short names)."""
    return f"{title} {name}" if name else title


class HybridMatcher:
    def __init__(self, rules: Matcher, model: LearnedModel | None, cache: EmbeddingCache | None = None):
        self.rules = rules
        self.model = model
        self._cache = cache

    @property
    def cache(self) -> EmbeddingCache | None:
        """The embedding cache, with the embedder loaded on first use (an import whose bills were all
        classified beside the crawl never needs it); None without a model. Raises ConfigError, each time
        it is asked for, when the embedder cannot be loaded."""
        if self._cache is None and self.model is not None:
            self._cache = EmbeddingCache(load_embedder())
        return self._cache

    @property
    def version(self) -> str:
        return f"model {self.model.version}" if self.model else "rules only"

    def classify(self, title: str, name: str | None = None, text: str | None = None) -> MatchResult:
        return self.classify_items([(title, name, text)])[0]

    def classify_many(self, titles: Iterable[str]) -> list[MatchResult]:
        return self.classify_items([(t, None, None) for t in titles])

    def classify_items(
        self, items: Sequence[tuple[str, str | None, str | None]], session: Session | None = None
    ) -> list[MatchResult]:
        """Each ``(title, name, text)``; ``session``: read and fill the stored embedding cache."""
        results = [self._rules(title, name, text) for title, name, text in items]
        if not items or self.model is None or self.cache is None:
            return results
        texts = [embedding_text(title or "", name) for title, name, _ in items]
        vectors = self.cache.encode(texts, session)
        predictions = self.model.predict(vectors, results)
        return [
            combine(r, p, title or "", self.model)
            for r, p, (title, _, _) in zip(results, predictions, items, strict=True)
        ]

    def _rules(self, title: str, name: str | None, text: str | None) -> MatchResult:
        if name is None and not text:
            return self.rules.classify_many([title or ""])[0]
        return self.rules.classify(title or "", name=name, text=text)


def combine(rules: MatchResult, p: Prediction, title: str, model: LearnedModel) -> HybridResult:
    similar = [
        {"title": _short(e.title), "label": e.label(), "source": e.source, "similarity": round(s, 3)}
        for s, e in p.similar
    ]
    learned: dict[str, Any] = {
        "model": model.version,
        "probability": round(p.probability, 4),
        "uncertain": p.uncertain,
        "similar": similar,
    }
    if not p.relevant:
        if rules.relevant:
            learned["overruled"] = "the rules found it relevant; the model, reading the whole title, did not"
        if p.uncertain:  # a near miss: it goes to the editors' queue, not to the list (docs/review.md)
            categories = list(rules.categories) if rules.relevant and rules.categories else [p.category]
            direction, reason = decide_direction(rules, p, title, categories[0])
            learned["suggested"] = {"categories": categories, "direction": direction, "reason": reason}
        return HybridResult(False, round(p.probability, 4), [], None, list(rules.evidence),
                            dict(rules.category_scores), learned)  # fmt: skip
    # The rules' categories when they found the bill (their phrases are the evidence); else the model's.
    categories = list(rules.categories) if rules.relevant and rules.categories else [p.category]
    direction, reason = decide_direction(rules, p, title, categories[0])
    learned["direction_reason"] = reason
    learned["category_probability"] = round(p.category_probability, 4)
    return HybridResult(True, round(p.probability, 4), categories, direction, list(rules.evidence),
                        dict(rules.category_scores), learned)  # fmt: skip


def decide_direction(rules: MatchResult, p: Prediction, title: str, category: str) -> tuple[str, str]:
    cue = read_direction(title)
    if cue is not None:
        return cue.direction, cue.reason
    if rules.relevant and rules.categories and rules.categories[0] == category and rules.direction:
        cues = [e for e in rules.evidence if e.kind == "cue" and e.direction == rules.direction]
        if cues:
            return (
                rules.direction,
                f'the cue "{cues[0].phrase}" ({rules.direction}) next to the matched phrase',
            )
    usual = rules.relevant and rules.direction and rules.categories[0] == category
    if usual and rules.direction is not None and p.direction_probability < 0.6:
        return rules.direction, (
            f"no verb or cue decides it; the usual direction of {category.replace('_', ' ')} measures"
        )
    return p.direction, (
        f"learned from labelled titles like it ({p.direction}, probability {p.direction_probability:.2f})"
    )


def load_model_or_none(loader: Any, where: str) -> LearnedModel | None:
    """``loader()``, or ``None`` with one warning when the model cannot be read: the rules keep working."""
    try:
        model: LearnedModel = loader()
        return model
    except ConfigError as exc:
        logger.warning("%s; matching with the rules alone", exc)
        return None


def _short(title: str, limit: int = 300) -> str:
    """A similar title as stored with every match: long council titles are cut (the full one is in the
    labelled set), so each bill's evidence stays small."""
    return title if len(title) <= limit else title[: limit - 1] + "…"
