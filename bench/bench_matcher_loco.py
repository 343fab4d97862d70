"""Leave-one-council-out quality of the matcher on whole real council streams, and its speed.

For each council of ../shared/streams that has labels in tracker/matcher/labels/, a model is trained on the
*other* councils' labelled titles plus devset/dev.csv, and the whole stream of the council left out is
classified: every row, each with its label (every row of the four streams has been read and labelled:
tracker/matcher/labels/README.md; a row without a label would count as not relevant). Clear rows and
borderline rows (an editor could go either way) are scored apart. The rules engine alone is scored on
the same rows.

Then the keyword-picked sets (devset/holdout.csv, never trained on) with the shipped model, and speed:
model load, 20,000 stream titles classified (embedding cache cold), peak memory.

    ./dev bench bench_matcher_loco            # all of it (a few minutes on 2 cores)
    ./dev bench bench_matcher_loco --quick    # quality only, no speed run
"""

from __future__ import annotations

import csv
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tracker.matcher.embed import EmbeddingCache, load_embedder  # noqa: E402
from tracker.matcher.engine import Matcher  # noqa: E402
from tracker.matcher.evaluate import Scored, score  # noqa: E402
from tracker.matcher.hybrid import HybridMatcher  # noqa: E402
from tracker.matcher.learned import LABELS_DIR, load_shipped_model, shipped_examples  # noqa: E402
from tracker.matcher.rules import load_rules  # noqa: E402
from tracker.matcher.streams import STREAMS_DIR, labelled_stream  # noqa: E402
from tracker.matcher.training import train_model  # noqa: E402


def line(name: str, s: Scored) -> str:
    return (
        f"  {name:<28} n={s.total:<6} relevant={s.gold_relevant:<4} P={s.precision:.2f} R={s.recall:.2f} "
        f"F1={s.f1:.2f} (tp {s.tp}, fp {s.fp}, fn {s.fn})  category {s.category_accuracy:.2f}  "
        f"direction {s.direction_accuracy:.2f}"
    )


def near_misses(rows: list, results: list) -> str:
    """Near misses (not relevant, uncertain: they wait in the editors' queue, not on the list) among clear
    rows, and how many relevant rows reach the queue at all (listed or near miss)."""
    near = [
        r for r, x in zip(rows, results, strict=True) if not x.relevant and getattr(x, "uncertain", False)
    ]
    relevant = [r for r in rows if r.relevant]
    reached = sum(
        1
        for r, x in zip(rows, results, strict=True)
        if r.relevant and (x.relevant or getattr(x, "uncertain", False))
    )
    share = f"{reached / len(relevant):.2f}" if relevant else "n/a"
    return (
        f"  {'near misses, clear rows':<28} {len(near)} in the queue, not listed "
        f"({sum(r.relevant for r in near)} relevant); relevant rows reaching the queue: {reached} of "
        f"{len(relevant)} ({share})"
    )


def main() -> int:
    quick = "--quick" in sys.argv
    rules = Matcher(load_rules())
    cache = EmbeddingCache(load_embedder())
    councils = sorted(p.stem for p in LABELS_DIR.glob("*.csv"))
    print("Leave one council out (train on the others + dev.csv; score the whole stream of the one left out)")
    for council in councils:
        rows = labelled_stream(council)
        train = shipped_examples([c for c in councils if c != council])
        model = train_model(train, version=f"loco-{council}", rules=rules, cache=cache)
        hybrid = HybridMatcher(rules, model, cache)
        titles = [r.title for r in rows]
        predicted = hybrid.classify_many(titles)
        by_rules = rules.classify_many(titles)
        clear = [i for i, r in enumerate(rows) if not r.borderline]
        border = [i for i, r in enumerate(rows) if r.borderline]
        print(f"{council}: {len(rows)} rows ({len(border)} borderline), trained on {len(train)} examples")
        for name, results in (("rules + learned", predicted), ("rules alone", by_rules)):
            print(line(f"{name}, clear rows", score([rows[i] for i in clear], [results[i] for i in clear])))
            print(
                line(
                    f"{name}, borderline rows", score([rows[i] for i in border], [results[i] for i in border])
                )
            )
        print(near_misses([rows[i] for i in clear], [predicted[i] for i in clear]))
    holdout = REPO / "tracker/matcher/devset/holdout.csv"
    from tracker.matcher.evaluate import read_labelled

    items = read_labelled(holdout)
    shipped = HybridMatcher(rules, load_shipped_model(), cache)
    print("Keyword-picked titles, shipped model (trained on every label and dev.csv, never on holdout.csv)")
    print(line("holdout.csv", score(items, shipped.classify_many([i.title for i in items]))))
    print(line("holdout.csv, rules alone", score(items, rules.classify_many([i.title for i in items]))))
    if quick:
        return 0
    titles = []
    for path in sorted(STREAMS_DIR.glob("*.tsv")):
        with path.open(newline="", encoding="utf-8") as fh:
            titles += [r["title"] for r in csv.DictReader(fh, delimiter="\t")]
    titles = titles[:20_000]
    started = time.perf_counter()
    fresh = HybridMatcher(Matcher(load_rules()), load_shipped_model(), EmbeddingCache(load_embedder()))
    loaded = time.perf_counter()
    fresh.classify_many(titles)
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"speed: model and rules loaded in {loaded - started:.2f} s (embedder already in memory);"
          f" {len(titles)} titles classified in {done - loaded:.1f} s;"
          f" peak memory {peak:.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
