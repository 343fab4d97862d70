"""How the matcher's time grows with a field's length: ``python bench/bench_matcher_long.py``.

The matcher was quadratic in a title's length (62,000 characters took 3 s, 1.2 MB ran for more
than 12 minutes). Every step is now linear or n log n in what it reads, and it reads at most
``FIELD_LIMITS`` characters of each field (tracker/matcher/engine.py). This prints the seconds taken for
hostile titles of 10k, 100k and 1M characters, both as the matcher reads them (capped) and uncapped (the
engine's internal path, to show the growth is linear), for a few shapes: one relevant phrase repeated
(the worst case before: every match compared with every other), a mix of real titles, and runs of one
letter. No assertion: this is a measurement.
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


def shapes() -> dict[str, str]:
    titles = [i.title for i in read_labelled(DEVSET / "dev.csv")]
    return {
        "repeated phrase": "sanctuary city ",
        "cues and terms": "new school resource officer program ended; ICE detainer ",
        "real titles": " ".join(titles) + " ",
        "one letter": "a",
    }


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args(argv)
    matcher = Matcher(load_rules())
    print(f"{'shape':<18}{'chars':>10}{'capped s':>11}{'uncapped s':>12}")
    for name, unit in shapes().items():
        for size in args.sizes:
            title = (unit * (size // len(unit) + 1))[:size]
            capped = timed(matcher.classify, title)
            uncapped = timed(matcher._classify, [("title", title)])
            print(f"{name:<18}{size:>10}{capped:>11.3f}{uncapped:>12.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
