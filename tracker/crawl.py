"""Running crawls: plan each jurisdiction's crawl from the database, crawl every jurisdiction of the run
with one Scrapy crawler (one download slot per host, so the per-host cap holds across jurisdictions),
then import each completed crawl in its own transaction.

The Twisted reactor cannot be restarted in a process: call :func:`run_crawl` once per process. The
scheduler and ``tracker demo`` run each crawl as a child process (``python -m tracker crawl``).
"""

from __future__ import annotations

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
from tracker.store import (
    RunSummary,
    ensure_jurisdiction,
    import_job,
    incremental_since,
    known_state,
    last_success,
)

logger = logging.getLogger(__name__)


def plan_jobs(
    config: Config, engine: Any, slugs: list[str], full: bool, stage_dir: Path, sweep: bool = False
) -> list[CrawlJob]:
    now = utcnow()
    jobs = []
    with session_scope(engine) as session:
        for cfg in config.select(slugs):
            row = ensure_jurisdiction(session, cfg)
            last = last_success(session, row.id)
            last_sweep = last_success(session, row.id, modes=("full", "sweep"))
            mode: Mode
            if full or last is None:
                mode = "full"
            elif (
                sweep
                or last_sweep is None
                or now - last_sweep >= timedelta(hours=config.crawl.reconcile_every_hours)
            ):
                mode = "sweep"
            else:
                mode = "incremental"
            state = known_state(session, row.id) if mode != "full" else None
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
                )
            )
            if cfg.token_env and not cfg.token():
                # This jurisdiction fails (and says why); the others are crawled.
                jobs[-1].fail(f"{cfg.slug}: environment variable {cfg.token_env} (token_env) is not set")
    return jobs


def _crawl(jobs: list[CrawlJob], config: Config, progress: bool) -> dict[str, int]:
    """Run the spider over every job; returns requests made per jurisdiction."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from crawler.settings import crawl_settings
    from crawler.spiders.legistar import LegistarApiSpider

    settings = crawl_settings(config.crawl, progress=progress)
    settings["LOG_INSTALL_ROOT_HANDLER"] = False  # the tracker's handler (with redaction) is in place
    process = CrawlerProcess(settings=settings)
    # Scrapy sets its loggers to DEBUG; at the handler's level they would build every per-request debug
    # record only for it to be dropped.
    logging.getLogger("scrapy").setLevel(logging.getLogger().getEffectiveLevel())
    crawler = process.create_crawler(LegistarApiSpider)
    reasons: list[str] = []

    def closed(reason: str) -> None:
        reasons.append(reason)

    crawler.signals.connect(closed, signal=signals.spider_closed)

    def failed_callback(failure: Any, response: Any) -> None:
        slug = response.meta.get("job_slug") if response is not None else None
        for job in jobs:
            if job.slug == slug or slug is None:
                where = redact_url(response.url) if response is not None else "a response"
                job.fail(f"{job.slug}: internal error while parsing {where}: {failure.value!r}")

    crawler.signals.connect(failed_callback, signal=signals.spider_error)
    process.crawl(crawler, jobs=jobs)
    process.start()
    reason = reasons[0] if reasons else "not run"
    if reason != "finished":
        for job in jobs:
            job.fail(f"{job.slug}: crawl interrupted ({reason})")
    stats = crawler.stats
    return {job.slug: int(stats.get_value(f"tracker/requests/{job.slug}", 0)) if stats else 0 for job in jobs}


def run_crawl(
    config: Config, slugs: list[str], *, full: bool = False, sweep: bool = False, progress: bool = False
) -> list[RunSummary]:
    engine = make_engine(config.database_url)
    require_schema(engine)
    if not config.select(slugs):
        raise ConfigError(f"{config.source}: no jurisdictions configured")
    with tempfile.TemporaryDirectory(prefix="tracker-crawl-") as tmp:
        jobs = plan_jobs(config, engine, slugs, full, Path(tmp), sweep=sweep)
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
