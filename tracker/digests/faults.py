"""A test-only hook: stop the sending process at a named step so that a test can kill it there.

When ``TRACKER_TEST_PAUSE_AT`` names a step (see :data:`STEPS`), the process that reaches that step writes
the step's name to the file named by ``TRACKER_TEST_PAUSE_FILE`` and then sleeps until it is killed.
Tests (tests/digests/test_digest_crash.py) use it to ``kill -9`` a ``tracker digest send`` at each step of
a send and check what a restart does. Neither variable is ever set in production; with them unset this
is a no-op.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

STEPS = (
    "built",  # a digest's content is computed, nothing recorded yet
    "recorded",  # the outbox row and its deliveries are committed, nothing claimed
    "claimed",  # a delivery is claimed (committed), nothing sent to the server yet
    "transmitting",  # the delivery is marked as transmitting, the message is about to go out
    "accepted",  # the server accepted the message, the outcome is not recorded yet
    "sent",  # the outcome is recorded
)


def pause_point(step: str) -> None:
    if step not in STEPS:
        raise ValueError(f"unknown pause step {step!r}")
    if os.environ.get("TRACKER_TEST_PAUSE_AT") != step:
        return
    marker = os.environ.get("TRACKER_TEST_PAUSE_FILE")
    if marker:
        Path(marker).write_text(f"{step} {os.getpid()}\n", encoding="utf-8")
    while True:  # until the test kills this process
        time.sleep(3600)
