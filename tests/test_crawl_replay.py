"""Real crawls (the `tracker` command in a child process) against replays of real Legistar responses."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from db.engine import session_scope
from db.models import Action, Attachment, Bill, CrawlRun, StatusChange
from tests.conftest import SAMPLES, run_tracker, write_config
from tests.replay import ReplayServer

API = SAMPLES / "legistar-api"
# These replays hold matters only, and count their requests exactly: the crawls read no meetings (the
# recorded events are replayed by tests/platforms/test_legistar_meetings_crawl.py).
NO_MEETINGS = {"meetings_ahead_days": 0, "meetings_back_days": 0}


def test_full_crawl_of_recorded_metro_matter(tmp_path, db_url, engine):
    routes = {
        "/v1/metro/matters": (API / "metro/matters-filtered.json").read_bytes(),
        "/v1/metro/matters/10881/histories": (API / "chicago/matter-histories-dupe.json").read_bytes(),
        "/v1/metro/matters/10881/sponsors": b"[]",
        "/v1/metro/matters/10881/attachments": (API / "metro/matter-attachments.json").read_bytes(),
    }
    with ReplayServer(routes) as server:
        cfg = write_config(
            tmp_path / "t.toml",
            [
                {
                    "slug": "la-metro",
                    "name": "LA Metro",
                    "platform": "legistar",
                    "client": "metro",
                    "api_base": server.base_url,
                    "web_base": "https://metro.legistar.com",
                    "timezone": "America/Los_Angeles",
                }
            ],
            database_url=db_url,
            # the recorded attachments are read with the bill, whatever its title
            crawl={**NO_MEETINGS, "attachments_by_title": False},
        )
        result = run_tracker("--config", str(cfg), "crawl")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("la-metro: succeeded (full) - 1 bills seen, 1 new, 0 changed")
    paths = [p for p, _ in server.requests]
    assert paths[0] == "/v1/metro/matters"
    assert server.requests[0][1] == {"$orderby": ["MatterId desc"], "$top": ["1000"], "$skip": ["0"]}
    assert sorted(paths[1:]) == [
        f"/v1/metro/matters/10881/{x}" for x in ("attachments", "histories", "sponsors")
    ]
    with session_scope(engine) as s:
        bill = s.scalars(select(Bill)).one()
        assert (bill.identifier, bill.status, bill.stage) == ("2024-1026", "Passed", "passed")
        assert [a.description for a in s.scalars(select(Action).order_by(Action.sequence))] == [
            "Referred",
            "Recommended to Pass",
            "Passed",
        ]
        assert s.scalar(select(Attachment).where(Attachment.source_id == "28753")).name.startswith(
            "Regular Board Meeting MINUTES"
        )
        (event,) = s.scalars(select(StatusChange)).all()
        assert (event.kind, event.old_status, event.new_status) == ("first_seen", None, "Passed")
        assert event.action.description == "Passed"
        run = s.scalars(select(CrawlRun)).one()
        assert (run.status, run.mode, run.requests) == ("succeeded", "full", 4)
    exported = run_tracker("--config", str(cfg), "export", "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    (record,) = [json.loads(line) for line in exported.stdout.splitlines()]
    assert record["identifier"] == "2024-1026"
    assert record["url"].startswith("https://metro.legistar.com/LegislationDetail.aspx?ID=10881&GUID=")
    assert [h["status"] for h in record["status_history"]] == ["Passed"]


def test_changes_and_export_commands(tmp_path, db_url, engine):
    """A recorded matter whose status moves between two crawls, seen through `changes` and `export`."""
    matter = json.loads((API / "metro/matters-filtered.json").read_bytes())
    histories = json.loads((API / "chicago/matter-histories.json").read_bytes())
    routes = {
        "/v1/metro/matters": json.dumps(matter).encode(),
        "/v1/metro/matters/10881/histories": json.dumps(histories[:2]).encode(),
        "/v1/metro/matters/10881/sponsors": b"[]",
        "/v1/metro/matters/10881/attachments": b"[]",
    }
    with ReplayServer(routes) as server:
        cfg = write_config(
            tmp_path / "t.toml",
            [
                {
                    "slug": "la-metro",
                    "name": "LA Metro",
                    "platform": "legistar",
                    "client": "metro",
                    "api_base": server.base_url,
                    "timezone": "America/Los_Angeles",
                }
            ],
            database_url=db_url,
            crawl=NO_MEETINGS,
        )
        matter[0]["MatterStatusName"] = "In Committee"
        routes["/v1/metro/matters"] = json.dumps(matter).encode()
        server.routes = {k.lower(): (200, "application/json", v) for k, v in routes.items()}
        assert run_tracker("--config", str(cfg), "crawl").returncode == 0
        matter[0]["MatterStatusName"] = "Passed"
        matter[0]["MatterRowVersion"] = "AAAAAAJpCW0="
        server.routes["/v1/metro/matters"] = (200, "application/json", json.dumps(matter).encode())
        all_rows = json.dumps(histories).encode()
        server.routes["/v1/metro/matters/10881/histories"] = (200, "application/json", all_rows)
        second = run_tracker("--config", str(cfg), "crawl")
    assert second.returncode == 0, second.stderr
    assert "1 changed, 1 status changes" in second.stdout

    table = run_tracker("--config", str(cfg), "changes")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["observed", "(UTC)", "jurisdiction"]
    assert "la-metro" in lines[1] and "In Committee → Passed" in lines[1] and "2013-05-08 Passed" in lines[1]
    assert lines[-1] == "1 status change."

    jsonl = run_tracker("--config", str(cfg), "changes", "--format", "jsonl")
    (event,) = [json.loads(x) for x in jsonl.stdout.splitlines()]
    assert (event["old_status"], event["new_status"], event["old_stage"], event["new_stage"]) == (
        "In Committee",
        "Passed",
        "in_committee",
        "passed",
    )
    action = {"date": "2013-05-08", "description": "Passed", "body": "City Council", "result": "Pass"}
    assert event["action"] == action
    both = run_tracker("--config", str(cfg), "changes", "--include-first-seen", "--format", "jsonl")
    assert [json.loads(x)["kind"] for x in both.stdout.splitlines()] == ["first_seen", "changed"]
    future = run_tracker("--config", str(cfg), "changes", "--since", "2999-01-01")
    assert future.stdout.strip() == "No status changes."
    bad = run_tracker("--config", str(cfg), "changes", "--since", "last tuesday")
    assert (bad.returncode, bad.stderr) == (2, "Error: not an ISO date or time: 'last tuesday'\n")
    unknown = run_tracker("--config", str(cfg), "changes", "--jurisdiction", "atlantis")
    assert unknown.returncode == 2  # a usage error
    assert unknown.stderr == "Error: no jurisdiction 'atlantis' in the database (known: la-metro)\n"

    exported = run_tracker("--config", str(cfg), "export", "--format", "csv")
    assert exported.returncode == 0
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == 1
    assert rows[0]["identifier"] == "2024-1026" and rows[0]["stage"] == "passed"
    assert [h["status"] for h in json.loads(rows[0]["status_history"])] == ["In Committee", "Passed"]
