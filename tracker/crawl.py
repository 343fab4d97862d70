"""Running crawls: plan each jurisdiction's crawl from the database, crawl every jurisdiction of the run
with one Scrapy crawler (one download slot per host, so the per-host cap holds across jurisdictions),
then import each completed crawl in its own transaction.

The Twisted reactor cannot be restarted in a process: call :func:`run_crawl` once per process. The
scheduler, ``tracker track`` and ``tracker demo`` run each crawl as a child process (``python -m tracker
crawl``) tied to them (:mod:`tracker.children`: it dies with its parent, within its time and memory limits).

A crawl is recorded before it starts: ``running`` rows with their owner and a heartbeat
(:mod:`tracker.crawl_runs`), recorded by the scheduler for its child or by ``tracker crawl`` itself, and
replaced by the importer's record when the crawl ends. On SIGTERM or SIGINT the crawl stops promptly (Scrapy
gets :data:`STOP_GRACE` seconds to close, then the reactor is stopped), nothing is imported, and the crawl is
recorded as ``interrupted``; during the import, SIGTERM kills the process at once (the transaction rolls back;
the run is closed as interrupted by its supervisor or the next crawl).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.jobs import CrawlJob, Mode
from crawler.process import STOP_GRACE, Stopping, run_spiders, shard_worker
from db.engine import make_engine, require_schema, session_scope
from db.types import to_utc, utcnow
from tracker import children, crawl_runs
from tracker.config import Config
from tracker.contract import NormalizedVote
from tracker.errors import ConfigError
from tracker.identity import move_problem
from tracker.store import (
    RunSummary,
    ensure_jurisdiction,
    has_bills,
    import_job,
    incremental_since,
    known_state,
    last_success,
    tracked_ids,
)

if TYPE_CHECKING:
    from tracker.matcher.precompute import MatchProcess

logger = logging.getLogger(__name__)

# Per jurisdiction of one crawl child, and at most this for one child, when [crawl] sets no time limit.
CRAWL_TIME_LIMIT_CAP = 12 * 3600


def crawl_time_limit(config: Config, count: int) -> float:
    """The time limit of a crawl child of ``count`` jurisdictions: ``[crawl] time_limit_minutes`` each, at
    most :data:`CRAWL_TIME_LIMIT_CAP`."""
    return min(config.crawl.time_limit_minutes * 60 * max(count, 1), CRAWL_TIME_LIMIT_CAP)


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
            meetings = (
                known_meetings(session, row.id, cfg.zone, now, config.crawl.meetings_back_days)
                if (mode not in ("full", "track") and cfg.platform in ("legistar", "elms"))
                # legistar-web keeps its stored roll calls on every crawl, a full one too (docs/meetings.md)
                or (mode != "track" and cfg.platform == "legistar-web")
                else None
            )
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
                    # so is the sponsors backlog of a backfill
                    sponsors_pending=state.sponsors_pending if state and mode == "sweep" else set(),
                    defer_sponsors=mode == "full"
                    and config.crawl.sponsors_by_title
                    and not has_bills(session, row.id),
                    settings=config.crawl,
                    only=set(only or ()),
                    tracked=tracked_ids(session, row.id, cfg.source_key) if mode != "track" else set(),
                    known_meetings=meetings[0] if meetings else {},
                    known_votes=meetings[1] if meetings else {},
                    known_members=known_members(session, row.id)
                    if mode != "track" and cfg.platform in ("legistar", "legistar-web")
                    else {},
                )
            )
            problem = move_problem(row, cfg)
            if problem:
                jobs[-1].fail(problem)
            if cfg.token_env and not cfg.token():
                # This jurisdiction fails (and says why); the others are crawled.
                jobs[-1].fail(f"{cfg.slug}: environment variable {cfg.token_env} (token_env) is not set")
    return jobs


def known_meetings(
    session: Any, jurisdiction_id: int, zone: Any, now: datetime, back_days: int
) -> tuple[dict[str, str | None], dict[tuple[str, str], tuple[str | None, list[NormalizedVote]]]]:
    """The stored meetings an incremental crawl or a sweep may leave unread (docs/meetings.md, "Legistar
    Web API"): those starting from the window's first local day on (or without a start), each with the stamp
    of the event whose items were read completely, and the roll calls stored on their items with the tally
    they were read with."""
    from sqlalchemy import or_, select

    from db.models_meetings import Meeting, MeetingItem, Vote
    from tracker.platforms.legistar import ITEMS_STAMP_KEY

    first = now.astimezone(zone).date() - timedelta(days=back_days + 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    in_window = (Meeting.jurisdiction_id == jurisdiction_id) & or_(
        Meeting.starts_at >= since, Meeting.starts_at.is_(None)
    )
    stamps: dict[str, str | None] = dict(
        session.execute(
            select(Meeting.source_id, Meeting.raw[ITEMS_STAMP_KEY].as_string()).where(in_window)
        ).all()
    )
    votes: dict[tuple[str, str], tuple[str | None, list[NormalizedVote]]] = {}
    rows = session.execute(
        select(
            Meeting.source_id,
            MeetingItem.source_id,
            MeetingItem.tally,
            Vote.member_name,
            Vote.vote,
            Vote.text,
        )
        .join(MeetingItem, MeetingItem.meeting_id == Meeting.id)
        .join(Vote, Vote.meeting_item_id == MeetingItem.id)
        .where(in_window, MeetingItem.removed_at.is_(None))
        .order_by(Vote.id)
    ).all()
    for meeting_id, item_id, tally, member, vote, text in rows:
        votes.setdefault((meeting_id, item_id), (tally, []))[1].append(
            NormalizedVote(member=member, vote=vote, text=text)
        )
    return stamps, votes


def known_members(
    session: Any, jurisdiction_id: int
) -> dict[str, frozenset[tuple[str, str | None, date | None, date | None]]]:
    """The stored members of a jurisdiction by name key, with their terms (a crawl stages a member the
    portal lists only when its terms differ)."""
    from sqlalchemy import select

    from db.models_meetings import Member, MemberTerm

    found: dict[str, set[tuple[str, str | None, date | None, date | None]]] = {}
    rows = session.execute(
        select(Member.name_key, MemberTerm.body_name, MemberTerm.title, MemberTerm.start, MemberTerm.end)
        .outerjoin(MemberTerm, MemberTerm.member_id == Member.id)
        .where(Member.jurisdiction_id == jurisdiction_id)
    ).all()
    for key, body, title, start, end in rows:
        terms = found.setdefault(key, set())
        if body is not None:
            terms.add((body, title, start, end))
    return {key: frozenset(terms) for key, terms in found.items()}


def _warm_matcher(config: Config) -> None:
    """Load the matching rules and model into their cache (tracker.matcher.apply.current_rules), which the
    import then finds there instead of loading them after the crawl. Any failure is left to the import."""
    try:
        from tracker.matcher.apply import current_rules

        engine = make_engine(config.database_url)
        try:
            with session_scope(engine) as session:
                current_rules(session=session)
        finally:
            engine.dispose()
    except Exception as exc:  # the import loads them itself and reports what is wrong
        logger.debug("matcher not loaded ahead of the import: %s", type(exc).__name__)


def _crawl_sharded(
    jobs: list[CrawlJob],
    config: Config,
    progress: bool,
    stopping: Stopping | None = None,
    matching: MatchProcess | None = None,
) -> dict[str, int]:
    """Run a crawl whose full jobs (of platforms that split backfills) are split over ``[crawl] processes``
    worker processes.

    Shard 0 crawls every job (its shard of the split ones) in this process, which would otherwise wait
    idle (a worker process costs a second of CPU in imports alone); worker process k > 0 its shard of the
    split ones. Each shard gets its share of the per-host cap, so the cap holds across them. The outcomes are
    folded back into the jobs, and the import reads every shard's stage file. ``matching``, once shard 0
    runs, classifies the split jobs' bills from the stage files as they are written
    (:mod:`tracker.matcher.precompute`)."""
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
    for index, plan in enumerate(plans[1:], start=1):
        receive, send = context.Pipe(duplex=False)
        worker = context.Process(
            target=shard_worker,
            args=(send, plan, shared, False, dict(LAST_SETUP), os.getpid()),
            name=f"crawl-shard-{index}",
        )
        worker.start()
        send.close()
        workers.append((worker, receive, plan))

    def pass_on(signum: int) -> None:
        # Each worker gets Scrapy's graceful stop, then is killed after the grace.
        for worker, _, _ in workers:
            if worker.is_alive() and worker.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)

        def kill_workers() -> None:
            for child, _, _ in workers:
                if child.is_alive():
                    child.kill()

        timer = threading.Timer(STOP_GRACE, kill_workers)
        timer.daemon = True
        timer.start()

    def stop_workers(signum: int, _frame: Any) -> None:
        if stopping is not None:
            stopping.signum = signum
        pass_on(signum)

    previous = {sig: signal.signal(sig, stop_workers) for sig in (signal.SIGTERM, signal.SIGINT)}
    own = Stopping() if stopping is None else stopping
    results: list[tuple[list[CrawlJob], dict[str, int]]] = []
    started = None
    if matching is not None:
        sources = [(job.slug, job.stage_path) for plan in plans for job in plan if job.slug in split]

        def started() -> None:
            matching.start(sources)

    if own.signum is None:  # (a signal during the start of the workers: no crawl of our own)
        # Scrapy installs its handlers while this shard crawls; a stop signal then reaches the workers too.
        results.append(
            (plans[0], run_spiders(plans[0], shared, progress, own, also=pass_on, on_running=started))
        )
    else:
        for job in plans[0]:
            job.fail(f"{job.slug}: crawl interrupted (stopped before it started)")
        results.append((plans[0], {}))
    signal.signal(signal.SIGTERM, stop_workers)
    signal.signal(signal.SIGINT, stop_workers)
    # While the workers finish their shards, this process is idle: load the matcher the import will need.
    warm = threading.Thread(target=_warm_matcher, args=(shared,), name="warm-matcher", daemon=True)
    if workers and own.signum is None:
        warm.start()
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
    if matching is not None and own.signum is None:  # every stage file is whole
        matching.finish()
    if warm.ident is not None:
        warm.join()
    for sig, handler in previous.items():
        signal.signal(sig, handler)
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
    """Crawl and import; one summary per jurisdiction. Started by a supervisor (:mod:`tracker.children`),
    this process takes its limits and dies with it; the ``running`` rows are the supervisor's
    (:data:`tracker.crawl_runs.ENV`), else this process records and heartbeats its own."""
    if children.enter_child():
        children.limit_memory(config.crawl.memory_mb)
    given = crawl_runs.from_env()
    engine = make_engine(config.database_url)
    require_schema(engine)
    selected = config.select(slugs)
    if not selected:
        raise ConfigError(f"{config.source}: no jurisdictions configured")
    beat = None
    if given:
        run_ids = given
        stage = crawl_runs.stage_dir_of(engine, run_ids.values()) or crawl_runs.new_stage_dir()
        stage.mkdir(parents=True, exist_ok=True)
    else:
        stage = crawl_runs.new_stage_dir()
        with session_scope(engine) as session:
            rows = [ensure_jurisdiction(session, cfg) for cfg in selected]
            run_ids = crawl_runs.begin(
                session,
                rows,
                owner_pid=os.getpid(),
                owner_token=None,
                stage_dir=stage,
                mode="track" if only else "unknown",  # a track attempt is never the city's crawl
            )
        beat = crawl_runs.Heartbeat(engine, run_ids.values()).start()
    stopping = Stopping()
    matching: MatchProcess | None = None
    pending = dict(run_ids)  # the rows no record replaced yet
    try:
        jobs = plan_jobs(config, engine, slugs, full, stage, sweep=sweep, only=only)
        crawl_runs.set_modes(engine, {run_ids[j.slug]: j.mode for j in jobs if j.slug in run_ids})
        if config.crawl.processes > 1 and any(_splits(job) for job in jobs):
            from tracker.matcher.precompute import MatchProcess

            matching = MatchProcess.for_config(config)
            requests = _crawl_sharded(jobs, config, progress, stopping, matching)
        else:
            requests = run_spiders(jobs, config, progress, stopping)
        if stopping.signum is not None:
            name = signal.Signals(stopping.signum).name
            message = f"crawl stopped by {name} before it finished; nothing imported"
            crawl_runs.close(engine, pending.values(), "interrupted", message)
            pending.clear()
            return [
                RunSummary(
                    job.slug, job.mode, "interrupted", requests=requests.get(job.slug, 0), message=message
                )
                for job in jobs
            ]
        # From here on SIGTERM ends the process at once, whatever it is doing (a long match holds the
        # interpreter): the import's transaction rolls back and the run is closed as interrupted.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        summaries = []
        for job in jobs:
            summaries.append(import_job(engine, job, requests[job.slug], matches_ready=matching))
            run_id = pending.pop(job.slug, None)
            if run_id is not None:
                crawl_runs.discard(engine, run_id)
        return summaries
    except KeyboardInterrupt:
        crawl_runs.close(engine, pending.values(), "interrupted", "crawl stopped by SIGINT; nothing imported")
        pending.clear()
        raise
    except Exception as exc:
        line = " ".join(str(exc).split())[:300] or type(exc).__name__
        crawl_runs.close(engine, pending.values(), "failed", f"crawl failed: {type(exc).__name__}: {line}")
        pending.clear()
        raise
    finally:
        if matching is not None:
            matching.stop()
        if beat is not None:
            beat.stop()
        crawl_runs.release(run_ids.values())
        crawl_runs.remove_stage_dir(stage)


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
    """Run ``tracker crawl`` in a child process (a fresh reactor each time), tied to this process (it dies
    with it) and killed at ``timeout`` (``subprocess.TimeoutExpired``); its memory is capped by
    ``[crawl] memory_mb`` of the configuration it reads."""
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
    return children.run(
        cmd,
        time_limit=timeout,
        memory_mb=None,
        env={**os.environ, **(env or {})},
        capture=capture,
    )


def parse_iso(value: str) -> datetime:
    """An ISO date or time typed by a user (``--since``, ``--now``), in UTC (UTC too if it has no offset).
    Text that is not one, or a time out of range once in UTC, is a :class:`ConfigError` (exit status 2)."""
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"not an ISO date or time: {value!r}") from None
    try:
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else to_utc(dt)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
