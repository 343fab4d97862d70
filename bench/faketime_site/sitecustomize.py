"""Loaded only under bench/flake_check.sh's faketime runs (PYTHONPATH), never by the tracker or the tests.

libfaketime 0.9.10 (Debian 12) mistranslates absolute monotonic deadlines when the monotonic clock is left
real (``faketime --exclude-monotonic``, needed so that ``threading.Event.wait`` times out): Python's
``time.sleep`` (``clock_nanosleep`` with ``TIMER_ABSTIME``) then fails with ``OSError: [Errno 22]``. Sleeping
on a relative ``select`` timeout instead sidesteps that libfaketime bug; the dates the tests read are faked
all the same.
"""

import select
import time

_real_sleep = time.sleep


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        select.select([], [], [], remaining)


time.sleep = _sleep
