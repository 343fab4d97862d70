"""`tracker demo` tells one consistent story: the times the tracker records follow the demo's clock (no
status change is observed before the council action it explains), digests are in one declared time zone,
and the next steps it prints run exactly as printed, from any directory (as under ``./dev demo``, which
runs ``.venv/bin/tracker``). SQLite only, like the demo."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from tests.clock import utc_now


def test_demo_times_and_printed_next_steps(tmp_path, demo_run):
    demo, result = demo_run.dir, demo_run.result
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
    out = result.stdout
    assert "Time zone:   " in out
    zone = out.split("Time zone:   ", 1)[1].split(" ", 1)[0]
    assert f'timezone = "{zone}"' in (demo / "tracker.toml").read_text()
    # the status-change tables too are in that zone (they said "observed (UTC)" until 2026-12-07)
    abbreviation = datetime.now(ZoneInfo(zone)).strftime("%Z")
    tables = [line for line in out.splitlines() if line.startswith("observed (")]
    assert tables and all(line.startswith(f"observed ({abbreviation})") for line in tables), tables

    steps = [line.strip() for line in out.split("Explore the demo database:", 1)[1].splitlines()[1:4]]
    assert len(steps) == 3 and all("--config" in s for s in steps), steps
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for step in steps:  # not on PATH: each names the program by a path that works from anywhere
        done = subprocess.run(shlex.split(step), cwd=elsewhere, env={**env, "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, (step, done.stderr)
    assert (demo / "bills.csv").stat().st_size > 0

    engine = create_engine(f"sqlite:///{demo / 'tracker.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT sc.observed_at, a.action_date FROM status_changes sc "
                "JOIN actions a ON a.id = sc.action_id WHERE sc.kind = 'changed'"
            )
        ).all()
        first_seen = conn.execute(text("SELECT max(first_seen_at) FROM bills")).scalar()
    engine.dispose()
    assert rows
    for observed, action_date in rows:  # observed after (or on the day of) the action it explains
        observed_day = datetime.fromisoformat(str(observed)).date()
        assert str(action_date)[:10] <= observed_day.isoformat(), (observed, action_date)
    assert datetime.fromisoformat(str(first_seen)).replace(tzinfo=UTC) <= utc_now(seconds=False)
    digest = (demo / "digest.txt").read_text()
    assert "not yet reviewed" in digest.lower()  # the demo subscriber opted into unreviewed matches


def test_the_second_crawl_finds_what_changed_and_the_sweep_only_what_it_could_not_see(demo_run):
    """The README's story: the incremental second crawl finds the portal's two weeks of status changes; the
    sweep after it finds only those whose matter kept its old ``MatterLastModifiedUtc`` (the Legistar quirk
    the demo gives a tenth of its matters). Until 2026-12-07 the second crawl asked for changes since the
    machine's time minus a day, while the portal's changes were dated in the two weeks before: it found
    none and the sweep found all."""
    out = demo_run.result.stdout
    second = out.split("second crawl (only what changed):", 1)[1].split("\n\n", 1)[0]
    assert second.count("succeeded (incremental)") == 4, second
    assert " 0 bills seen" not in second, second
    found = int(out.split("Status changes found by the second crawl (", 1)[1].split(")", 1)[0])
    hidden = int(out.split("Status changes only the sweep could see (", 1)[1].split(")", 1)[0])
    assert found > 0, out
    assert hidden < found / 2, (found, hidden)
    # the one change the demo makes the Legistar way, dated nowhere: only the sweep sees it
    quiet = out.split("Meanwhile, on the portal: ", 1)[1].split(" is marked Withdrawn", 1)[0]
    slug, file = quiet.split("'s ")
    table = out.split("Status changes only the sweep could see (", 1)[1].split("\n\n", 1)[0]
    assert hidden >= 1 and re.search(rf"{slug}\s+{re.escape(file)}\s+.*→ Withdrawn", table), table
