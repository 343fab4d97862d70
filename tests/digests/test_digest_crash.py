"""kill -9 of the sending process at each step of a send, then a restart: never a second copy without the
operator, never a lost digest.

The child is the real ``tracker digest send``; the test-only hook of tracker/digests/faults.py
(``TRACKER_TEST_PAUSE_AT``) stops it at the named step, where the test kills it with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models_digest import Digest, DigestDelivery
from tests import factories as f
from tests.conftest import REPO, run_tracker
from tests.digests import helpers as h
from tracker.digests.outbox import release, send_due

T0 = f.T0
SEND_AT = (T0 + timedelta(hours=1)).isoformat()
RESTART_AT = (T0 + timedelta(hours=1, minutes=1)).isoformat()

# step -> (delivery state after the restart, messages the server has after the restart)
EXPECTED = {
    "built": ("sent", 1),  # nothing was recorded: the restart records and sends it
    "recorded": ("sent", 1),  # recorded, never claimed: the restart sends it
    "claimed": ("sent", 1),  # claimed, nothing transmitted: safe to retry at once
    "transmitting": ("held", 0),  # may have reached the server: held (here it had not)
    "accepted": ("held", 1),  # the server accepted it: held, never resent on its own
    "sent": ("sent", 1),  # done: the restart does nothing
}


def _params():
    for step in EXPECTED:
        yield pytest.param(step, "sqlite", id=f"{step}-sqlite")
    for step in ("built", "transmitting", "accepted"):
        yield pytest.param(step, "postgresql", id=f"{step}-postgresql")


# The shared db_url fixture, parametrized per step: every step on SQLite, a subset on PostgreSQL.
@pytest.mark.parametrize(("step", "db_url"), list(_params()), indirect=["db_url"])
def test_kill_at_each_step_then_restart(step, db_url, engine, smtp, tmp_path):
    config = h.make_config(db_url, smtp.port)
    with session_scope(engine) as s:
        h.subscribe(s, config, starts_at=T0)
        f.match(
            s,
            f.bill(
                s,
                title="Ordinance limiting civil immigration detainers",
                first_seen=T0 + timedelta(minutes=30),
            ),
        )
    cfg = h.write_toml(tmp_path / "t.toml", config)
    marker = tmp_path / "paused"
    env = {**os.environ, "TRACKER_TEST_PAUSE_AT": step, "TRACKER_TEST_PAUSE_FILE": str(marker)}
    env.pop("TRACKER_CONFIG", None)
    env.pop("TRACKER_DATABASE_URL", None)
    child = subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(cfg), "digest", "send", "--now", SEND_AT],
        cwd=str(REPO),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the marker is complete once its line ends: it is created empty, then written (seen under load)
        def paused_or_exited():
            return (marker.exists() and marker.read_text().endswith("\n")) or child.poll() is not None

        h.wait_for(paused_or_exited, 60, f"the sender to reach {step!r}")
        assert child.poll() is None, child.communicate()
        assert marker.read_text().split()[0] == step
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()

    restart = run_tracker("--config", str(cfg), "digest", "send", "--now", RESTART_AT)
    assert restart.returncode == 0, restart.stderr
    state, messages = EXPECTED[step]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Digest)) == 1
        (delivery,) = s.scalars(select(DigestDelivery)).all()
        assert delivery.status == state, (restart.stdout, restart.stderr)
        delivery_id = delivery.id
    assert len(smtp.mailbox.received_raw) == messages
    if state == "held":
        assert "HELD delivery" in restart.stdout and "may or may not have been delivered" in restart.stdout
        # still never resent without the operator
        send_due(engine, config, T0 + timedelta(days=1))
        assert len(smtp.mailbox.received_raw) == messages
        # the operator looks: resend when it did not arrive, record it as sent when it did
        release(engine, delivery_id, T0 + timedelta(days=1), mark_sent=messages == 1)
        send_due(engine, config, T0 + timedelta(days=1, minutes=1))
        with session_scope(engine) as s:
            assert s.get(DigestDelivery, delivery_id).status == "sent"
    assert len(smtp.mailbox.received_raw) == 1
    # and nothing more, ever
    send_due(engine, config, T0 + timedelta(days=2))
    assert len(smtp.mailbox.received_raw) == 1
