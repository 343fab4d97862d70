"""Running crawls: plan each jurisdiction's crawl from the database, crawl every jurisdiction of the run
with one Scrapy crawler (one download slot per host, so the per-host cap holds across jurisdictions),
then import each completed crawl in its own transaction.

The Twisted reactor cannot be restarted in a process: call :func:`run_crawl` once per process. The
scheduler and ``tracker demo`` run each crawl as a child process (``python -m tracker crawl``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.jobs import CrawlJob, Mode
from crawler.redact import redact_url
from db.engine import make_engine, require_schema, session_scope
from db.types import utcnow
from tracker.config import Config
from tracker.errors import ConfigError
from tracker.identity import move_problem
from tracker.store import (
    RunSummary,
    ensure_jurisdiction,
    import_job,
    incremental_since,
    known_state,
    last_success,
    tracked_ids,
)

logger = logging.getLogger(__name__)


def plan_jobs(
    config: Config,
    engine: Any,
    slugs: list[str],
    full: bool,
    stage_dir: Path,
    sweep: bool = False,
    only: set[str] | None = None,
) -> list[CrawlJob]:
    """One job per jurisdiction; ``only``: a track crawl of these source ids (one jurisdiction)."""
    now = utcnow()
    jobs = []
    with session_scope(engine) as session:
        for cfg in config.select(slugs):
            row = ensure_jurisdiction(session, cfg)
            last = last_success(session, row.id)
            last_sweep = last_success(session, row.id, modes=("full", "sweep"))
            mode: Mode
            if only:
                mode = "track"
            elif (
                full
                or last is None
                or (row.source_key != cfg.source_key and row.source_key in cfg.moved_from)
            ):
                # the first crawl after a declared portal move lists everything, so every stored bill is
                # matched in it (or marked vanished)
                mode = "full"
            elif (
                sweep
                or last_sweep is None
                or now - last_sweep >= timedelta(hours=config.crawl.reconcile_every_hours)
            ):
                mode = "sweep"
            else:
                mode = "incremental"
            state = known_state(session, row.id, cfg.source_key) if mode not in ("full", "track") else None
            jobs.append(
                CrawlJob(
                    jurisdiction=cfg,
                    mode=mode,
                    started_at=now,
                    stage_path=stage_dir / f"{cfg.slug}.jsonl",
                    since=None if mode == "full" else incremental_since(last, config.crawl.overlap_hours),
                    known=state.rows if state else {},
                    known_actions=state.actions if state else {},
                    # the attachments backlog is worked off by sweeps
                    attachments_pending=state.attachments_pending if state and mode == "sweep" else set(),
                    settings=config.crawl,
                    only=set(only or ()),
                    tracked=tracked_ids(session, row.id, cfg.source_key) if mode != "track" else set(),
                )
            )
            problem = move_problem(row, cfg)
            if problem:
                jobs[-1].fail(problem)
            if cfg.token_env and not cfg.token():
                # This jurisdiction fails (and says why); the others are crawled.
                jobs[-1].fail(f"{cfg.slug}: environment variable {cfg.token_env} (token_env) is not set")
    return jobs


def _crawl(jobs: list[CrawlJob], config: Config, progress: bool) -> dict[str, int]:
    """Run each platform's spider over its jobs, all in one reactor; returns requests per jurisdiction.

    One crawler per platform serves every jurisdiction of that platform, so a host shared by several cities
    (webapi.legistar.com) has one download slot and the per-host cap holds across them."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawler.settings import crawl_settings
    from tracker.platforms import spider_class

    settings = crawl_settings(config.crawl, progress=progress)
    settings["LOG_INSTALL_ROOT_HANDLER"] = False  # the tracker's handler (with redaction) is in place
    process = CrawlerProcess(settings=settings)
    # Scrapy sets its loggers to DEBUG; at the handler's level they would build every per-request debug
    # record only for it to be dropped.
    logging.getLogger("scrapy").setLevel(logging.getLogger().getEffectiveLevel())
    by_platform: dict[str, list[CrawlJob]] = {}
    for job in jobs:
        by_platform.setdefault(job.jurisdiction.platform, []).append(job)
    crawlers = []
    receivers: list[Any] = []
    for name, group in by_platform.items():
        crawler = process.create_crawler(spider_class(name))
        reasons: list[str] = []

        def closed(reason: str, reasons: list[str] = reasons) -> None:
            reasons.append(reason)

        crawler.signals.connect(closed, signal=signals.spider_closed)

        def failed_callback(failure: Any, response: Any, group: list[CrawlJob] = group) -> None:
            slug = response.meta.get("job_slug") if response is not None else None
            for job in group:
                if job.slug == slug or slug is None:
                    where = redact_url(response.url) if response is not None else "a response"
                    job.fail(f"{job.slug}: internal error while parsing {where}: {failure.value!r}")

        crawler.signals.connect(failed_callback, signal=signals.spider_error)
        process.crawl(crawler, jobs=group)
        # Scrapy's signals hold receivers weakly: keep ours alive until the crawl ends.
        receivers.extend((closed, failed_callback))
        crawlers.append((crawler, group, reasons))
    process.start()
    requests: dict[str, int] = {}
    for crawler, group, reasons in crawlers:
        reason = reasons[0] if reasons else "not run"
        if reason != "finished":
            for job in group:
                job.fail(f"{job.slug}: crawl interrupted ({reason})")
        stats = crawler.stats
        for job in group:
            requests[job.slug] = int(stats.get_value(f"tracker/requests/{job.slug}", 0)) if stats else 0
    return requests


