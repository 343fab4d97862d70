"""How fast the web pages answer with 50,000 bills: ``./dev bench bench_web [--bills N] [--requests N]
[--engine sqlite|postgresql|both] [--db DIR] [--only TEXT] [--serve-from CHECKOUT]``.

``--db DIR`` keeps the databases (the SQLite file in DIR, a PostgreSQL schema named after DIR) and reuses
them on the next run with the same DIR and ``--bills`` (the build takes minutes); ``--only`` times only the
pages whose label or path contains TEXT; ``--serve-from`` serves with another checkout's code (a ``git
worktree`` of an older commit), so two commits are compared on one database in the same conditions.

The goal is every page under 200 ms with 50,000 bills. For each engine this builds a database
through the real migrations (``db.engine.upgrade``), bulk-inserts (SQLAlchemy core) 50,000 bills over five
jurisdictions with their sponsors, actions (about 3 a bill, a third with text) and status changes (first
seen, then 0 to 2 changes explained by actions), meetings with their agendas, roll calls and members
(:func:`meetings`), runs the project's matcher over every bill
(``tracker.matcher.apply.match_bills``: about 1 bill in 12 is relevant and waits as pending), then decides
part of the queue as editors would (a quarter of the relevant bills confirmed, some with corrections and
notes, an eighth rejected, a few of the decided ones flagged), with their review events.

Then it serves the app with the real ``tracker serve`` in a child process on loopback, logs in as an
editor over HTTP, and requests each page ``--requests`` times in a row (after one warm-up request),
timing each full response. Prints the fastest answer (a machine busy with other work slows the median and
the 95th percentile, hardly the minimum), the median and the 95th percentile per page, and marks the pages
over 200 ms. The titles are the labelled council titles of tracker/matcher/devset, made distinct with a
street and a number; "quagga" is in 25 titles (a rare word), "zyzzyva" in none.

SQLite: a file in a temporary directory, as the app runs it (no ANALYZE). PostgreSQL (127.0.0.1:5432,
database ``test``, or ``$TRACKER_TEST_PG_URL``): a schema of its own, ANALYZEd after the load (as
autovacuum would), dropped at the end. No assertion: this is a measurement.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import bindparam, func, insert, select, text, update  # noqa: E402

from db.engine import make_engine, session_scope, upgrade  # noqa: E402
from db.models import Action, Bill, Jurisdiction, Sponsor, StatusChange  # noqa: E402
from db.models_meetings import Meeting, MeetingItem, Member, MemberTerm, Vote  # noqa: E402
from db.models_review import BillMatch, ReviewEvent  # noqa: E402
from tracker.contract import name_key  # noqa: E402
from tracker.matcher.apply import match_bills  # noqa: E402
from tracker.matcher.evaluate import read_labelled  # noqa: E402

PG_URL = os.environ.get("TRACKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DEVSET = REPO / "tracker" / "matcher" / "devset"
GOAL_MS = 200.0
PASSWORD = "bench password 1234"  # a throwaway account in a throwaway database
JURISDICTIONS = [
    ("riverton", "Riverton City Council"),
    ("lakeside", "Lakeside City Council"),
    ("portalder", "Port Alder City Council"),
    ("millbrook", "Millbrook Board of Aldermen"),
    ("eastbay", "East Bay City Council"),
]
STREETS = [
    "Old Mill Road", "Main Street", "Harbor Way", "Elm Avenue", "Cedar Lane", "Lincoln Boulevard",
    "Oak Street", "River Drive", "Park Place", "Station Road", "Hill Street", "Market Street",
    "Bay Road", "Union Avenue", "Pine Street", "Grand Avenue", "Spring Street", "Lake Shore Drive",
]  # fmt: skip
STAGES = ["introduced", "in_committee", "passed", "enacted", "failed", "withdrawn"]
STATUSES = {
    "introduced": "Introduced",
    "in_committee": "Referred to Committee",
    "passed": "Passed",
    "enacted": "Adopted",
    "failed": "Failed",
    "withdrawn": "Withdrawn",
}
ACTIONS = [
    ("Introduced and referred", None),
    ("Referred to committee", "Referred to the Public Safety and Human Services Committee for review"),
    ("Public hearing held", "Public hearing held; speakers from the community addressed the committee"),
    ("Recommended for approval", None),
    ("Passed", "Passed by the following vote: 7 ayes, 2 noes"),
]
NOW = datetime.now(UTC)


# -- the data ------------------------------------------------------------------------------------------


def titles(count: int, rng: random.Random) -> list[str]:
    """The devset's council titles (about 1 in 12 relevant, as in a council's feed), each made distinct."""
    items = read_labelled(DEVSET / "dev.csv") + read_labelled(DEVSET / "holdout.csv")
    relevant = [i.title for i in items if i.relevant]
    other = [i.title for i in items if not i.relevant]
    out = []
    for n in range(count):
        base = relevant[n % len(relevant)] if n % 12 == 0 else other[n % len(other)]
        out.append(f"{base} ({rng.choice(STREETS)}, file {n})")
    for n in rng.sample(range(count), 25):
        out[n] = f"Contract for quagga mussel inspections at the {rng.choice(STREETS)} boat launch (file {n})"
    return out


def _raw(n: int, size: int) -> dict[str, Any]:
    """A portal record of about ``size`` bytes (a Legistar matter's JSON is about 1-2 KB)."""
    return {"MatterId": n, "MatterGuid": str(uuid.UUID(int=n)), "Notes": "x" * size}


def build(url: str, count: int, seed: int = 6) -> dict[str, Any]:
    """The benchmark database at ``url`` (migrated, empty); returns facts used to pick the pages."""
    rng = random.Random(seed)
    engine = make_engine(url)
    started = time.perf_counter()
    upgrade(engine)
    bills, actions, sponsors, changes = [], [], [], []
    action_id = 0
    for n, title in enumerate(titles(count, rng), start=1):
        jid = (n % len(JURISDICTIONS)) + 1
        first_seen = NOW - timedelta(days=rng.uniform(0, 3 * 365))
        introduced = (first_seen - timedelta(days=rng.randint(0, 30))).date()
        stage = rng.choices(STAGES, weights=[30, 30, 15, 15, 5, 5])[0]
        bills.append(
            {
                "id": n, "jurisdiction_id": jid, "source_id": str(100000 + n),
                "identifier": f"O{introduced.year}-{n:05d}", "title": title, "name": None,
                "type_name": "Ordinance", "status": STATUSES[stage], "stage": stage,
                "body_name": "City Council", "introduced": introduced, "content_hash": f"{n:064x}",
                "raw": _raw(n, 900), "first_seen_at": first_seen, "updated_at": first_seen,
                "public_url": f"https://{JURISDICTIONS[jid - 1][0]}.legistar.com/Detail.aspx?ID={n}",
                "attachments_fetched_at": first_seen,
            }
        )  # fmt: skip
        sponsors.append({"bill_id": n, "sequence": 0, "name": f"Council Member {n % 37}", "is_primary": True})
        ids = []
        for seq in range(rng.randint(1, 5)):
            action_id += 1
            description, body = ACTIONS[seq]
            day = min(introduced + timedelta(days=7 * seq), NOW.date())
            actions.append(
                {
                    "id": action_id, "bill_id": n, "source_id": f"{n}-{seq}", "sequence": seq,
                    "action_date": day, "description": description, "text": body,
                    "body_name": "City Council", "classification": "other", "raw": _raw(action_id, 300),
                }
            )  # fmt: skip
            ids.append((action_id, day))
        changes.append(
            {"bill_id": n, "seq": 0, "kind": "first_seen", "old_status": None, "new_status": "Introduced",
             "old_stage": None, "new_stage": "introduced", "observed_at": first_seen, "action_id": None}
        )  # fmt: skip
        old_status, old_stage = "Introduced", "introduced"
        for seq, (aid, _day) in enumerate(ids[1:3], start=1):
            new_stage = stage if seq == len(ids[1:3]) else "in_committee"
            new_status = STATUSES[new_stage]
            changes.append(
                {"bill_id": n, "seq": seq, "kind": "changed", "old_status": old_status,
                 "new_status": new_status, "old_stage": old_stage, "new_stage": new_stage,
                 "observed_at": min(first_seen + timedelta(days=7 * seq), NOW), "action_id": aid}
            )  # fmt: skip
            old_status, old_stage = new_status, new_stage
    with engine.begin() as conn:
        conn.execute(
            insert(Jurisdiction),
            [{"id": i + 1, "slug": s, "name": name, "platform": "legistar", "created_at": NOW}
             for i, (s, name) in enumerate(JURISDICTIONS)],
        )  # fmt: skip
        for table, rows in ((Bill, bills), (Sponsor, sponsors), (Action, actions), (StatusChange, changes)):
            for i in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[i : i + 5000])
    loaded = time.perf_counter()
    with session_scope(engine) as session:  # the project's matcher writes every bill's match
        match_bills(session, range(1, count + 1), texts={}, now=NOW - timedelta(days=3 * 365))
    matched = time.perf_counter()
    decided = decide(engine, rng)
    met = meetings(engine, bills, rng)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    with engine.connect() as conn:
        facts = {
            "bills": conn.scalar(select(func.count()).select_from(Bill)),
            "actions": conn.scalar(select(func.count()).select_from(Action)),
            "status_changes": conn.scalar(select(func.count()).select_from(StatusChange)),
            "relevant": conn.scalar(select(func.count()).where(BillMatch.relevant.is_(True))),
            "pending": conn.scalar(select(func.count()).where(BillMatch.review_state == "pending")),
            **decided,
            **met,
            # The bill with the longest history, for /bills/<id>.
            "busy_bill": conn.scalar(
                select(Action.bill_id).group_by(Action.bill_id).order_by(func.count().desc()).limit(1)
            ),
            # A bill with an upcoming hearing and the most roll calls, for /bills/<id> with meetings.
            "hearing_bill": conn.scalar(
                select(MeetingItem.bill_id)
                .join(Vote, Vote.meeting_item_id == MeetingItem.id)
                .where(
                    MeetingItem.bill_id.in_(
                        select(MeetingItem.bill_id).join(Meeting).where(Meeting.starts_at > NOW)
                    )
                )
                .group_by(MeetingItem.bill_id)
                .order_by(func.count().desc(), MeetingItem.bill_id)
                .limit(1)
            ),
            # The member with the most votes, for /members/<id>.
            "busy_member": conn.scalar(
                select(Vote.member_id).group_by(Vote.member_id).order_by(func.count().desc()).limit(1)
            ),
            "load_s": loaded - started,
            "match_s": matched - loaded,
        }
    engine.dispose()
    return facts


