"""Nested leave-one-council-out: can a method choice made on the training councils alone raise the figures
of the council left out?

``bench_matcher_loco`` trains on three councils and scores the fourth. Here every choice is made *inside*
that loop, on the three training councils only: for each council left out (outer), each of the other
councils is left out in turn (inner), a model is trained on the remaining ones plus devset/dev.csv, and
the inner council's whole stream is scored. The candidate with the best pooled F1 over the inner councils'
clear rows is then trained on all three training councils and scored, once, on the council left out. Its
rows never guide the choice.

Candidates (fixed before any run):

* ``thresholds``: the two boundaries of the combination (the model alone makes a bill relevant from
  ``thr``; it overrules a rules match below ``keep``), on a grid, with the shipped classifier settings;
* ``training``: borderline rows left out of training, or weighted 0.5; councils weighted 1/sqrt(rows);
* ``--grid``: also the classifier settings (C in 0.3, 1, 3, 10; class weights none or balanced; the rules'
  features weighted 1, 3 or 10 beside the embedding; the stream rows the shipped model does not train on,
  the clearly-not-relevant rows of the full read (``eval_only``), added to training), each with the
  thresholds. Slow: about 30 minutes on 2 busy cores.
* ``--lexical``: also TF-IDF of the title beside the shipped features (word 1-2 grams or char_wb 3-5 grams,
  sublinear tf, min_df 2, fit on the fold's training rows only; its rows scaled to 0.5, 1 or 2 times the
  mean length of the training rows' embedding vectors), or a TF-IDF-only logistic regression whose
  probability is averaged with the shipped model's (weight 0.3 or 0.5), each with the thresholds.

Relevance only (P/R/F1 of the clear rows of the whole stream, every row labelled, as in
``bench_matcher_loco``); categories and direction are those of ``bench_matcher_loco``.

    ./dev bench bench_matcher_nested            # thresholds and training variants (a few minutes)
    ./dev bench bench_matcher_nested --grid     # and the classifier settings
    ./dev bench bench_matcher_nested --lexical  # and TF-IDF of the title (2 minutes)
"""

from __future__ import annotations

import itertools
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tracker.matcher.embed import EmbeddingCache, load_embedder  # noqa: E402
from tracker.matcher.engine import Matcher  # noqa: E402
from tracker.matcher.learned import (  # noqa: E402
    C_RELEVANT,
    KEEP_RULES,
    LABELS_DIR,
    RULE_WEIGHT,
    THRESHOLD,
    rule_features,
    shipped_examples,
    vetoed,
)
from tracker.matcher.rules import load_rules  # noqa: E402
from tracker.matcher.streams import labelled_stream  # noqa: E402

THRESHOLDS = [round(x, 2) for x in np.arange(0.30, 0.951, 0.05)]
KEEPS = [round(x, 2) for x in np.arange(0.0, 0.51, 0.05)]
SHIPPED = ("C", C_RELEVANT, "rw", RULE_WEIGHT, "cw", None, "unread", False, "weights", "", "lexical", "")
LEXICAL = [f"{kind} {s}" for kind in ("word", "char") for s in (0.5, 1.0, 2.0)] + ["avg 0.3", "avg 0.5"]


def setting(cfg: tuple[Any, ...], key: str, value: Any) -> tuple[Any, ...]:
    """``cfg`` with ``key`` set to ``value``."""
    o = dict(zip(cfg[::2], cfg[1::2], strict=True))
    o[key] = value
    return tuple(x for kv in o.items() for x in kv)


def load(rules: Matcher, cache: EmbeddingCache) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    data: dict[str, dict[str, Any]] = {}
    for council in sorted(p.stem for p in LABELS_DIR.glob("*.csv")):
        rows = labelled_stream(council)
        titles = [r.title for r in rows]
        results = rules.classify_many(titles)
        data[council] = {
            "titles": titles,
            "vec": cache.encode(titles),
            "rf": np.stack([rule_features(x) for x in results]),
            "rules": np.array([x.relevant for x in results]),
            "veto": np.array([vetoed(x) for x in results]),
            "y": np.array([r.relevant for r in rows]),
            "border": np.array([r.borderline for r in rows]),
            "unread": np.array([r.unread or r.eval_only for r in rows]),
        }
    dev = [e for e in shipped_examples([]) if e.source.startswith("devset")]
    results = rules.classify_many([e.title for e in dev])
    devset = {
        "titles": [e.title for e in dev],
        "vec": cache.encode([e.title for e in dev]),
        "rf": np.stack([rule_features(x) for x in results]),
        "y": np.array([e.relevant for e in dev]),
    }
    return data, devset


