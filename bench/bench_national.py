"""National-scale crawl benchmark: ~1,000 small Legistar councils behind one shared API host.

    ./dev bench bench_national                          # 1,000 councils, SQLite and PostgreSQL, 2 cycles
    ./dev bench bench_national --quick                  # 100 councils, SQLite and PostgreSQL, 1 cycle
    ./dev bench bench_national --councils 300 --engines sqlite --latency 0.1

Advocates cover every city that matters to them: on the order of a thousand Legistar clients, all served by
one API host (webapi.legistar.com), so the per-host politeness cap binds the whole country at once. This
benchmark builds that situation on loopback and measures one **incremental cycle over all councils**:

1. **Portal.** ``--councils`` generated councils (tracker.demo.bulk_portal, one client each) in one Portal
   served by ONE loopback server (one host, ``--latency`` seconds added to every answer). Council sizes are
   skewed like real ones (log-normal, median ``--median`` matters over two years, 40 to 2,000), with about
   five history rows per matter, one sponsor and one attachment.
2. **Seed.** Each engine's database gets every council's first full crawl. A real full crawl of 250,000
   matters costs three requests per matter (hours on this machine), so by default the seed reads the portal's
   answers in process (LegistarApp.handle, the exact bytes the server would send, no socket) and stages them
   through the tracker's own stage pipeline (crawler.pipelines.StagePipeline: normalise, sanitise, hash) and
   importer (tracker.store.import_job, one transaction per council, matcher included), as a full crawl does.
   ``--seed-by-crawl`` runs the real ``tracker crawl --full`` instead (to check the two agree on small N).
3. **Churn.** One week of a small council's life, per council: 1% of its matters are new (introduced
   today), 2.5% change status with a history row (10% of those, Legistar's quirk, without a new
   ``MatterLastModifiedUtc``: an incremental crawl cannot see them, the next sweep does), 0.5% gain a history
   row without a status change.
4. **Cycle.** One ``tracker crawl`` child process over every council (what the scheduler runs), with the
   per-host cap ``--cap``. Measured: wall time, requests (by kind, from the server's log), the most requests
   in flight at once at the host, the child's CPU (user+sys) and peak RSS (wait4), the portal's CPU (this
   process, beside it on the same cores), and the database's growth. ``--cycles`` repeats 3-4 (each cycle's
   watermark overlaps the previous one by ``overlap_hours``, so quiet matters with a date in the window are
   probed: one request each).

PostgreSQL: a database ``bench_national_<pid>`` is created on the server of ``--pg-url`` and dropped at the
end. SQLite: a file in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tracker.demo import LegistarApp, LegistarPortalServer, Portal, bulk_portal  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NEW_FRACTION = 0.01
STATUS_FRACTION = 0.025
HISTORY_FRACTION = 0.005


# --------------------------------------------------------------------------------------------- portal


def council_sizes(count: int, median: int, seed: int) -> list[int]:
    rng = random.Random(f"{seed}/sizes")
    return [max(40, min(2000, round(median * math.exp(rng.gauss(0, 0.8))))) for _ in range(count)]


def build_portal(sizes: list[int], seed: int, now: datetime) -> Portal:
    portal = Portal(now=now)
    for i, size in enumerate(sizes):
        name = f"c{i:04d}"
        one = bulk_portal(size, size * 5, client=name, seed=seed, now=now, years=2)
        portal.add_client(one.client(name))
    return portal


def write_config(
    path: Path, server_url: str, portal: Portal, database: str, args: argparse.Namespace
) -> Path:
    lines = [
        "[database]",
        f'url = "{database}"',
        "[crawl]",
        f"per_host_concurrency = {args.cap}",
        "processes = 1",
        "reconcile_every_hours = 720",  # an incremental cycle, not a sweep
        "",
    ]
    lines += portal.config_lines(server_url)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def churn(portal: Portal, seed: int, cycle: int) -> dict[str, int]:
    """One week of changes in every council; returns counts by kind."""
    rng = random.Random(f"{seed}/churn/{cycle}")
    portal.set_clock(datetime.now(UTC))
    counts: Counter[str] = Counter()
    for client in portal:
        visible = [row["MatterId"] for row in client.matter_rows()]
        n = len(visible)
        new = max(1, round(n * NEW_FRACTION * rng.uniform(0.5, 1.5)))
        for k in range(new):
            client.add_matter(
                f"New matter {k} of week {cycle}: an ordinance amending the Code",
                status_name=client.initial_status,
            )
        counts["new"] += new
        changed = client.touch_fraction(STATUS_FRACTION * rng.uniform(0.5, 1.5))
        quiet = sum(1 for mid in changed if client.matters[mid].stale_last_modified)
        counts["status"] += len(changed) - quiet
        counts["status_quiet"] += quiet
        for mid in rng.sample(visible, max(0, round(n * HISTORY_FRACTION))):
            client.add_history(mid, "Referred", body_name="City Council")
            counts["history"] += 1
    return dict(counts)


# --------------------------------------------------------------------------------------------- databases


@dataclass
class Engine:
    name: str
    url: str
    size: Any  # () -> bytes
    drop: Any  # () -> None


def sqlite_engine(tmp: Path) -> Engine:
    path = tmp / "national.db"

    def size() -> int:
        return sum(p.stat().st_size for p in tmp.glob("national.db*"))

    return Engine("sqlite", f"sqlite:///{path}", size, lambda: None)


def postgres_engine(admin_url: str) -> Engine:
    import psycopg

    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"bench_national_{os.getpid()}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"

    def size() -> int:
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
            return int(row[0]) if row else 0

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return Engine("postgresql", url, size, drop)


# --------------------------------------------------------------------------------------------- seed


def seed_in_process(config_path: Path, portal: Portal) -> tuple[int, int]:
    """Every council's first full crawl, read from the portal in process and imported by the tracker's own
    stage pipeline and importer. Returns (bills staged, answers read)."""
    from crawler.jobs import CrawlJob
    from crawler.middlewares import JSON_META
    from crawler.pipelines import StagePipeline
    from crawler.spiders.legistar import LegistarApiSpider
    from db.engine import make_engine
    from db.types import utcnow
    from tracker.config import load_config
    from tracker.store import import_job

    logging.disable(logging.INFO)  # a line per council and per match
    config = load_config(config_path)
    engine = make_engine(config.database_url)
    app = LegistarApp(portal)
    stage_dir = config_path.parent / "seed-stage"
    stage_dir.mkdir(exist_ok=True)
    started = utcnow()
    staged = answers = 0

    def get(path: str) -> Any:
        nonlocal answers
        answers += 1
        reply = app.handle("GET", path)
        if reply.status != 200:
            raise RuntimeError(f"{path}: HTTP {reply.status}")
        return json.loads(reply.body)

    for cfg in config.jurisdictions:
        job = CrawlJob(
            jurisdiction=cfg,
            mode="full",
            started_at=started,
            stage_path=stage_dir / f"{cfg.slug}.jsonl",
            settings=config.crawl,
        )
        # The spider's own callback builds the item the pipeline stages, from the answers' JSON.
        spider = LegistarApiSpider(jobs=[job])
        pipeline = StagePipeline(SimpleNamespace(spider=spider))  # type: ignore[arg-type]  # reads .spider alone
        pipeline.open_spider()
        base = f"/v1/{cfg.client}/matters"
        skip = 0
        while True:
            rows = get(f"{base}?{quote('$orderby')}=MatterId%20desc&%24top=1000&%24skip={skip}")
            for matter in rows:
                if matter.get("MatterRestrictViewViaWeb") is True:
                    job.skipped_restricted += 1
                    continue
                mid = matter["MatterId"]
                job.listed.add(str(mid))
                job.fetched += 1
                histories = get(f"{base}/{mid}/histories")
                sponsors = get(f"{base}/{mid}/sponsors")
                answer = SimpleNamespace(meta={JSON_META: get(f"{base}/{mid}/attachments")})
                for item in spider.parse_attachments(
                    # (the ignore below) a stand-in response: the callback reads .meta alone
                    answer,
                    cfg.slug,
                    matter,
                    histories=histories,
                    sponsors=sponsors,  # type: ignore[arg-type]
                ):
                    pipeline.process_item(item)
            if len(rows) < 1000:
                break
            skip += len(rows)
        pipeline.close_spider()
        staged += job.staged
        summary = import_job(engine, job, 0)
        if summary.status != "succeeded":
            raise RuntimeError(f"seed of {cfg.slug}: {summary.line()}")
        job.stage_path.unlink()
    engine.dispose()
    logging.disable(logging.NOTSET)
    return staged, answers


# --------------------------------------------------------------------------------------------- crawl


def run_tracker(config: Path, *args: str, log: Path, wrap: list[str] | None = None) -> dict[str, float]:
    """``tracker ARGS`` in a child process; wall time, CPU and peak RSS of the child (wait4). ``wrap``: a
    command to run it under (a profiler), whose own figures then count too."""
    start = time.perf_counter()
    bench_cpu = time.process_time()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*(wrap or [sys.executable]), "-m", "tracker", "--config", str(config), *args],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode not in (0,):
        sys.exit(f"tracker {' '.join(args)} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "portal_cpu": time.process_time() - bench_cpu,
    }


_KIND = re.compile(r"/matters(?:/\d+/(\w+))?$", re.IGNORECASE)


def request_kinds(server: LegistarPortalServer) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for logged in server.requests:
        m = _KIND.search(logged.path)
        kinds[(m.group(1) or "listing").lower() if m else "other"] += 1
    return kinds


def summary_totals(log: Path) -> Counter[str]:
    """Add up the per-council summary lines of ``tracker crawl``."""
    totals: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        for number, word in re.findall(r"(\d+) (bills seen|new|changed|status changes)", line):
            totals[word] += int(number)
        status = re.search(r"\b(succeeded|partial|failed|suspect)\b", line)
        if status:
            totals[status.group(1)] += 1
    return totals


# --------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--councils", type=int, default=1000)
    parser.add_argument("--median", type=int, default=100, help="median matters per council")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every answer")
    parser.add_argument("--cap", type=int, default=16, help="per-host concurrency cap")
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("TRACKER_TEST_PG_URL", PG_URL))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seed-by-crawl", action="store_true", help="seed with a real tracker crawl --full")
    parser.add_argument("--quick", action="store_true", help="100 councils, one cycle")
    parser.add_argument("--keep-logs", help="copy the crawl logs into this directory")
    parser.add_argument(
        "--seed-file",
        metavar="PATH",
        help="keep the seeded SQLite database here and reuse it on later runs with the same --councils, "
        "--median and --seed (the portal is rebuilt at the seed's clock)",
    )
    parser.add_argument(
        "--profile", metavar="DIR", help="run each cycle's crawl under cProfile, its output in DIR"
    )
    parser.add_argument(
        "--py-spy",
        metavar="DIR",
        help="run each cycle's crawl under py-spy (wall clock, idle included), collapsed stacks in DIR",
    )
    args = parser.parse_args()
    args.port = 0  # the portal's port: kept for every engine, and with a seed file
    if args.quick:
        args.councils = min(args.councils, 100)
        args.cycles = 1

    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
        f"latency {args.latency * 1000:.0f} ms, per-host cap {args.cap}"
    )
    now = datetime.now(UTC)
    sizes = council_sizes(args.councils, args.median, args.seed)
    seeded: Path | None = None
    if args.seed_file:
        seed_file = Path(args.seed_file)
        meta = seed_file.with_suffix(".json")
        key = {"councils": args.councils, "median": args.median, "seed": args.seed}
        if seed_file.exists() and meta.exists() and json.loads(meta.read_text())["key"] == key:
            seeded = seed_file
            saved = json.loads(meta.read_text())
            now = datetime.fromisoformat(saved["now"])
            args.port = saved.get("port", 0)
            print(f"reusing the seeded database {seed_file} (portal clock {now.isoformat()})")
        else:
            meta.write_text(json.dumps({"key": key, "now": now.isoformat()}))
    with tempfile.TemporaryDirectory(prefix="bench-national-") as tmp_name:
        tmp = Path(tmp_name)
        for engine_name in args.engines.split(","):
            seeded = bench_engine(engine_name.strip(), args, sizes, now, tmp, seeded)
            if args.seed_file and seeded is not None and seeded != Path(args.seed_file):
                shutil.copyfile(seeded, args.seed_file)
                seeded = Path(args.seed_file)
    print(f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def bench_engine(
    engine_name: str,
    args: argparse.Namespace,
    sizes: list[int],
    now: datetime,
    tmp: Path,
    seeded: Path | None,
) -> Path | None:
    """Seed (or copy the seeded SQLite file), then run the cycles. Returns the seeded SQLite file, if any."""
    t0 = time.perf_counter()
    # The same portal for every engine: deterministic for the seed and the clock.
    portal = build_portal(sizes, args.seed, now)
    matters = sum(len(c.matter_rows()) for c in portal)
    print(
        f"\n== {engine_name}: {args.councils} councils, {matters} visible matters "
        f"(median {sorted(sizes)[len(sizes) // 2]}, largest {max(sizes)}), built in "
        f"{time.perf_counter() - t0:.0f}s"
    )
    work = tmp / engine_name
    work.mkdir()
    # The stored bills hold the portal's URLs (port included): the same port keeps a reused seed's bills
    # unchanged where the portal did not change them.
    with LegistarPortalServer(portal, port=args.port, latency=args.latency) as server:
        args.port = server.port
        if args.seed_file and seeded is None:
            meta = Path(args.seed_file).with_suffix(".json")
            meta.write_text(json.dumps({**json.loads(meta.read_text()), "port": server.port}))
        engine = sqlite_engine(work) if engine_name == "sqlite" else postgres_engine(args.pg_url)
        try:
            config = write_config(work / "national.toml", server.base_url, portal, engine.url, args)
            run_tracker(config, "init", log=work / "init.log")
            t0 = time.perf_counter()
            if seeded is not None and engine_name == "sqlite":
                for leftover in work.glob("national.db-*"):  # init's WAL, if any
                    leftover.unlink()
                shutil.copyfile(seeded, work / "national.db")
                how = f"a copy of {seeded}"
            elif seeded is not None:
                copy = ("db", "copy", "--from", f"sqlite:///{seeded}", "--to", engine.url)
                run_tracker(config, *copy, log=work / "copy.log")
                how = "tracker db copy of the seeded SQLite database"
            elif args.seed_by_crawl:
                server.reset_requests()
                m = run_tracker(config, "crawl", "--full", log=work / "seed.log")
                how = f"tracker crawl --full: {server.request_count} requests, {m['cpu']:.0f}s CPU"
            else:
                bills, answers = seed_in_process(config, portal)
                how = f"in process: {bills} bills from {answers} answers"
            if engine_name == "sqlite" and seeded is None:
                seeded = tmp / "seeded.db"
                shutil.copyfile(work / "national.db", seeded)
            size0 = engine.size()
            print(f"seed ({how}) in {time.perf_counter() - t0:.0f}s; database {size0 / 2**20:.1f} MiB")
            print(
                f"{'cycle':<6} {'changes':>8} {'wall s':>7} {'requests':>9} {'req/chg':>8} "
                f"{'listing':>8} {'hist':>6} {'spons':>6} {'attach':>6} {'in-flt':>6} "
                f"{'CPU s':>6} {'ms/req':>7} {'RSS MB':>7} {'portal':>7} {'DB +MiB':>8}"
            )
            for cycle in range(1, args.cycles + 1):
                changes = churn(portal, args.seed, cycle)
                visible_changes = changes["new"] + changes["status"] + changes["history"]
                server.reset_requests()
                server.app._max_in_flight = 0  # per cycle
                before = engine.size()
                log = work / f"cycle{cycle}.log"
                wrap = None
                if args.profile:
                    Path(args.profile).mkdir(parents=True, exist_ok=True)
                    out = Path(args.profile) / f"{engine_name}-cycle{cycle}.prof"
                    wrap = [sys.executable, "-m", "cProfile", "-o", str(out)]
                elif args.py_spy:
                    Path(args.py_spy).mkdir(parents=True, exist_ok=True)
                    out = Path(args.py_spy) / f"{engine_name}-cycle{cycle}.txt"
                    spy = shutil.which("py-spy") or "py-spy"
                    wrap = [
                        spy,
                        "record",
                        "--idle",
                        "--format",
                        "raw",
                        "-r",
                        "200",
                        "-o",
                        str(out),
                        "--",
                        sys.executable,
                    ]
                m = run_tracker(config, "crawl", log=log, wrap=wrap)
                grown = engine.size() - before
                kinds = request_kinds(server)
                total = server.request_count
                totals = summary_totals(log)
                print(
                    f"{cycle:<6} {visible_changes:>8} {m['wall']:>7.1f} {total:>9} "
                    f"{total / max(1, visible_changes):>8.2f} {kinds['listing']:>8} {kinds['histories']:>6} "
                    f"{kinds['sponsors']:>6} {kinds['attachments']:>6} {server.max_in_flight:>6} "
                    f"{m['cpu']:>6.1f} {m['cpu'] * 1000 / max(1, total):>7.2f} {m['rss_mb']:>7.0f} "
                    f"{m['portal_cpu']:>7.1f} {grown / 2**20:>8.2f}"
                )
                print(
                    f"       churn: {changes}; crawl summaries: {dict(totals)}; "
                    f"load average {os.getloadavg()[0]:.2f}"
                )
                if args.keep_logs:
                    keep = Path(args.keep_logs)
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / f"{engine_name}-cycle{cycle}.log").write_text(log.read_text())
        finally:
            engine.drop()
    return seeded


if __name__ == "__main__":
    main()
