"""Crawl benchmark: a generated Legistar portal on loopback with a per-request latency.

    ./dev bench bench_crawl                       # 20,000 matters, 100,000 history rows, 50 ms, cap 16
    ./dev bench bench_crawl --matters 2000 --histories 10000
    ./dev bench bench_crawl --compare             # the side-by-side: 2,044 matters, 20 ms, cap 16

Runs the real `tracker crawl` in a child process (as the scheduler does) against the portal served from
this process, and prints for each step the wall time, matters per second, the requests made, and the crawl
process's CPU (user + system, from wait4) in total and per request:

1. a full backfill into an empty SQLite database (or --database URL);
2. a sweep that works off the backlogs the backfill left: the sponsors of the bills whose titles need no
   documents (``[crawl] sponsors_by_title``; not with ``--all-sponsors``) and their attachment lists;
3. an incremental crawl after --change (1%) of the matters changed status;
4. a reconciliation sweep (lists every matter, fetches only the ones that moved).

The matters' titles are real council titles (a seeded sample of ../shared/streams/*.tsv, read-only input,
when that folder exists; ``--synthetic-titles`` keeps the generator's "an ordinance amending Chapter N"
titles): which attachment lists a full crawl fetches depends on the titles (crawler/attachments.py).

``--compare`` runs, against the same portal and before step 1, two other clients, each in a child process:

- **reference model**: the request pattern of python-legistar-scraper's ``LegistarAPIBillScraper`` as a
  pupa bill scraper drives it (pages of 1,000 matters, then each visible matter's histories, sponsors and
  attachments), one request at a time on a ``requests`` session as scrapelib makes them, each answer
  JSON-decoded, nothing else (no pupa objects, no validation, no storage). The reference itself is not on
  PyPI and is not installed here, so this model stands in for it; it does less work per request than the
  reference, so a speed-up measured against it is a lower bound of the speed-up against the reference.
- **bare asynchronous client**: the listing, histories and sponsors requests only, ``--cap`` keep-alive
  connections on asyncio streams, no parsing beyond the listing's ids, no storage: a floor for any crawler.
  A side-by-side measurement found the reference 21.8 times slower than such a client on the same portal;
  ``reference (est.)`` is that factor times this run's bare client.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
    attachments_per_crawl: int | None = None,
    attachments_by_title: bool = True,
    sponsors_by_title: bool = True,
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
                *(
                    [f"attachments_per_crawl = {attachments_per_crawl}"]
                    if attachments_per_crawl is not None
                    else []
                ),
                *([] if attachments_by_title else ["attachments_by_title = false"]),
                *([] if sponsors_by_title else ["sponsors_by_title = false"]),
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


STREAMS = REPO.parent / "shared" / "streams"


def real_titles(portal: Any, client: str, seed: int = 0) -> int:
    """Give the client's matters real council titles (a seeded sample of every stream, read at run time,
    never copied); the number of titles set (0 without the streams)."""
    titles: list[str] = []
    for path in sorted(STREAMS.glob("*.tsv")):
        with path.open(encoding="utf-8") as f:
            rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            titles += [row["title"] for row in rows if row.get("title")]
    matters = [portal.client(client).matters[k] for k in sorted(portal.client(client).matters)]
    if not titles:
        return 0
    picked = random.Random(seed).sample(titles, min(len(titles), len(matters)))
    for matter, title in zip(matters, picked, strict=False):
        matter.title = title
    return len(picked)


# The reference's time over a bare asynchronous client's, measured side by side on one portal.
REFERENCE_OVER_BARE = 21.8


def child(cmd: list[str]) -> tuple[float, float, str]:
    """Run ``cmd``; its wall time, its CPU (user + system of it and its children, wait4) and its output."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd[1:4])} failed:\n{stdout}\n{stderr[-3000:]}")
    LAST_STDERR[:] = [stderr]
    return elapsed, usage.ru_utime + usage.ru_stime, stdout.strip()


LAST_STDERR: list[str] = [""]
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


def log_phases(log: str, started: float, elapsed: float) -> str:
    """The serial phases of a ``-v`` crawl from its log's timestamps (local time, to the millisecond)."""
    marks: dict[str, float] = {}
    for line in log.splitlines():
        m = _STAMP.match(line)
        if not m:
            continue
        at = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000 - started
        if "Scrapy" in line and " started " in line:
            marks.setdefault("scrapy", at)
        elif "Spider closed" in line:
            marks["closed"] = at
        elif ": imported " in line:
            marks["imported"] = at
    if len(marks) < 3:
        return "full backfill phases: not found in the log"
    return (
        f"full backfill phases: start-up {marks['scrapy']:.1f}s (process start to Scrapy's start), crawl "
        f"{marks['closed'] - marks['scrapy']:.1f}s (to the last shard's close), after the crawl "
        f"{marks['imported'] - marks['closed']:.1f}s (import and matching), "
        f"exit {elapsed - marks['imported']:.1f}s"
    )


