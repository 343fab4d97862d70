"""How fast the matcher classifies titles: ``python bench/bench_classify.py [--count N] [--repeat R]``.

The goal is 20,000 titles in under 2 seconds on the project's 2-core machine, so that rescoring
a whole database is instant. The titles are the real ones of the labelled set (tracker/matcher/devset),
made distinct with a file-number suffix so that nothing is served from a cache, in two mixes:

* ``agenda``: about 1 title in 12 relevant, roughly what a council's feed looks like;
* ``relevant-only``: only the relevant titles, the slowest case (every title goes through the full path).

Prints titles per second for each mix (best of ``--repeat`` runs). No assertion: this is a measurement.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.matcher import Matcher, load_rules
from tracker.matcher.evaluate import read_labelled

DEVSET = Path(__file__).resolve().parent.parent / "tracker" / "matcher" / "devset"


def titles_for(mix: str, count: int) -> list[str]:
    items = read_labelled(DEVSET / "dev.csv") + read_labelled(DEVSET / "holdout.csv")
    relevant = [i.title for i in items if i.relevant]
    other = [i.title for i in items if not i.relevant]
    if mix == "relevant-only":
        pool = relevant
    else:  # agenda: 1 relevant title for every 11 others
        pool = []
        for k in range(len(other)):
            pool.append(other[k])
            if k % 11 == 0:
                pool.append(relevant[(k // 11) % len(relevant)])
    return [f"{pool[n % len(pool)]} (File {n})" for n in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    matcher = Matcher(load_rules())
    print(f"rules loaded and compiled in {time.perf_counter() - start:.3f}s")
    for mix in ("agenda", "relevant-only"):
        titles = titles_for(mix, args.count)
        best = float("inf")
        relevant = 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            results = matcher.classify_many(titles)
            best = min(best, time.perf_counter() - start)
            relevant = sum(r.relevant for r in results)
        print(
            f"{mix:>14}: {len(titles):,} titles in {best:.2f}s = {len(titles) / best:,.0f} titles/s "
            f"({relevant:,} relevant; best of {args.repeat})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
