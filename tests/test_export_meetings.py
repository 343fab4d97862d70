"""``tracker export`` (the real command in a child process, both engines): each record gains
``next_hearing`` (null or ``{at, body, location, agenda_url}``, ``at`` with the UTC offset) and ``votes``
(oldest first, ``{at, body, action, result, roll_call: [{member, vote}]}``), the existing fields kept; the
CSV format carries them as JSON cells."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from tests.conftest import run_tracker, write_config
from tests.web.meeting_data import HOSTILE, ROLL, build
from tracker.cli.bills import EXPORT_FIELDS

ZONE = ZoneInfo("America/Los_Angeles")


def test_export_gives_next_hearing_and_votes(tmp_path, db_url, engine):
    world = build(engine)
    cfg = write_config(tmp_path / "t.toml", [], database_url=db_url)
    done = run_tracker("--config", str(cfg), "export", "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    records = {r["identifier"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert set(records) == {"O2026-0053", "O2026-0054", "C2026-0100"}
    gang = records["O2026-0053"]
    assert list(gang) == EXPORT_FIELDS
    for key in (
        "jurisdiction",
        "source_id",
        "title",
        "sponsors",
        "status_history",
        "relevant",
        "review_state",
    ):
        assert key in gang  # the fields export always had
    held = (world.now - timedelta(days=5)).astimezone(ZONE).isoformat()
    assert gang["next_hearing"] == {
        "at": (world.now + timedelta(days=12)).astimezone(ZONE).isoformat(),
        "body": "Public Safety Committee",
        "location": HOSTILE,
        "agenda_url": "https://riverton.legistar.com/View.ashx?M=A&ID=1",
    }
    assert gang["votes"] == [
        {
            "at": held,
            "body": "City Council",
            "action": "Vote",
            "result": "Passed",
            "roll_call": [{"member": m, "vote": v} for m, v in ROLL],
        }
    ]
    assert records["O2026-0054"]["next_hearing"] is None  # cancelled: never next
    assert [v["roll_call"] for v in records["O2026-0054"]["votes"]] == [
        [{"member": "Ana Ortiz", "vote": "no"}, {"member": "Bo Chen", "vote": "yes"}]
    ]
    assert records["C2026-0100"]["next_hearing"] is None and records["C2026-0100"]["votes"] == []

    as_csv = run_tracker("--config", str(cfg), "export", "--format", "csv", "--relevant")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = {r["identifier"]: r for r in csv.DictReader(io.StringIO(as_csv.stdout))}
    assert json.loads(rows["O2026-0053"]["next_hearing"]) == gang["next_hearing"]
    assert json.loads(rows["O2026-0053"]["votes"]) == gang["votes"]
    assert rows["O2026-0054"]["next_hearing"] == ""