PROFILER: list[str] = []  # a command the tracker runs under (--py-spy)


def tracker(config: Path, *args: str) -> tuple[float, float, str]:
    return child([*PROFILER, sys.executable, "-m", "tracker", "--config", str(config), *args])


# -- the comparison clients (run as `bench_crawl.py --client KIND URL`) ---------------------------------


def reference_model(base: str) -> int:
    """Sequential, on one requests session: pages of 1,000 matters, then histories, sponsors and
    attachments of each visible matter. Returns the requests made."""
    import requests

    session = requests.Session()
    made = 0

    def get(url: str, params: dict | None = None) -> object:
        nonlocal made
        made += 1
        response = session.get(url, params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    skip, ids = 0, []
    while True:
        page = get(f"{base}/matters", {"$top": 1000, "$skip": skip})
        assert isinstance(page, list)
        ids += [m["MatterId"] for m in page if not m.get("MatterRestrictViewViaWeb")]
        if len(page) < 1000:
            break
        skip += len(page)
    for mid in ids:
        for what in ("histories", "sponsors", "attachments"):
            get(f"{base}/matters/{mid}/{what}")
    return made


async def _bare(base: str, cap: int) -> int:
    split = urlsplit(base)
    host, port, path = split.hostname or "127.0.0.1", split.port or 80, split.path
    made = 0

    async def fetch(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], target: str) -> bytes:
        nonlocal made
        made += 1
        reader, writer = conn
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.lower().split(b"\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in lines if line.startswith(b"content-length"))
        return await reader.readexactly(length)

    first = await asyncio.open_connection(host, port)
    ids: list[int] = []
    skip = 0
    while True:
        page = json.loads(await fetch(first, f"{path}/matters?%24top=1000&%24skip={skip}"))
        ids += [m["MatterId"] for m in page if not m.get("MatterRestrictViewViaWeb")]
        if len(page) < 1000:
            break
        skip += len(page)
    queue = [f"{path}/matters/{mid}/{what}" for mid in ids for what in ("histories", "sponsors")]

    async def worker(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        while queue:
            await fetch(conn, queue.pop())
        conn[1].close()

    conns = [first] + [await asyncio.open_connection(host, port) for _ in range(cap - 1)]
    await asyncio.gather(*(worker(c) for c in conns))
    return made


def run_client(kind: str, base: str, cap: int) -> None:
    made = reference_model(base) if kind == "reference" else asyncio.run(_bare(base, cap))
    print(made)


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
    parser.add_argument(
        "--attachments-per-crawl",
        type=int,
        help="[crawl] attachments_per_crawl (default 5000): the attachment lists a crawl fetches, newest "
        "matters first; the others wait in the backlog that sweeps work off",
    )
    parser.add_argument(
        "--all-attachments",
        action="store_true",
        help="[crawl] attachments_by_title = false: the full backfill fetches every attachment list",
    )
    parser.add_argument(
        "--all-sponsors",
        action="store_true",
        help="[crawl] sponsors_by_title = false: the full backfill fetches every matter's sponsors (by "
        "default it leaves those of the titles that need no documents to the sweep)",
    )
    parser.add_argument(
        "--synthetic-titles",
        action="store_true",
        help="keep the generated titles instead of real council titles from ../shared/streams",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run the reference model and a bare client (default sizes then: 2,044 matters, 20 ms)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="record the full backfill with py-spy (wall clock, idle and worker processes included) as "
        "collapsed stacks in FILE",
    )
    parser.add_argument(
        "--phases",
        action="store_true",
        help="run the full backfill with -v and print its serial phases from the log's timestamps: start-up "
        "(process start to Scrapy's start), crawl (to the last shard's close) and after the crawl (the "
        "import and matching)",
    )
    parser.add_argument("--client", nargs=2, metavar=("KIND", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        run_client(args.client[0], args.client[1], args.cap)
        return
    if args.compare and "--matters" not in sys.argv:
        args.matters, args.histories = 2044, 10220
    if args.compare and "--latency" not in sys.argv:
        args.latency = 0.02

    t0 = time.perf_counter()
    # The portal's clock is now: the tracker's watermark is real time.
    portal = bulk_portal(n_matters=args.matters, n_histories=args.histories, now=datetime.now(UTC))
    titled = 0 if args.synthetic_titles else real_titles(portal, "bench")
    built = time.perf_counter() - t0
    print(
        f"portal: {args.matters} matters, {args.histories} history rows, "
        f"{'real titles from ' + str(STREAMS) if titled else 'generated titles'}, built in {built:.1f}s"
    )
    rows: list[tuple[str, float, int, int, float, str]] = []
    phases: list[str] = []
    others: list[tuple[str, float, int, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp,
        LegistarPortalServer(portal, latency=args.latency) as server,
    ):
        database = args.database or f"sqlite:///{tmp}/bench.db"
        config = Path(tmp) / "bench.toml"
        sweep_config = Path(tmp) / "sweep.toml"
        budget = args.attachments_per_crawl
        by_title, sponsors = not args.all_attachments, not args.all_sponsors
        write_config(config, server, database, args.cap, 24, args.processes, budget, by_title, sponsors)
        write_config(sweep_config, server, database, args.cap, 0, args.processes, budget, by_title, sponsors)
        tracker(config, "init")

        def step(label: str, cfg: Path, *extra: str, verbose: bool = False) -> None:
            server.reset_requests()
            started = time.time()
            elapsed, cpu, summary = tracker(cfg, *(["-v"] if verbose else []), "crawl", *extra)
            if verbose:
                phases.append(log_phases(LAST_STDERR[0], started, elapsed))
            seen = int(summary.split(" bills seen")[0].rsplit(" ", 1)[1])
            lists = sum(1 for path, *_ in server.requests if path.endswith("/attachments"))
            sponsors = sum(1 for path, *_ in server.requests if path.endswith("/sponsors"))
            load = os.getloadavg()[0]
            rows.append((label, elapsed, seen, server.request_count, lists, sponsors, cpu, load, summary))

        if args.compare:
            base = f"{server.base_url}/bench"
            for kind, label in (("reference", "reference model"), ("bare", "bare async client")):
                server.reset_requests()
                cmd = [sys.executable, __file__, "--cap", str(args.cap), "--client", kind, base]
                elapsed, cpu, made = child(cmd)
                assert int(made) == server.request_count, (made, server.request_count)
                others.append((label, elapsed, server.request_count, cpu, os.getloadavg()[0]))
        if args.py_spy:
            PROFILER[:] = ["py-spy", "record", "--idle", "--subprocesses", "-r", "250", "--format", "raw"]
            PROFILER.extend(["-o", args.py_spy, "--"])
        step("full backfill", config, "--full", verbose=args.phases)
        PROFILER.clear()
        if not args.all_sponsors:
            # The sweep that works off the sponsors and attachments backlogs the backfill left (two requests
            # a waiting bill, three with its attachment list): the daily sweep, or `crawl --sweep`.
            step("sweep of the backfill's backlogs", config, "--sweep")
        changed = portal.client("bench").touch_fraction(args.change, bump_last_modified=True)
        step(f"incremental after {len(changed)} changed", config)
        portal.client("bench").touch_fraction(args.change, bump_last_modified=False)
        step("sweep after 1% changed quietly", sweep_config)

    print(
        f"latency {args.latency * 1000:.0f} ms per request, per-host cap {args.cap}, "
        f"{args.processes} crawler process(es) for the backfill"
    )
    print(
        f"{'step':<34} {'seconds':>8} {'matters':>8} {'matters/s':>10} {'requests':>9} {'att.lists':>9} "
        f"{'sponsors':>8} {'CPU s':>7} {'CPU ms/req':>10} {'load':>5}"
    )
    for label, elapsed, seen, requests, lists, sponsors, cpu, load, _ in rows:
        print(
            f"{label:<34} {elapsed:>8.1f} {seen:>8} {seen / elapsed:>10.1f} {requests:>9} {lists:>9} "
            f"{sponsors:>8} {cpu:>7.1f} {cpu * 1000 / max(1, requests):>10.2f} {load:>5.1f}"
        )
    for label, elapsed, requests, cpu, load in others:
        print(
            f"{label:<34} {elapsed:>8.1f} {args.matters:>8} {args.matters / elapsed:>10.1f} {requests:>9} "
            f"{'':>9} {'':>8} {cpu:>7.1f} {cpu * 1000 / max(1, requests):>10.2f} {load:>5.1f}"
        )
    if others:
        full = rows[0][1]
        model, bare = others[0][1], others[1][1]
        print(
            f"full backfill: {model / full:.1f}x the reference model, "
            f"{REFERENCE_OVER_BARE * bare / full:.1f}x the reference (est. {REFERENCE_OVER_BARE} x the bare "
            f"client), {full / bare:.2f}x the bare client's time; load average {os.getloadavg()[0]:.2f}"
        )
        # Wall times move with the machine's load; CPU seconds and request counts do not. On a quiet
        # machine the backfill takes the longer of its latency floor (requests at the cap, one latency
        # each) and its CPU spread over the cores; the sequential model one latency plus its CPU per request.
        cores = os.cpu_count() or 1
        _, _, _, requests, _, _, cpu, _, _ = rows[0]
        floor = requests * args.latency / args.cap
        quiet = max(floor, cpu / cores)
        _, _, model_requests, model_cpu, _ = others[0]
        quiet_model = model_requests * args.latency + model_cpu
        print(
            f"quiet-machine estimate: full backfill {quiet:.1f}s (latency floor {floor:.1f}s, "
            f"{cpu:.1f}s CPU over {cores} cores), reference model {quiet_model:.0f}s: "
            f"{quiet_model / quiet:.1f}x"
        )
    for line in phases:
        print(line)
    for label, *_, summary in rows:
        print(f"  {label}: {summary}")


if __name__ == "__main__":
    main()
