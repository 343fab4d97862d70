"""Training the learned layer: from the shipped labelled titles, and from editors' decisions.

* :func:`prepare` runs the rules and the embedder over labelled examples (the model's inputs);
* :func:`train_model` fits a :class:`~tracker.matcher.learned.LearnedModel` on them;
* :func:`decision_examples` turns the editors' decisions stored in the database into examples: a
  confirmed bill (with the editor's categories and direction), a rejected one, a bill an editor added;
* ``python -m tracker.matcher.training`` rebuilds the shipped model ``tracker/matcher/model/model.npz``
  from ``labels/*.csv`` and ``devset/dev.csv`` (maintainers, after a labelling change).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tracker.matcher.embed import EmbeddingCache, load_embedder
from tracker.matcher.engine import Matcher, MatchResult
from tracker.matcher.learned import SHIPPED_MODEL, Example, LearnedModel, shipped_examples, train
from tracker.matcher.rules import load_rules

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def prepare(
    examples: Sequence[Example], rules: Matcher, cache: EmbeddingCache, session: Session | None = None
) -> tuple[np.ndarray, list[MatchResult]]:
    titles = [e.title for e in examples]
    return cache.encode(titles, session), rules.classify_many(titles)


def train_model(
    examples: Sequence[Example],
    *,
    version: str,
    rules: Matcher | None = None,
    cache: EmbeddingCache | None = None,
    session: Session | None = None,
    extra_meta: dict[str, Any] | None = None,
) -> LearnedModel:
    rules = rules or Matcher(load_rules())
    cache = cache or EmbeddingCache(load_embedder())
    vectors, results = prepare(examples, rules, cache, session)
    return train(examples, vectors, results, version=version, extra_meta=extra_meta)


def decision_examples(session: Session) -> list[Example]:
    """The editors' decisions as labelled examples (a decision always wins over the shipped label of the
    same title): confirmed and added bills are relevant with the editor's categories and direction,
    rejected ones are not."""
    from sqlalchemy import select

    from db.models import Bill
    from db.models_review import BillMatch

    rows = session.execute(
        select(Bill.id, Bill.title, BillMatch.review_state, BillMatch.editor_categories,
               BillMatch.editor_direction, BillMatch.categories, BillMatch.direction, BillMatch.decided_by)
        .join(BillMatch, BillMatch.bill_id == Bill.id)
        .where(BillMatch.review_state.in_(("confirmed", "rejected")))
        .order_by(Bill.id)
    )  # fmt: skip
    out = []
    for bill_id, title, state, ed_cats, ed_dir, cats, direction, by in rows:
        if not title:
            continue
        who = f" by {by}" if by else ""
        if state == "rejected":
            out.append(Example(title, False, (), None, f"bill {bill_id} (rejected{who})"))
            continue
        categories = tuple(ed_cats or cats or ())
        chosen = ed_dir or direction
        if categories and chosen:
            out.append(Example(title, True, categories, chosen, f"bill {bill_id} (confirmed{who})"))
    return out


def merge(shipped: Sequence[Example], decisions: Sequence[Example]) -> list[Example]:
    """Shipped examples, with any title an editor decided taken from the decision instead."""
    decided = {e.title for e in decisions}
    return [e for e in shipped if e.title not in decided] + list(decisions)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    out = Path(args[0]) if args else SHIPPED_MODEL
    examples = shipped_examples()
    model = train_model(examples, version="shipped-1", extra_meta={"source": "labels/*.csv + devset/dev.csv"})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(model.to_bytes())
    print(
        f"{out}: {len(examples)} examples, {model.meta['relevant_examples']} relevant, hash {model.hash[:12]}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