def decide(engine, rng: random.Random) -> dict[str, int]:
    """Editors' decisions on part of the queue (core updates, with their review events)."""
    with engine.begin() as conn:
        relevant = conn.execute(
            select(BillMatch.bill_id, BillMatch.categories, BillMatch.direction, Bill.title)
            .join(Bill, Bill.id == BillMatch.bill_id)
            .where(BillMatch.relevant.is_(True))
        ).all()
        confirmed, rejected, events = [], [], []
        for bill_id, categories, direction, title in relevant:
            seen = {"title": title, "name": None}
            roll = rng.random()
            at = NOW - timedelta(days=rng.uniform(0, 700))
            if roll < 0.25:
                corrected = rng.random() < 0.2
                cats = list(categories)[:1] + (["data_privacy_status"] if corrected else [])
                note = "confirmed at the committee hearing" if rng.random() < 0.3 else None
                confirmed.append(
                    {"b_id": bill_id, "cats": cats, "dir": "restricts" if corrected else direction,
                     "at": at, "note": note}
                )  # fmt: skip
                events.append(
                    {"bill_id": bill_id, "kind": "confirmed", "at": at, "actor": "ana", "note": note,
                     "categories": cats, "direction": confirmed[-1]["dir"], "snapshot": seen}
                )  # fmt: skip
            elif roll < 0.375:
                rejected.append({"b_id": bill_id, "at": at})
                events.append(
                    {"bill_id": bill_id, "kind": "rejected", "at": at, "actor": "bo", "note": None,
                     "categories": None, "direction": None, "snapshot": seen}
                )  # fmt: skip
        table = BillMatch.__table__
        if confirmed:
            conn.execute(
                update(table).where(table.c.bill_id == bindparam("b_id")).values(
                    review_state="confirmed", decided_by="ana", decided_at=bindparam("at"),
                    editor_categories=bindparam("cats"), editor_direction=bindparam("dir"),
                    note=bindparam("note"),
                ),
                confirmed,
            )  # fmt: skip
        if rejected:
            conn.execute(
                update(table).where(table.c.bill_id == bindparam("b_id")).values(
                    review_state="rejected", decided_by="bo", decided_at=bindparam("at")
                ),
                rejected,
            )  # fmt: skip
        flagged = [row["b_id"] for row in (confirmed + rejected)[::40]]
        if flagged:
            conn.execute(
                update(table).where(table.c.bill_id.in_(flagged)).values(
                    needs_review=True, needs_review_reason="title changed since the decision", flagged_at=NOW
                )
            )  # fmt: skip
        if events:
            conn.execute(insert(ReviewEvent), events)
    return {"confirmed": len(confirmed), "rejected": len(rejected), "flagged": len(flagged)}


