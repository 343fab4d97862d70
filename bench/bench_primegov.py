"""PrimeGov crawl benchmark: a generated PrimeGov-like portal on loopback with a per-request latency.

    ./dev bench bench_primegov                          # 2,000 agenda items, 20 a meeting, 50 ms, cap 16
    ./dev bench bench_primegov --items 20000 --per-meeting 40

Runs the real `tracker crawl` in a child process against tracker/demo/primegov_portal.py's generated portal
(past meetings with an HTML journal, upcoming ones with an HTML agenda; each file number heard at a
committee and then at the council, one item in ten without a number) and prints for each step the wall time,
the bills seen and the requests made:

1. the first crawl into an empty SQLite database (or --database URL);
2. a crawl after --change (1%) of the recorded outcomes changed (journals amended);
3. a crawl with nothing changed (it reads every agenda of the window again and writes nothing).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tracker.demo.primegov_portal import AppServer, change_outcomes, generated_portal  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_crawl import tracker  # noqa: E402  (the `tracker` child-process runner, timed)


def write_config(path: Path, server: AppServer, database: str, cap: int) -> None:
    path.write_text(
        "\n".join(
            [
                "[database]",
                f'url = "{database}"',
                "[crawl]",
                f"per_host_concurrency = {cap}",
                "[[jurisdictions]]",
                'slug = "bench"',
                'name = "Bench City Council"',
                'platform = "primegov"',
                'tenant = "bench"',
                f'base_url = "{server.base_url}"',
                'timezone = "America/Los_Angeles"',
                "",
            ]
        ),
        encoding="utf-8",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--per-meeting", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every response")
    parser.add_argument("--cap", type=int, default=16, help="per-host concurrency cap")
    parser.add_argument(
        "--change", type=float, default=0.01, help="fraction of outcomes changed before step 2"
    )
    parser.add_argument("--database", help="database URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()

    portal = generated_portal(items=args.items, per_meeting=args.per_meeting)
    pages = len(portal.pages)
    print(f"portal: {args.items} agenda items on {pages} meetings ({args.per_meeting} a meeting)")
    rows: list[tuple[str, float, int, int, str]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-primegov-") as tmp,
        AppServer(portal, args.latency) as server,
    ):
        database = args.database or f"sqlite:///{tmp}/bench.db"
        config = Path(tmp) / "bench.toml"
        write_config(config, server, database, args.cap)
        tracker(config, "init")

        def step(label: str) -> None:
            server.reset()
            elapsed, summary = tracker(config, "crawl")
            seen = int(summary.split(" bills seen")[0].rsplit(" ", 1)[1])
            rows.append((label, elapsed, seen, len(server.requests), summary))

        step("first crawl")
        changed = change_outcomes(portal, args.change)
        step(f"after {changed} outcomes changed")
        step("nothing changed")

    print(f"latency {args.latency * 1000:.0f} ms per request, per-host cap {args.cap}")
    print(f"{'step':<30} {'seconds':>8} {'bills':>7} {'requests':>9}")
    for label, elapsed, seen, requests, _ in rows:
        print(f"{label:<30} {elapsed:>8.1f} {seen:>7} {requests:>9}")
    for label, *_, summary in rows:
        print(f"  {label}: {summary}")


if __name__ == "__main__":
    main()