def fit_predict(
    data: dict[str, dict[str, Any]], devset: dict[str, Any], train: tuple[str, ...], cfg: tuple[Any, ...]
) -> dict[str, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    o = dict(zip(cfg[::2], cfg[1::2], strict=True))
    xs, ys, ws, titles = [], [], [], []
    for c in train:
        d = data[c]
        m = np.ones(len(d["y"]), bool) if o["unread"] else ~d["unread"]
        w = np.ones(int(m.sum()))
        if o["weights"] == "no borderline":
            w[d["border"][m]] = 0.0
        elif o["weights"] == "borderline 0.5":
            w[d["border"][m]] = 0.5
        elif o["weights"] == "councils 1/sqrt(rows)":
            w *= np.sqrt(2000.0 / m.sum())
        xs.append(np.hstack([d["vec"][m], d["rf"][m] * o["rw"]]))
        ys.append(d["y"][m])
        ws.append(w)
        titles += [t for t, k in zip(d["titles"], m, strict=True) if k]
    xs.append(np.hstack([devset["vec"], devset["rf"] * o["rw"]]))
    ys.append(devset["y"])
    ws.append(np.ones(len(devset["y"])))
    titles += devset["titles"]
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    keep = w > 0
    tests = {c: np.hstack([d["vec"], d["rf"] * o["rw"]]) for c, d in data.items() if c not in train}
    lexical, _, scale = str(o["lexical"]).partition(" ")
    if lexical in ("word", "char"):  # the title's TF-IDF beside the shipped features
        tfidf = _tfidf(lexical, titles)
        embedding = x[:, : devset["vec"].shape[1]]  # the training rows' embedding vectors
        alpha = float(scale) * float(np.linalg.norm(embedding, axis=1).mean())
        x = sp.hstack([sp.csr_matrix(x), tfidf.transform(titles) * alpha], format="csr")
        tests = {
            c: sp.hstack([sp.csr_matrix(t), tfidf.transform(data[c]["titles"]) * alpha], format="csr")
            for c, t in tests.items()
        }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(C=o["C"], max_iter=3000, class_weight=o["cw"])
        clf.fit(x[keep], y[keep], sample_weight=w[keep])
        out = {c: clf.predict_proba(t)[:, 1] for c, t in tests.items()}
        if lexical == "avg":  # a TF-IDF-only model's probability averaged with the shipped one's
            tfidf = _tfidf("word", titles)
            alone = LogisticRegression(C=o["C"], max_iter=3000, class_weight=o["cw"])
            alone.fit(tfidf.transform(titles)[keep], y[keep], sample_weight=w[keep])
            mix = float(scale)
            for c in out:
                p_lex = alone.predict_proba(tfidf.transform(data[c]["titles"]))[:, 1]
                out[c] = (1 - mix) * out[c] + mix * p_lex
    return out


def _tfidf(kind: str, titles: list[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    if kind == "word":
        return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit(titles)
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2).fit(titles)


def counts(d: dict[str, Any], p: np.ndarray, thr: float, keep: float) -> tuple[int, int, int]:
    pred = (d["rules"] & (p >= keep)) | ((p >= thr) & ~d["veto"])
    clear = ~d["border"]
    y, pr = d["y"][clear], pred[clear]
    return int((y & pr).sum()), int((~y & pr).sum()), int((y & ~pr).sum())


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main() -> int:
    grid = "--grid" in sys.argv
    data, devset = load(Matcher(load_rules()), EmbeddingCache(load_embedder()))
    councils = tuple(data)
    configs = [SHIPPED] + [
        setting(SHIPPED, "weights", weights)
        for weights in ("no borderline", "borderline 0.5", "councils 1/sqrt(rows)")
    ]  # fmt: skip
    if "--lexical" in sys.argv:
        configs += [setting(SHIPPED, "lexical", lexical) for lexical in LEXICAL]
    if grid:
        configs += [
            ("C", c, "rw", rw, "cw", cw, "unread", un, "weights", "", "lexical", "")
            for c, cw, rw, un in itertools.product(
                [0.3, 1.0, 3.0, 10.0], [None, "balanced"], [1.0, 3.0, 10.0], [False, True]
            )
            if (c, rw, cw, un) != (C_RELEVANT, RULE_WEIGHT, None, False)
        ]  # fmt: skip
    sets = {tuple(c for c in councils if c not in drop) for drop in itertools.combinations(councils, 2)}
    sets |= {tuple(c for c in councils if c != o) for o in councils}
    probs = {(cfg, s): fit_predict(data, devset, s, cfg) for cfg in configs for s in sorted(sets)}
    print(f"{len(configs)} candidate training settings x {len(THRESHOLDS)} x {len(KEEPS)} thresholds;"
          f" {len(probs)} models")  # fmt: skip
    for outer in councils:
        train = tuple(c for c in councils if c != outer)
        best: tuple[float, tuple[Any, ...], float, float] | None = None
        fixed: tuple[float, tuple[Any, ...]] | None = None
        for cfg in configs:
            for thr, keep in [(t, k) for t in THRESHOLDS for k in KEEPS if k <= t]:
                tp = fp = fn = 0
                for inner in train:
                    s = tuple(c for c in train if c != inner)
                    a, b, c_ = counts(data[inner], probs[(cfg, s)][inner], thr, keep)
                    tp, fp, fn = tp + a, fp + b, fn + c_
                f1 = prf(tp, fp, fn)[2]
                if best is None or f1 > best[0]:
                    best = (f1, cfg, thr, keep)
                if (thr, keep) == (THRESHOLD, KEEP_RULES) and (fixed is None or f1 > fixed[0]):
                    fixed = (f1, cfg)
        assert best is not None and fixed is not None
        d = data[outer]
        shipped = prf(*counts(d, probs[(SHIPPED, train)][outer], THRESHOLD, KEEP_RULES))
        chosen = prf(*counts(d, probs[(best[1], train)][outer], best[2], best[3]))
        settings = prf(*counts(d, probs[(fixed[1], train)][outer], THRESHOLD, KEEP_RULES))
        print(f"{outer}: {int(d['y'][~d['border']].sum())} relevant clear rows")
        print(f"  shipped settings, thr {THRESHOLD} keep {KEEP_RULES}:  P={shipped[0]:.2f} R={shipped[1]:.2f}"
              f" F1={shipped[2]:.2f}")  # fmt: skip
        print(f"  chosen on the training councils: {best[1]} thr {best[2]} keep {best[3]}"
              f" (inner F1 {best[0]:.3f}):"
              f"  P={chosen[0]:.2f} R={chosen[1]:.2f} F1={chosen[2]:.2f}")  # fmt: skip
        print(f"  training settings chosen, thresholds kept: {fixed[1]} (inner F1 {fixed[0]:.3f}):"
              f"  P={settings[0]:.2f} R={settings[1]:.2f} F1={settings[2]:.2f}")  # fmt: skip
        # What a lower threshold could add: the relevant clear rows the rules miss, and their probabilities.
        p = probs[(SHIPPED, train)][outer]
        clear = ~d["border"]
        missed = clear & d["y"] & ~d["rules"]
        others = clear & ~d["y"] & ~d["rules"] & ~d["veto"]
        quartiles = (
            ", ".join(f"{q:.2f}" for q in np.quantile(p[missed], [0.25, 0.5, 0.75])) if missed.any() else "-"
        )
        adds = "; ".join(
            f">= {t}: +{int((missed & (p >= t)).sum())} right, +{int((others & (p >= t)).sum())} wrong"
            for t in (0.6, 0.4, 0.2)
        )
        print(
            f"  {int(missed.sum())} relevant rows the rules miss, probability quartiles {quartiles}; {adds}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
