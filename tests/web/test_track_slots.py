"""The limit on track crawls is one for the whole database, not one per web worker (tracker/slots.py), on
SQLite and PostgreSQL: two other processes each holding one track slot leave none for a third request,
which the web app answers 503 with Retry-After; a holder killed with SIGKILL frees its slot (no cleanup
runs: PostgreSQL drops a dead session's advisory locks, the kernel a dead process's flock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.conftest import REPO
from tracker import slots, track

TRACK_URL = "https://riverton.legistar.com/LegislationDetail.aspx?ID=12"

# A process that takes one track slot of the database and holds it until its stdin closes or it is killed
# (the limit is passed in: importing tracker.track, with the crawler, would triple the child's start).
HOLDER = """
import sys
from db.engine import make_engine
from tracker import slots
slot = slots.try_take(make_engine(sys.argv[1]), "track", int(sys.argv[2]))
print("none" if slot is None else slot.number, flush=True)
sys.stdin.read()
"""


def _holder(db_url: str) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db_url, str(track.MAX_TRACK_PROCESSES)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    return child, child.stdout.readline().strip()


def _end(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait(timeout=10)
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            pipe.close()


def test_track_slots_are_shared_by_processes_and_freed_when_a_holder_dies(
    client, login, engine, db_url, monkeypatch
):
    monkeypatch.setattr(track, "TRACK_WAIT", 0.3)
    login(client, "staff")
    first, first_slot = _holder(db_url)
    second, second_slot = _holder(db_url)
    try:
        assert {first_slot, second_slot} == {"0", "1"}, (first_slot, second_slot)
        # this process holds no slot and its own in-process limit is free: the database's slots are taken
        assert slots.try_take(engine, "track", track.MAX_TRACK_PROCESSES) is None
        third, third_slot = _holder(db_url)
        _end(third)
        assert third_slot == "none"
        r = client.post("/track", data={"csrf_token": client.csrf, "url": TRACK_URL})
        assert r.status_code == 503 and "busy" in r.text and r.headers["Retry-After"] == "30", r.text[:300]

        # the holder of the first slot dies without releasing it: the slot frees itself
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        deadline = time.monotonic() + 10
        slot = None
        while slot is None and time.monotonic() < deadline:
            slot = slots.try_take(engine, "track", track.MAX_TRACK_PROCESSES)
            time.sleep(0.05)
        assert slot is not None and str(slot.number) == first_slot
        # taken again: none left; released: one free again
        assert slots.try_take(engine, "track", track.MAX_TRACK_PROCESSES) is None
        slot.release()
        again = slots.try_take(engine, "track", track.MAX_TRACK_PROCESSES)
        assert again is not None
        again.release()
    finally:
        _end(first)
        _end(second)


def test_two_threads_of_one_process_hold_two_slots(engine):
    """A web worker's threads each count (flock belongs to an open file, not to the process)."""
    a = slots.take(engine, "track", 2, wait=0)
    b = slots.take(engine, "track", 2, wait=0)
    try:
        assert a is not None and b is not None and {a.number, b.number} == {0, 1}
        started = time.monotonic()
        assert slots.take(engine, "track", 2, wait=0.3) is None
        assert time.monotonic() - started >= 0.3  # it waited for a slot before giving up
    finally:
        for slot in (a, b):
            if slot is not None:
                slot.release()
    with slots.holding(engine, "track", 2, wait=0) as held:
        assert held is not None
