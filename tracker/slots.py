"""A fixed number of slots shared by every process that uses one tracker database (e.g. at most 2 track
crawls at once, however many web workers or ``tracker`` commands run).

A slot is a lock the operating system or the database server frees when its holder dies, so a killed worker
never keeps one:

- **PostgreSQL**: session advisory locks ``pg_try_advisory_lock(key, slot)`` for slot 0..count-1, held on a
  connection of their own for as long as the slot is held. ``key`` is derived from the slot pool's name and
  the connection's schema (advisory locks are per database; two trackers in two schemas of one database have
  pools of their own). PostgreSQL drops a session's advisory locks when its connection ends, whatever ended
  it.
- **SQLite**: an exclusive ``flock`` on one lock file per slot next to the database file
  (``tracker.db.track-slot-0.lock``...). The kernel drops the lock when the holder's file is closed, including
  when the process dies. ``flock`` locks belong to an open file, so two threads of one process each hold a
  slot of their own.
- An in-memory SQLite database has one process by construction: a semaphore of that process.

A slot is taken with :func:`take`, which tries every slot and polls until ``wait`` seconds have passed.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

# How often a request waiting for a slot tries them all again.
POLL = 0.1

_local: dict[tuple[str, str, int], threading.BoundedSemaphore] = {}
_local_guard = threading.Lock()


class Slot:
    """One held slot; :meth:`release` gives it back (idempotent)."""

    def __init__(self, number: int, release: Any) -> None:
        self.number = number
        self._release = release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


def advisory_key(name: str, schema: str) -> int:
    """The first (int4) key of a pool's advisory locks on PostgreSQL."""
    key = zlib.crc32(f"tracker-slots:{name}:{schema}".encode())
    return key - 2**32 if key >= 2**31 else key


def _try_postgresql(engine: Engine, name: str, count: int) -> Slot | None:
    conn: Connection = engine.connect()
    try:
        schema = conn.execute(text("select current_schema()")).scalar() or ""
        key = advisory_key(name, schema)
        for number in range(count):
            if conn.execute(text("select pg_try_advisory_lock(:k, :s)"), {"k": key, "s": number}).scalar():
                conn.commit()  # the lock is the session's: no transaction stays open while it is held

                def release(conn: Connection = conn, key: int = key, number: int = number) -> None:
                    try:
                        conn.execute(text("select pg_advisory_unlock(:k, :s)"), {"k": key, "s": number})
                        conn.commit()
                    except Exception:
                        conn.invalidate()  # closing the connection drops the lock
                    finally:
                        conn.close()

                return Slot(number, release)
        conn.rollback()
    except BaseException:
        conn.invalidate()
        conn.close()
        raise
    conn.close()
    return None


def lock_path(database: str, name: str, number: int) -> Path:
    """The lock file of one slot of a SQLite database."""
    return Path(f"{database}.{name}-slot-{number}.lock")


def _try_sqlite_file(database: str, name: str, count: int) -> Slot | None:
    for number in range(count):
        fd = os.open(lock_path(database, name, number), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        return Slot(number, lambda fd=fd: os.close(fd))  # closing the file drops the lock
    return None


def _try_local(engine: Engine, name: str, count: int) -> Slot | None:
    with _local_guard:
        semaphore = _local.setdefault((str(engine.url), name, count), threading.BoundedSemaphore(count))
    if semaphore.acquire(blocking=False):
        return Slot(0, semaphore.release)
    return None


def try_take(engine: Engine, name: str, count: int) -> Slot | None:
    """A free slot of the pool ``name`` (``count`` slots) of this database, or None when all are held."""
    if engine.dialect.name == "postgresql":
        return _try_postgresql(engine, name, count)
    database = engine.url.database
    if (
        engine.dialect.name == "sqlite"
        and database
        and database != ":memory:"
        and not database.startswith("file::memory:")
    ):
        return _try_sqlite_file(database, name, count)
    return _try_local(engine, name, count)


def take(engine: Engine, name: str, count: int, wait: float) -> Slot | None:
    """A slot, waiting up to ``wait`` seconds for one to be free; None when none was."""
    deadline = time.monotonic() + wait
    while True:
        slot = try_take(engine, name, count)
        if slot is not None or time.monotonic() >= deadline:
            return slot
        time.sleep(min(POLL, max(0.0, deadline - time.monotonic())))


@contextmanager
def holding(engine: Engine, name: str, count: int, wait: float) -> Iterator[Slot | None]:
    """``with holding(...) as slot``: a slot (or None when none was free) released at the end."""
    slot = take(engine, name, count, wait)
    try:
        yield slot
    finally:
        if slot is not None:
            slot.release()