def _shard_worker(
    conn: Any, jobs: list[CrawlJob], config: Config, progress: bool, logging_setup: dict[str, Any]
) -> None:
    """One worker process of a split crawl (a fresh interpreter: its own reactor). Sends back the jobs as
    crawled and the requests made, then exits."""
    if logging_setup:
        from tracker.logs import setup_logging

        setup_logging(**logging_setup)
    try:
        requests = _crawl(jobs, config, progress)
        conn.send((jobs, requests))
    finally:
        conn.close()


def _crawl_sharded(jobs: list[CrawlJob], config: Config, progress: bool) -> dict[str, int]:
    """Run a crawl whose full jobs (of platforms that split backfills) are split over ``[crawl] processes``
    worker processes.

    Worker 0 crawls every job (its shard of the split ones); worker k > 0 its shard of the split ones.
    Each worker gets its share of the per-host cap, so the cap holds across them. The outcomes are folded
    back into the jobs, and the import reads every worker's stage file."""
    import multiprocessing

    from tracker.logs import LAST_SETUP

    count = config.crawl.processes
    shared = config.model_copy(
        update={
            "crawl": config.crawl.model_copy(
                update={"per_host_concurrency": max(1, config.crawl.per_host_concurrency // count)}
            )
        }
    )
    split = {job.slug for job in jobs if _splits(job)}
    plans: list[list[CrawlJob]] = []
    for index in range(count):
        plan = []
        for job in jobs:
            if job.slug in split:
                plan.append(
                    dataclasses.replace(
                        job,
                        shard=(index, count),
                        stage_path=job.stage_path.with_suffix(f".{index}.jsonl"),
                        listed=set(),
                        problems=[],
                    )
                )
            elif index == 0:
                plan.append(job)
        plans.append(plan)
    # Plain processes, not a Pool: a Pool stops its workers with SIGTERM, which Scrapy's shutdown handler
    # in each worker would turn into a graceful stop of a reactor that is no longer running.
    context = multiprocessing.get_context("spawn")
    workers = []
    for index, plan in enumerate(plans):
        receive, send = context.Pipe(duplex=False)
        worker = context.Process(
            target=_shard_worker,
            args=(send, plan, shared, progress and index == 0, dict(LAST_SETUP)),
            name=f"crawl-shard-{index}",
        )
        worker.start()
        send.close()
        workers.append((worker, receive, plan))
    results = []
    for worker, receive, plan in workers:
        try:
            results.append(receive.recv())
        except EOFError:  # the worker died before reporting (killed, out of memory...)
            worker.join()
            for job in plan:
                job.fail(f"{job.slug}: crawler worker {worker.name} died (exit code {worker.exitcode})")
            results.append((plan, {}))
        finally:
            receive.close()
    for worker, _, _ in workers:
        worker.join()
    requests: dict[str, int] = {}
    by_slug = {job.slug: job for job in jobs}
    for done, counts in results:
        for shard in done:
            requests[shard.slug] = requests.get(shard.slug, 0) + counts.get(shard.slug, 0)
            job = by_slug[shard.slug]
            if shard.slug not in split:
                by_slug[shard.slug] = shard  # crawled whole by worker 0
            else:
                job.merge(shard)
    jobs[:] = [by_slug[job.slug] for job in jobs]
    return requests


def _splits(job: CrawlJob) -> bool:
    return job.mode == "full" and job.platform.splits_backfills and job.fatal is None


def run_crawl(
    config: Config,
    slugs: list[str],
    *,
    full: bool = False,
    sweep: bool = False,
    progress: bool = False,
    only: set[str] | None = None,
) -> list[RunSummary]:
    engine = make_engine(config.database_url)
    require_schema(engine)
    if not config.select(slugs):
        raise ConfigError(f"{config.source}: no jurisdictions configured")
    with tempfile.TemporaryDirectory(prefix="tracker-crawl-") as tmp:
        jobs = plan_jobs(config, engine, slugs, full, Path(tmp), sweep=sweep, only=only)
        if config.crawl.processes > 1 and any(_splits(job) for job in jobs):
            requests = _crawl_sharded(jobs, config, progress)
        else:
            requests = _crawl(jobs, config, progress)
        return [import_job(engine, job, requests[job.slug]) for job in jobs]


def crawl_in_child(
    config_path: str | None,
    slugs: list[str],
    *,
    full: bool = False,
    sweep: bool = False,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    capture: bool = True,
    only: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``tracker crawl`` in a child process (a fresh reactor each time), with a time limit."""
    cmd = [sys.executable, "-m", "tracker"]
    if config_path:
        cmd += ["--config", str(config_path)]
    cmd += ["crawl", *slugs]
    if full:
        cmd.append("--full")
    if sweep:
        cmd.append("--sweep")
    for source_id in only or ():
        cmd += ["--only", source_id]
    return subprocess.run(
        cmd,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        capture_output=capture,
        text=True,
        check=False,
    )


def parse_iso(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"not an ISO date or time: {value!r}") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt
