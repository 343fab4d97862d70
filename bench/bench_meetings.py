"""What reading a Legistar Web API portal's meetings adds to its crawls, in requests.

    ./dev bench bench_meetings                       # 200 meetings in the window, 2,000 matters
    ./dev bench bench_meetings --meetings 200 --matters 20000 --change 0.1

A loopback Legistar Web API (this file: matters, events, event items, roll calls, office records) holds
--matters matters and --meetings meetings spread over the crawl's window (14 days back, 60 ahead of the
local today; 10 agenda items each, a third of them naming a matter; 3 roll calls on each held meeting's
agenda, 7 votes each). The real `tracker crawl` runs in a child process, twice over the same steps: once
with meetings, once with ``meetings_ahead_days = meetings_back_days = 0`` (no meetings), each into its own
SQLite database. Every step prints the requests of both and what meetings add, per meeting in the window:

1. the first crawl (full: every matter, every meeting's items and roll calls);
2. an incremental crawl with nothing changed;
3. an incremental crawl after --change of the meetings changed (their event row moved: a republished
   agenda, published minutes, a new time), the held ones among them with a corrected roll call.

The matters' requests are the same in both runs (an incremental crawl's listing asks only for changed
matters; here none), so the difference is the meetings' cost, whatever the portal's size.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_crawl import tracker  # noqa: E402  (the `tracker` child-process runner, timed)

TZ = "America/Los_Angeles"
CLIENT = "bench"
ITEMS = 10
ROLL_CALLS = 3
VOTERS = 7


class Portal:
    def __init__(self, matters: int, meetings: int) -> None:
        self.matters = [
            {
                "MatterId": n,
                "MatterGuid": f"G{n}",
                "MatterLastModifiedUtc": "2026-01-01T00:00:00",
                "MatterRowVersion": "AAAAAAAAAAE=",
                "MatterFile": f"26-{n:05d}",
                "MatterName": None,
                "MatterTitle": f"An ordinance number {n}",
                "MatterTypeName": "Ordinance",
                "MatterStatusId": 1,
                "MatterStatusName": "In Committee",
                "MatterBodyName": "City Council",
                "MatterIntroDate": "2026-01-05T00:00:00",
            }
            for n in range(1, matters + 1)
        ]
        today = datetime.now(ZoneInfo(TZ)).date()
        days = 14 + 60  # the window's days, from 14 days back
        self.events: list[dict[str, Any]] = []
        self.version: dict[int, int] = {}
        self.tally: dict[int, str] = {}
        for k in range(meetings):
            eid = 5000 + k
            day = today - timedelta(days=14) + timedelta(days=(k * days) // max(1, meetings))
            self.version[eid] = 1
            self.events.append(
                {
                    "EventId": eid,
                    "EventGuid": f"E{eid}",
                    "EventLastModifiedUtc": "2026-01-01T00:00:00",
                    "EventRowVersion": "v1",
                    "EventBodyName": f"Committee {k % 6}",
                    "EventDate": f"{day.isoformat()}T00:00:00",
                    "EventTime": "9:00 AM" if day != today else "12:01 AM",
                    "EventAgendaStatusId": 10,
                    "EventAgendaStatusName": "Final",
                    "EventMinutesStatusId": 9,
                    "EventLocation": "City Hall",
                    "EventAgendaLastPublishedUTC": "2026-01-01T00:00:00",
                    "EventMinutesLastPublishedUTC": None,
                    "EventComment": None,
                    "EventInSiteURL": f"https://bench.legistar.com/MeetingDetail.aspx?LEGID={eid}",
                    "EventItems": [],
                }
            )
        self.requests: dict[str, int] = {}
        self.lock = threading.Lock()

    def change(self, fraction: float) -> int:
        """Bump the row version of every n-th meeting; the held ones get a corrected roll call."""
        step = max(1, round(1 / fraction)) if fraction > 0 else 0
        changed = 0
        for k, event in enumerate(self.events):
            if step and k % step == 0:
                eid = event["EventId"]
                self.version[eid] += 1
                event["EventRowVersion"] = f"v{self.version[eid]}"
                self.tally[eid] = f"{VOTERS - self.version[eid]}:{self.version[eid]}"
                changed += 1
        return changed

    def items(self, eid: int) -> list[dict[str, Any]]:
        rows = []
        for n in range(ITEMS):
            iid = eid * 100 + n
            matter = (eid * 7 + n) % len(self.matters) + 1 if n % 3 == 0 and self.matters else None
            rows.append(
                {
                    "EventItemId": iid,
                    "EventItemEventId": eid,
                    "EventItemAgendaSequence": n + 1,
                    "EventItemMinutesSequence": n + 1,
                    "EventItemTitle": f"Item {n + 1}",
                    "EventItemActionName": "Approved" if n < ROLL_CALLS else None,
                    "EventItemPassedFlagName": "Pass" if n < ROLL_CALLS else None,
                    "EventItemRollCallFlag": 1 if n < ROLL_CALLS else 0,
                    "EventItemTally": self.tally.get(eid, f"{VOTERS}:0") if n < ROLL_CALLS else None,
                    "EventItemMatterId": matter,
                    "EventItemMatterFile": None if matter is None else f"26-{matter:05d}",
                }
            )
        return rows

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[str, Any]:
        parts = [p for p in path.lower().split("/") if p][2:]  # after /v1/{client}
        top = int(query.get("$top", ["1000"])[0])
        skip = int(query.get("$skip", ["0"])[0])
        if parts == ["matters"]:
            rows = [] if "$filter" in query else self.matters  # nothing changed since the last crawl
            return "matters", rows[skip : skip + top]
        if len(parts) == 3 and parts[0] == "matters":
            return "matters", []
        if parts == ["events"]:
            return "events", self.events[skip : skip + top]
        if len(parts) == 3 and parts[0] == "events" and parts[2] == "eventitems":
            return "eventitems", self.items(int(parts[1]))
        if len(parts) == 3 and parts[0] == "eventitems" and parts[2] == "votes":
            return "votes", [
                {
                    "VoteId": int(parts[1]) * 10 + v,
                    "VotePersonId": v,
                    "VotePersonName": f"Member {v}",
                    "VoteValueName": "Aye" if v else "Nay",
                    "VoteSort": v,
                }
                for v in range(VOTERS)
            ]
        if parts == ["officerecords"]:
            rows = [
                {
                    "OfficeRecordId": v,
                    "OfficeRecordPersonId": v,
                    "OfficeRecordFullName": f"Member {v}",
                    "OfficeRecordBodyName": "City Council",
                    "OfficeRecordTitle": "Councilmember",
                    "OfficeRecordStartDate": "2025-01-06T00:00:00",
                    "OfficeRecordEndDate": "2029-01-01T00:00:00",
                }
                for v in range(VOTERS)
            ]
            return "officerecords", rows[skip : skip + top]
        return "other", None

    def serve(self) -> ThreadingHTTPServer:
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                kind, payload = portal.answer(parts.path, parse_qs(parts.query))
                with portal.lock:
                    portal.requests[kind] = portal.requests.get(kind, 0) + 1
                body = json.dumps(payload).encode()
                self.send_response(200 if payload is not None else 404)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


def write_config(path: Path, port: int, database: Path, meetings: bool) -> Path:
    days = "" if meetings else "meetings_ahead_days = 0\nmeetings_back_days = 0\n"
    path.write_text(
        f'[database]\nurl = "sqlite:///{database}"\n[crawl]\nprocesses = 1\n{days}'
        f'[[jurisdictions]]\nslug = "bench"\nname = "Bench City Council"\nplatform = "legistar"\n'
        f'client = "{CLIENT}"\napi_base = "http://127.0.0.1:{port}/v1"\ntimezone = "{TZ}"\n',
        encoding="utf-8",
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--meetings", type=int, default=200)
    parser.add_argument("--matters", type=int, default=2000)
    parser.add_argument(
        "--change", type=float, default=0.1, help="the fraction of meetings changed in step 3"
    )
    args = parser.parse_args()

    rows: list[tuple[str, dict[str, int], dict[str, int]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        runs: dict[bool, list[dict[str, int]]] = {}
        for with_meetings in (False, True):
            portal = Portal(args.matters, args.meetings)
            server = portal.serve()
            cfg = write_config(
                tmpdir / f"t{int(with_meetings)}.toml",
                server.server_address[1],
                tmpdir / f"db{int(with_meetings)}.sqlite",
                with_meetings,
            )
            tracker(cfg, "init")
            counts = []
            for step in ("first", "unchanged", "changed"):
                if step == "changed":
                    portal.change(args.change)
                portal.requests.clear()
                _, _, out = tracker(cfg, "crawl")
                if not re.search(r"bench: succeeded", out):
                    sys.exit(f"the crawl did not succeed: {out}")
                counts.append(dict(portal.requests))
            server.shutdown()
            runs[with_meetings] = counts
        labels = (
            "1. first crawl (full)",
            "2. incremental, nothing changed",
            f"3. incremental, {args.change:.0%} of meetings changed",
        )
        for n, label in enumerate(labels):
            rows.append((label, runs[False][n], runs[True][n]))

    print(f"{args.meetings} meetings in the window, {args.matters} matters")
    print(f"{'step':<42} {'without':>8} {'with':>8} {'added':>7} {'per meeting':>12}  meetings' requests")
    for label, without, with_ in rows:
        a, b = sum(without.values()), sum(with_.values())
        detail = ", ".join(f"{k} {v}" for k, v in sorted(with_.items()) if k != "matters")
        print(f"{label:<42} {a:>8} {b:>8} {b - a:>7} {(b - a) / args.meetings:>12.2f}  {detail}")


if __name__ == "__main__":
    main()