MEMBERS_PER_COUNCIL = 37  # the sponsors' names: "Council Member 0" .. "Council Member 36"
HELD_MEETINGS = 450  # a council's meetings over three years (three a week)
UPCOMING_MEETINGS = 25  # in the 60 days ahead
VOTERS = 9
VOTES = ["yes"] * 6 + ["no", "abstain", "absent"]


def meetings(engine, bills: list[dict[str, Any]], rng: random.Random) -> dict[str, int]:
    """Each council's meetings (core inserts): 450 held over three years and 25 ahead (a few moved, two
    cancelled), every bill on the agenda of the held meeting after it was first seen and a quarter of the
    open ones on an upcoming agenda; a third of the held items with a roll call of 9 of the council's 37
    members (who have terms); about 57,000 agenda items and 150,000 votes for 50,000 bills."""
    zone = "America/Los_Angeles"
    meeting_rows, item_rows, vote_rows, member_rows, term_rows = [], [], [], [], []
    member_ids: dict[int, list[tuple[int, str]]] = {}
    held: dict[int, list[int]] = {}
    upcoming: dict[int, list[int]] = {}
    for jid in range(1, len(JURISDICTIONS) + 1):
        for k in range(MEMBERS_PER_COUNCIL):
            mid = len(member_rows) + 1
            name = f"Council Member {k}"
            member_rows.append(
                {"id": mid, "jurisdiction_id": jid, "name": name, "name_key": name_key(name),
                 "source_id": f"P{mid}", "first_seen_at": NOW, "updated_at": NOW}
            )  # fmt: skip
            term_rows.append(
                {"member_id": mid, "body_name": "City Council", "title": "Council Member",
                 "start": date(2023, 1, 1), "end": None}
            )  # fmt: skip
            if k % 4 == 0:
                term_rows.append(
                    {"member_id": mid, "body_name": "Public Safety Committee", "title": "Member",
                     "start": date(2023, 1, 1), "end": date(2025, 12, 31)}
                )  # fmt: skip
            member_ids.setdefault(jid, []).append((mid, name))
        for i in range(HELD_MEETINGS + UPCOMING_MEETINGS):
            mid = len(meeting_rows) + 1
            ahead = i >= HELD_MEETINGS
            if ahead:
                starts = NOW + timedelta(days=1 + (i - HELD_MEETINGS) * 2.4, hours=2)
            else:
                starts = NOW - timedelta(days=(i + 1) * 2.4)
            state = "held"
            if ahead:
                state = "cancelled" if i % 11 == 0 else ("moved" if i % 5 == 0 else "scheduled")
            meeting_rows.append(
                {"id": mid, "jurisdiction_id": jid, "source_id": f"E{mid}",
                 "body_name": "Public Safety Committee" if i % 2 else "City Council", "starts_at": starts,
                 "local_date": starts.date(), "time_zone": zone, "location": "City Hall, Room 340",
                 "agenda_url": f"https://example.legistar.com/View.ashx?M=A&ID={mid}",
                 "public_url": f"https://example.legistar.com/MeetingDetail.aspx?ID={mid}",
                 "comment_instructions": "E-mail the clerk before noon." if ahead else None,
                 "state": state, "moved_from": starts - timedelta(days=2) if state == "moved" else None,
                 "sequence": 1 if state in ("moved", "cancelled") else 0, "content_hash": f"{mid:064x}",
                 "raw": {"EventId": mid}, "first_seen_at": NOW, "updated_at": NOW}
            )  # fmt: skip
            (upcoming if ahead else held).setdefault(jid, []).append(mid)
    for b in bills:
        jid, n = b["jurisdiction_id"], b["id"]
        age_days = (NOW - b["first_seen_at"]).total_seconds() / 86400
        on = [held[jid][min(HELD_MEETINGS - 1, int(age_days / 2.4))]]
        if b["stage"] in ("introduced", "in_committee") and n % 4 == 0:
            on.append(rng.choice(upcoming[jid]))
        for meeting_id in on:
            item_id = len(item_rows) + 1
            is_held = meeting_rows[meeting_id - 1]["state"] == "held"
            roll = is_held and rng.random() < 1 / 3
            item_rows.append(
                {"id": item_id, "meeting_id": meeting_id, "source_id": f"I{item_id}", "sequence": item_id,
                 "bill_id": n, "bill_source_id": b["source_id"], "identifier": b["identifier"],
                 "title": b["title"][:200], "action": "Vote" if roll else None,
                 "result": rng.choice(["Passed", "Passed", "Failed"]) if roll else None}
            )  # fmt: skip
            if roll:
                for mid, name in rng.sample(member_ids[jid], VOTERS):
                    vote_rows.append(
                        {"meeting_item_id": item_id, "member_id": mid, "member_name": name,
                         "vote": rng.choice(VOTES), "text": None}
                    )  # fmt: skip
    with engine.begin() as conn:
        for table, rows in (
            (Member, member_rows), (MemberTerm, term_rows), (Meeting, meeting_rows),
            (MeetingItem, item_rows), (Vote, vote_rows),
        ):  # fmt: skip
            for i in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[i : i + 5000])
    return {
        "meetings": len(meeting_rows), "meeting_items": len(item_rows), "votes": len(vote_rows),
        "members": len(member_rows),
    }  # fmt: skip


