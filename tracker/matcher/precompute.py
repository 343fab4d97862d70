"""Matching beside a split full crawl, in a process of its own.

A backfill's import classified every new bill after the crawl, on one core, while the other core was idle
(about 1.1 s of CPU for 2,044 bills after the rules and the model are loaded: docs/architecture.md, "Crawl
cost"). Now a **match process** starts once the crawl runs, at a lower priority (:data:`NICE`: the shards
keep the CPU they need), loads the rules, the model and the embedder, reads the shards' stage files
(crawler/pipelines.py, JSON lines) as they grow and classifies the new bills by title and name in batches
(:func:`tracker.matcher.apply.precompute`) with the CPU the crawl leaves idle. When every shard has
finished (:meth:`MatchProcess.finish`), it classifies the rest while the import stores the bills on the
other core, and leaves the results, with their embeddings, next to each stage file (``<stage>.matches``).
The import waits for them just before it matches (:meth:`MatchProcess.wait`) and uses a result only when it
was made under the same rules and model and from the same inputs (:class:`tracker.matcher.apply.Precomputed`);
any other bill is classified there, as before. What is stored is the same either way.

A process, not a thread of a shard: a thread shares the shard's interpreter lock with Scrapy's reactor,
which made the crawl a second longer (measured, docs/architecture.md). Nothing of the crawl depends on this
process: if it fails, dies or is slow, the import classifies the bills itself (one line in the log).
``TRACKER_PRECOMPUTE_MATCHES=0`` turns it off (to measure it).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.contract import NOT_BILL_LINES

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from tracker.config import Config
    from tracker.matcher.apply import Precomputed

logger = logging.getLogger(__name__)

#: ``TRACKER_PRECOMPUTE_MATCHES=0`` leaves every bill's matching to the import.
ENV = "TRACKER_PRECOMPUTE_MATCHES"
#: Bills classified at a time while the crawl runs (about 0.1 s of CPU).
BATCH = 256
#: The process's niceness: while the crawl runs it takes only the CPU the shards leave idle.
NICE = 10
#: How often the process looks for new staged lines, in seconds.
POLL = 0.25
#: The longest the import waits for the results while the process is alive, in seconds (a backfill of
#: 100,000 bills classifies in about a minute); past it, the import classifies the bills itself.
WAIT = 600.0

# Staged lines that are not bills (tracker.contract.read_staged).
_NOT_BILLS = tuple(start.encode() for start in NOT_BILL_LINES)


def enabled() -> bool:
    return os.environ.get(ENV, "").strip() != "0"


@dataclass
class _Tail:
    """The complete lines added to a stage file since the last read (the file may not exist yet)."""

    path: Path
    offset: int = 0
    rest: bytes = b""

    def read(self) -> list[bytes]:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        *lines, self.rest = (self.rest + data).split(b"\n")
        return lines


@dataclass
class _Source:
    """One stage file, its jurisdiction, and the results made from it."""

    slug: str
    tail: _Tail
    made: Precomputed
    pending: list[tuple[str | None, str | None]] = field(default_factory=list)


def _inputs(line: bytes) -> tuple[str | None, str | None] | None:
    """A staged bill's (title, name); None for another record or a line that does not parse (the import
    reports those)."""
    if not line.strip() or line.startswith(_NOT_BILLS):
        return None
    try:
        doc = json.loads(line)
        title, name = doc["title"], doc["name"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(title, str | None) or not isinstance(name, str | None):
        return None
    return title, name


def _run(conn: Connection, sources: list[tuple[str, str]], config: Config) -> None:
    from db.engine import make_engine, session_scope
    from tracker.matcher.apply import (
        Precomputed,
        current_rules,
        input_hash,
        matched_inputs,
        precompute,
        precomputed_path,
    )

    engine = make_engine(config.database_url)
    try:
        with session_scope(engine) as session:
            loaded = current_rules(session=session)
            slugs = {slug for slug, _ in sources}
            skip = {slug: matched_inputs(session, slug, loaded.hash) for slug in slugs}
    finally:
        engine.dispose()
    todo = [_Source(slug, _Tail(Path(path)), Precomputed(loaded.hash, None)) for slug, path in sources]
    seen: dict[str, set[str]] = {slug: set() for slug in skip}

    def classify(source: _Source) -> None:
        if source.pending:
            part = precompute(loaded, source.pending)
            source.made.embedder = part.embedder
            source.made.update(part)
            source.pending = []

    while True:
        finished = conn.poll(POLL)
        if finished and conn.recv() != "done":  # "stop": the crawl was interrupted, nothing is imported
            return
        for source in todo:  # (the reading and parsing of the staged lines is done while the crawl runs)
            for line in source.tail.read():
                inputs = _inputs(line)
                if inputs is None:
                    continue
                ih = input_hash(*inputs, None)
                if ih not in skip[source.slug] and ih not in seen[source.slug]:
                    seen[source.slug].add(ih)
                    source.pending.append(inputs)
            if len(source.pending) >= BATCH:
                classify(source)
        if finished:
            break
    for source in todo:
        classify(source)
        if source.made.results:
            source.made.write(precomputed_path(source.tail.path))
            logger.info("%s: %d bills classified beside the crawl", source.slug, len(source.made.results))
    conn.send(sum(len(source.made.results) for source in todo))


def _worker(
    conn: Connection,
    sources: list[tuple[str, str]],
    config: Config,
    logging_setup: dict[str, Any],
    parent: int,
) -> None:
    """The match process (a fresh interpreter). Dies with the crawl process that started it."""
    from tracker import children

    children.bind_to_parent(parent)
    if logging_setup:
        from tracker.logs import setup_logging

        setup_logging(**logging_setup)
    try:
        _run(conn, sources, config)
    except Exception as exc:  # never fails the crawl: the import classifies what is missing
        line = " ".join(str(exc).split())[:300] or type(exc).__name__
        logger.warning(
            "matches not precomputed (%s: %s); the import classifies the bills", type(exc).__name__, line
        )
    finally:
        conn.close()
        gc.freeze()  # (tracker/__main__.py)


class MatchProcess:
    """The crawl process's handle on its match process: :meth:`start` once the crawl runs, :meth:`finish`
    when every shard has finished (their stage files are whole), :meth:`wait` before the import matches,
    :meth:`stop` in every case at the end."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.waited = False

    @classmethod
    def for_config(cls, config: Config) -> MatchProcess | None:
        """None when switched off (:data:`ENV`)."""
        return cls(config) if enabled() else None

    def start(self, sources: list[tuple[str, Path]]) -> None:
        """Start reading these stage files (jurisdiction, path), as they are written."""
        import multiprocessing

        from tracker.logs import LAST_SETUP

        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=True)
        files = [(slug, str(path)) for slug, path in sources]
        try:
            process = context.Process(
                target=_worker,
                args=(send, files, self.config, dict(LAST_SETUP), os.getpid()),
                name="crawl-matcher",
                daemon=True,
            )
            process.start()
            if process.pid is not None:  # niced from its start, its imports included
                with contextlib.suppress(OSError):
                    own = os.getpriority(os.PRIO_PROCESS, 0)
                    os.setpriority(os.PRIO_PROCESS, process.pid, min(19, own + NICE))
        except OSError as exc:  # (no process to be had: the import classifies)
            logger.warning("match process not started (%s); the import classifies the bills", exc)
            receive.close()
            return
        finally:
            send.close()
        self.process, self.conn = process, receive

    def finish(self) -> None:
        """Every shard has finished: classify the rest and write the results."""
        self._send("done")

    def wait(self) -> None:
        """Until the results are written (or the process has failed, died or taken :data:`WAIT`)."""
        if self.conn is None or self.waited:
            return
        self.waited = True
        deadline = time.monotonic() + WAIT
        try:
            while not self.conn.poll(1.0):
                if self.process is None or not self.process.is_alive() or time.monotonic() > deadline:
                    logger.warning(
                        "matches not precomputed beside the crawl; the import classifies the bills"
                    )
                    return
            count = self.conn.recv()
            logger.debug("%s matches precomputed beside the crawl", count)
        except (EOFError, OSError):  # it failed (and said why) or died: the import classifies
            pass

    def stop(self) -> None:
        """End the process (after :meth:`wait`, it has ended already) and close the pipe."""
        if self.process is not None:
            if self.process.is_alive():
                self._send("stop")
                self.process.join(1.0)
            if self.process.is_alive():
                self.process.kill()
            self.process.join()
            self.process = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _send(self, message: str) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):  # (it has ended)
                self.conn.send(message)
