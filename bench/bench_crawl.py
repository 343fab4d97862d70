"""Crawl benchmark: a generated Legistar portal on loopback with a per-request latency.

    ./dev bench bench_crawl                       # 20,000 matters, 100,000 history rows, 50 ms, cap 16
    ./dev bench bench_crawl --matters 2000 --histories 10000

Runs the real `tracker crawl` in a child process (as the scheduler does) against the portal served from
this process, and prints for each step the wall time, matters per second and the requests made:

1. a full backfill into an empty SQLite database (or --database URL);
2. an incremental crawl after --change (1%) of the matters changed status;
3. a reconciliation sweep (lists every matter, fetches only the ones that moved).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tracker.demo import LegistarPortalServer, bulk_portal  # noqa: E402


def write_config(
    path: Path,
    server: LegistarPortalServer,
    database: str,
    cap: int,
    reconcile_hours: float,
    processes: int = 2,
) -> None:
    path.write_text(
        "\n".join(
            [
                "[database]",
                f'url = "{database}"',
                "[crawl]",
                f"per_host_concurrency = {cap}",
                f"processes = {processes}",
                f"reconcile_every_hours = {reconcile_hours}",
                "[[jurisdictions]]",
                'slug = "bench"',
                'name = "Bench City Council"',
                'platform = "legistar"',
                'client = "bench"',
                f'api_base = "{server.base_url}"',
                'timezone = "America/Chicago"',
                "",
            ]
        ),
        encoding="utf-8",
    )


def tracker(config: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "tracker", "--config", str(config), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"tracker {' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return elapsed, result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--matters", type=int, default=20000)
    parser.add_argument("--histories", type=int, default=100000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every response")
    parser.add_argument("--cap", type=int, default=16, help="per-host concurrency cap")
    parser.add_argument(
        "--change", type=float, default=0.01, help="fraction of matters changed before step 2"
    )
    parser.add_argument("--database", help="database URL (default: SQLite in a temporary directory)")
    parser.add_argument("--processes", type=int, default=2, help="[crawl] processes of the full backfill")
    args = parser.parse_args()

    t0 = time.perf_counter()
    # The portal's clock is now: the tracker's watermark is real time.
    portal = bulk_portal(n_matters=args.matters, n_histories=args.histories, now=datetime.now(UTC))
    built = time.perf_counter() - t0
    print(f"portal: {args.matters} matters, {args.histories} history rows, built in {built:.1f}s")
    rows: list[tuple[str, float, int, int, str]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp,
        LegistarPortalServer(portal, latency=args.latency) as server,
    ):
        database = args.database or f"sqlite:///{tmp}/bench.db"
        config = Path(tmp) / "bench.toml"
        sweep_config = Path(tmp) / "sweep.toml"
        write_config(config, server, database, args.cap, 24, args.processes)
        write_config(sweep_config, server, database, args.cap, 0, args.processes)
        tracker(config, "init")

        def step(label: str, cfg: Path, *extra: str) -> None:
            server.reset_requests()
            elapsed, summary = tracker(cfg, "crawl", *extra)
            seen = int(summary.split(" bills seen")[0].rsplit(" ", 1)[1])
            rows.append((label, elapsed, seen, server.request_count, summary))

        step("full backfill", config, "--full")
        changed = portal.client("bench").touch_fraction(args.change, bump_last_modified=True)
        step(f"incremental after {len(changed)} changed", config)
        portal.client("bench").touch_fraction(args.change, bump_last_modified=False)
        step("sweep after 1% changed quietly", sweep_config)

    print(
        f"latency {args.latency * 1000:.0f} ms per request, per-host cap {args.cap}, "
        f"{args.processes} crawler process(es) for the backfill"
    )
    print(f"{'step':<34} {'seconds':>8} {'matters':>8} {'matters/s':>10} {'requests':>9}")
    for label, elapsed, seen, requests, _ in rows:
        print(f"{label:<34} {elapsed:>8.1f} {seen:>8} {seen / elapsed:>10.1f} {requests:>9}")
    for label, *_, summary in rows:
        print(f"  {label}: {summary}")


if __name__ == "__main__":
    main()
