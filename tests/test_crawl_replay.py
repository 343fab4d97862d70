"""Real crawls (the `tracker` command in a child process) against replays of real Legistar responses."""

from __future__ import annotations

import json

from sqlalchemy import select

from db.engine import session_scope
from db.models import Action, Attachment, Bill, CrawlRun, StatusChange
from tests.conftest import SAMPLES, run_tracker, write_config
from tests.replay import ReplayServer

API = SAMPLES / "legistar-api"


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
