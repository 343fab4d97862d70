"""The tracker's scheduler (APScheduler 3.x), run by ``tracker schedule``.

- One crawl job per jurisdiction, on the jurisdiction's ``crawl_cron`` or the ``[schedule]`` default.
- Each crawl runs as a child process (``python -m tracker crawl SLUG``) with a time limit: Scrapy's reactor
  cannot be restarted inside one process, and long-lived crawling processes grow.
- Misfire and coalescing are explicit: a run delayed by a busy machine still happens (grace of an hour),
  missed runs are coalesced into one, and a jurisdiction never has two crawls at once.
- Only one scheduler runs per database: a PostgreSQL advisory lock held on a dedicated connection, or an
  OS file lock next to a SQLite database. A second scheduler waits for the first to stop.

Correctness lives in the database (the importer serialises crawls of a jurisdiction, the watermark
advances only on success): a tick is a hint.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import make_engine, normalise_url
from tracker.config import Config
from tracker.crawl import crawl_in_child
from tracker.errors import ConfigError

logger = logging.getLogger("tracker.scheduler")

MISFIRE_GRACE_SECONDS = 3600
CRAWL_TIME_LIMIT_SECONDS = 3 * 3600
ADVISORY_LOCK_KEY = 0x5A4C_7E11  # "the tracker's scheduler", any constant unique to this application


def crawl_job(config_path: str | None, slug: str, time_limit: float = CRAWL_TIME_LIMIT_SECONDS) -> int:
    """Crawl one jurisdiction in a child process; returns its exit code (non-zero: failed or timed out)."""
    logger.info("crawl of %s starting", slug, extra={"jurisdiction": slug, "event": "crawl_start"})
    try:
        result = crawl_in_child(config_path, [slug], timeout=time_limit)
    except subprocess.TimeoutExpired:
        logger.error(
            "crawl of %s killed after %.0f s",
            slug,
            time_limit,
            extra={"jurisdiction": slug, "event": "crawl_timeout"},
        )
        return 124
    lines = (result.stdout.strip() + "\n" + result.stderr.strip()).strip()
    level = logging.INFO if result.returncode == 0 else logging.ERROR
    logger.log(
        level,
        "crawl of %s ended with code %d: %s",
        slug,
        result.returncode,
        lines.splitlines()[-1] if lines else "",
        extra={"jurisdiction": slug, "event": "crawl_end"},
    )
    return result.returncode


def cron_trigger(expression: str, where: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid cron expression {expression!r}: {exc}") from None


def build_scheduler(
    config: Config,
    config_path: str | None,
    scheduler: BaseScheduler | None = None,
    job: Callable[..., Any] = crawl_job,
) -> BaseScheduler:
    """A scheduler with one crawl job per jurisdiction (not started)."""
    scheduler = scheduler or BlockingScheduler(timezone="UTC")
    scheduler.configure(
        job_defaults={
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            "coalesce": True,
            "max_instances": 1,
        }
    )
    for j in config.jurisdictions:
        expression = j.crawl_cron or config.schedule.crawl_cron
        trigger = cron_trigger(expression, f"{config.source}: jurisdiction {j.slug!r}")
        scheduler.add_job(
            job, trigger, args=[config_path, j.slug], id=f"crawl:{j.slug}", name=f"crawl {j.slug}"
        )
    return scheduler


@contextlib.contextmanager
def single_instance(database_url: str) -> Iterator[None]:
    """Hold the scheduler's lock for the lifetime of the block (waiting while another scheduler holds it)."""
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "postgresql":
        engine = make_engine(database_url)
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            logger.info("waiting for the scheduler lock (PostgreSQL advisory lock)")
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
        engine.dispose()
        return
    database = url.database or "tracker.db"
    lock_path = (
        Path(database if database != ":memory:" else "tracker.db").resolve().with_suffix(".scheduler.lock")
    )
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        logger.info("waiting for the scheduler lock (%s)", lock_path)
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def run(config: Config, config_path: str | None) -> None:
    """Run the scheduler until interrupted."""
    with single_instance(config.database_url):
        scheduler = build_scheduler(config, config_path)
        logger.info("scheduler started with %d jobs", len(scheduler.get_jobs()))
        scheduler.start()