# -- the server ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, url: str) -> Path:
    lines = ["[database]", f'url = "{url}"', ""]
    for slug, name in JURISDICTIONS:
        lines += [
            "[[jurisdictions]]", f'slug = "{slug}"', f'name = "{name}"', 'platform = "legistar"',
            f'client = "{slug}"', 'api_base = "http://127.0.0.1:9/v1"', "",
        ]  # fmt: skip
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def tracker(config: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "tracker", "--config", str(config), *args],
        check=True, cwd=str(REPO), env={**os.environ, **(env or {})}, capture_output=True, text=True,
    )  # fmt: skip


class Server:
    """``tracker serve`` in a child process on a free loopback port."""

    def __init__(self, config: Path, log: Path, cwd: Path = REPO) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_CONFIG", "TRACKER_DATABASE_URL")}
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tracker", "--config", str(config), "serve", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, cwd=str(cwd), env=env,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"tracker serve exited:\n{log.read_text()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"tracker serve did not start:\n{log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the measurement -----------------------------------------------------------------------------------


def pages(facts: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, path) of every page timed."""
    busy = facts["busy_bill"]
    return [
        ("dashboard", "/"),
        ("review queue", "/review"),
        ("review, page 20", "/review?page=20"),
        ("review, confirmed", "/review?state=confirmed"),
        ("review, city+category", "/review?jurisdiction=lakeside&category=gang_databases"),
        ("search, no text", "/search"),
        ("search, common word", "/search?q=ordinance"),
        ("search, rare word", "/search?q=quagga"),
        ("search, absent word", "/search?q=zyzzyva"),
        ("search, two words", "/search?q=police+street"),
        ("search, word+filters", "/search?q=ordinance&jurisdiction=riverton&stage=passed"),
        ("search, category", "/search?category=detainers_warrants"),
        ("search, direction+state", "/search?direction=expands&state=confirmed"),
        ("search, dates", "/search?from=2025-01-01&to=2025-03-31"),
        ("search, page 500", "/search?page=500"),
        ("bill page", f"/bills/{busy}"),
        ("bill page, hearing+votes", f"/bills/{facts['hearing_bill']}"),
        ("members", "/members"),
        ("members, city", "/members?jurisdiction=riverton"),
        ("member page", f"/members/{facts['busy_member']}"),
        ("hearings", "/hearings"),
        ("hearings, city", "/hearings?jurisdiction=riverton"),
        ("hearings, a year", "/hearings?days=366"),
        ("living list", "/living-list"),
        ("living list, city", "/living-list?jurisdiction=riverton"),
        ("api bills", "/api/bills"),
        ("api bills, q", "/api/bills?q=ordinance"),
        ("api bills, relevant", "/api/bills?relevant=true&limit=100"),
        ("api bills, 500", "/api/bills?limit=500"),
        ("api bills, 500 relevant", "/api/bills?relevant=true&limit=500"),
        ("api bill", f"/api/bills/{busy}"),
        ("api bill, hearing+votes", f"/api/bills/{facts['hearing_bill']}"),
        ("api changes", "/api/changes"),
        ("api matches", "/api/matches"),
        ("csv: dashboard matches", "/dashboard/new-matches.csv"),
        ("csv: dashboard changes", "/dashboard/status-changes.csv"),
        ("csv: review queue", "/review.csv"),
        ("csv: search rare word", "/search.csv?q=quagga"),
        ("csv: search category", "/search.csv?category=detainers_warrants"),
        ("csv: living list", "/living-list.csv"),
        ("markdown: living list", "/living-list.md"),
    ]


def login(http: httpx.Client) -> None:
    page = http.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = http.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
    if r.status_code != 303:
        raise SystemExit(f"login failed: {r.status_code} {r.text[:200]}")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def measure(
    base: str, facts: dict[str, Any], requests: int, only: list[str] | None = None
) -> list[tuple[str, str, float, float, float, int, int]]:
    out = []
    chosen = [
        (label, path)
        for label, path in pages(facts)
        if not only or any(o in label or o in path for o in only)
    ]
    with httpx.Client(base_url=base, timeout=120, follow_redirects=False) as http:
        login(http)
        for label, path in chosen:
            http.get(path)  # warm-up
            times, status, size = [], 0, 0
            for _ in range(requests):
                start = time.perf_counter()
                r = http.get(path)
                times.append((time.perf_counter() - start) * 1000)
                status, size = r.status_code, len(r.content)
            out.append((label, path, min(times), statistics.median(times), p95(times), status, size))
    return out


def report(engine_name: str, facts: dict[str, Any], rows: list, requests: int) -> None:
    print(
        f"\n{engine_name}: {facts['bills']:,} bills, {facts['actions']:,} actions, "
        f"{facts['status_changes']:,} status changes, {facts['meetings']:,} meetings, "
        f"{facts['meeting_items']:,} agenda items, {facts['votes']:,} votes, {facts['members']} members; "
        f"{facts['relevant']:,} relevant: {facts['pending']:,} "
        f"pending, {facts['confirmed']:,} confirmed, {facts['rejected']:,} rejected, {facts['flagged']} "
        f"flagged (load {facts['load_s']:.0f} s, matcher {facts['match_s']:.0f} s); "
        f"{requests} requests a page; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"| {'page':<24} | {'path':<56} | min ms | median ms | p95 ms | status | KB |")
    print(f"|{'-' * 26}|{'-' * 58}|-------:|----------:|-------:|-------:|---:|")
    for label, path, low, median, high, status, size in rows:
        mark = " **over**" if high > GOAL_MS or median > GOAL_MS else ""
        kb = size / 1024
        times = f"{low:6.1f} | {median:9.1f} | {high:6.1f}"
        print(f"| {label:<24} | {path:<56} | {times} | {status:6} | {kb:.0f} |{mark}")


def _kept_schema(workdir: Path, count: int) -> str:
    """The PostgreSQL schema kept for ``--db DIR``: named after the directory and the number of bills."""
    digest = hashlib.sha1(f"{workdir.resolve()}:{count}".encode()).hexdigest()[:10]
    return f"bench_web_kept_{digest}"


def run(
    engine_name: str,
    count: int,
    requests: int,
    workdir: Path,
    *,
    keep: bool = False,
    only: list[str] | None = None,
    serve_from: Path | None = None,
) -> None:
    """Build (or, with ``keep``, reuse the database kept in ``workdir`` by an earlier run), serve and time.
    ``serve_from``: serve with another checkout's code (an A/B of two commits on the same database)."""
    schema = None
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT") if engine_name == "postgresql" else None
    facts_file = workdir / f"{engine_name}-{count}-facts.json"
    reuse = keep and facts_file.exists()
    if engine_name == "sqlite":
        url = f"sqlite:///{workdir}/bench-{count}.db" if keep else f"sqlite:///{workdir}/bench.db"
    else:
        assert admin is not None
        schema = _kept_schema(workdir, count) if keep else f"bench_web_{uuid.uuid4().hex[:10]}"
        if not reuse:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    server = None
    try:
        config = write_config(workdir / f"{engine_name}.toml", url)
        if reuse:
            print(f"{engine_name}: reusing the database kept in {workdir}", file=sys.stderr, flush=True)
            facts = json.loads(facts_file.read_text(encoding="utf-8"))
            if serve_from is None:  # a database kept by an older checkout: upgraded to this one's schema
                tracker(config, "init")
        else:
            if keep and engine_name == "sqlite":
                Path(f"{workdir}/bench-{count}.db").unlink(missing_ok=True)
            print(f"{engine_name}: building {count:,} bills...", file=sys.stderr, flush=True)
            facts = build(url, count)
            tracker(config, "users", "add", "bench", "--role", "editor", env={"TRACKER_PASSWORD": PASSWORD})
            if keep:
                facts_file.write_text(json.dumps(facts), encoding="utf-8")
        server = Server(config, workdir / f"{engine_name}-serve.log", cwd=serve_from or REPO)
        print(f"{engine_name}: timing the pages...", file=sys.stderr, flush=True)
        rows = measure(server.base, facts, requests, only)
        report(engine_name, facts, rows, requests)
    finally:
        if server:
            server.stop()
        if admin is not None:
            if schema and not keep:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--db",
        type=Path,
        metavar="DIR",
        help="keep the databases between runs: build them once (the SQLite file in DIR, a PostgreSQL schema "
        "named after DIR), reuse them on the next run with the same DIR and --bills",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help="time only the pages whose label or path contains TEXT",
    )
    parser.add_argument(
        "--serve-from",
        type=Path,
        metavar="CHECKOUT",
        help="serve with the code of another checkout (e.g. a git worktree of an older commit), for an A/B "
        "on the same database",
    )
    args = parser.parse_args(argv)
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    print(f"goal: every page under {GOAL_MS:.0f} ms (median and p95), {date.today()}")
    options = {"only": args.only, "serve_from": args.serve_from}
    if args.db:
        args.db.mkdir(parents=True, exist_ok=True)
        for name in engines:
            run(name, args.bills, args.requests, args.db, keep=True, **options)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        for name in engines:
            run(name, args.bills, args.requests, Path(tmp), **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
