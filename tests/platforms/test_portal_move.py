"""Portal moves, end to end on SQLite and PostgreSQL: Chicago crawled from the demo Legistar portal on
loopback, then configured on eLMS (tests/platforms/elms_server.py) with ``moved_from``; and a Legistar client
renamed. Each stored bill keeps its internal id and its status log, both sources stay recorded, old links keep
resolving, and an undeclared move fails without touching anything (docs/platforms.md, "Portal moves")."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Bill, BillSource, Jurisdiction, StatusChange
from tests.conftest import run_tracker, write_config
from tests.platforms.conftest import BOTH_ENGINES
from tests.platforms.elms_server import CRAWL, FIXTURES, ElmsServer, elms_entry, fixture_matters
from tests.portal import store_fingerprint
from tracker.config import load_config
from tracker.demo import LegistarPortalServer, Portal
from tracker.demo.model import ClientData
from tracker.identity import bill_for_url
from tracker.track import resolve

O2022 = "E2B7C8D9-1A3B-ED11-82E3-001DD80698CB"  # eLMS O2022-1001 (carried over from Legistar)
R2022 = "A9F0E1D2-4C5B-ED11-82E3-001DD80698CB"  # eLMS "R2022-1002 "
O2023 = "5D6E7F80-91A2-EE11-8F6A-001DD8098532"  # eLMS O2023-0000412, legacyRecordNumber O2022-1003
ELMS = "elms:127.0.0.1"


def _title(name: str) -> str:
    return json.loads((FIXTURES / "matters" / f"{name}.json").read_text(encoding="utf-8"))["title"]


# What Legistar showed of Chicago before the move: file, type, title, status and the action that set it.
LEGISTAR = [
    ("O2022-1001", "Ordinance", _title("o2022-1001"), "In Committee", "Referred"),
    ("R2022-1002", "Resolution", _title("r2022-1002"), "Adopted", "Adopted"),
    ("O2022-1003", "Ordinance", _title("o2023-0000412"), "In Committee", "Referred"),
    (
        "O2022-1004",
        "Ordinance",
        "Amendment of Municipal Code Chapter 9-64 regarding parking meters",
        "Introduced",
        None,
    ),
]


def legistar_portal(clients: dict[str, int]) -> Portal:
    """The demo Legistar portal with one client per name (MatterIds from the given base), each holding the
    matters of LEGISTAR, its clock in November 2022."""
    portal = Portal(now=datetime(2022, 11, 20, 18, tzinfo=UTC))
    for name, base in clients.items():
        client = portal.add_client(ClientData(name, "Chicago City Council", "America/Chicago"))
        client.set_id_bases(matter=base, history=base * 100, attachment=base * 10, rowversion_base=0x02400000)
        for file, kind, title, status, action in LEGISTAR:
            matter_id = client.add_matter(title, type_name=kind, file=file, sponsors=["Hart, Eleanor"])
            if action:
                client.add_history(matter_id, action, status_name=status)
    return portal


def legistar_entry(server: LegistarPortalServer, client: str) -> dict:
    return {
        "slug": "chicago",
        "name": "Chicago City Council",
        "platform": "legistar",
        "client": client,
        "api_base": server.base_url,
        "web_base": f"https://{client}.legistar.com",
        "timezone": "America/Chicago",
    }


def write(path: Path, entry: dict, db_url: str, moved_from: list[str] | None = None, **crawl) -> Path:
    write_config(path, [entry], database_url=db_url, crawl={**CRAWL, **crawl})
    if moved_from is not None:  # the last table of the file is the jurisdiction
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"moved_from = {json.dumps(moved_from)}\n")
    return path


def crawl(cfg: Path, *args: str):
    return run_tracker("--config", str(cfg), "crawl", *args)


def line_of(result) -> str:
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("chicago:")]
    return line


def bills_by_file(engine) -> dict[str, tuple[int, str, str | None, str | None]]:
    """identifier -> (internal id, source id, source key, vanished?)"""
    with session_scope(engine) as s:
        rows = s.execute(select(Bill.identifier, Bill.id, Bill.source_id, Bill.source_key, Bill.vanished_at))
        return {f: (i, sid, key, "vanished" if gone else None) for f, i, sid, key, gone in rows}


def history(engine, bill_id: int) -> list[tuple[int, str, str | None, str | None]]:
    with session_scope(engine) as s:
        return list(
            s.execute(
                select(StatusChange.seq, StatusChange.kind, StatusChange.old_status, StatusChange.new_status)
                .where(StatusChange.bill_id == bill_id)
                .order_by(StatusChange.seq)
            ).all()
        )


@pytest.fixture
def legistar():
    portal = legistar_portal({"chicago": 38000})
    with LegistarPortalServer(portal) as server:
        yield server


def crawl_legistar(tmp_path: Path, legistar: LegistarPortalServer, db_url: str) -> None:
    cfg = write(tmp_path / "legistar.toml", legistar_entry(legistar, "chicago"), db_url)
    first = crawl(cfg)
    assert first.returncode == 0, first.stderr
    assert line_of(first).startswith("chicago: succeeded (full) - 4 bills seen, 4 new, 0 changed")


@BOTH_ENGINES
def test_chicago_moves_from_legistar_to_elms(tmp_path, db_url, engine, legistar):
    crawl_legistar(tmp_path, legistar, db_url)
    before = bills_by_file(engine)
    assert {f: v[2] for f, v in before.items()} == dict.fromkeys(
        ["O2022-1001", "R2022-1002", "O2022-1003", "O2022-1004"], "legistar:chicago"
    )
    ordinance_id, legistar_id = before["O2022-1001"][0], before["O2022-1001"][1]
    with session_scope(engine) as s:
        (old_url,) = s.scalars(select(Bill.public_url).where(Bill.id == ordinance_id)).all()
        assert old_url.startswith(
            f"https://chicago.legistar.com/LegislationDetail.aspx?ID={legistar_id}&GUID="
        )
    assert history(engine, ordinance_id) == [(1, "first_seen", None, "In Committee")]

    # eLMS shows the records carried over (one with a newer status) and new matters, not the re-created one.
    matters = [m for m in fixture_matters() if m["matterId"] != O2023]
    with ElmsServer(matters) as elms:
        # The platform changed but the move is not declared: the crawl fails, naming the old source, and
        # nothing is asked or written.
        fingerprint = store_fingerprint(engine)
        undeclared = write(tmp_path / "undeclared.toml", elms_entry(elms), db_url)
        refused = crawl(undeclared)
        assert refused.returncode == 1
        assert line_of(refused) == (
            "chicago: failed (incremental) - 0 bills seen, 0 new, 0 changed, 0 status changes, 0 vanished, "
            "1 errors, 0 requests - chicago: stored bills come from legistar:chicago but the config now "
            f'says {ELMS}; declare the move with moved_from = ["legistar:chicago"] (docs/platforms.md), '
            "or fix the entry"
        )
        assert refused.stderr.strip().splitlines()[-1] == "Error: crawl did not succeed for chicago"
        assert elms.requests == []
        assert store_fingerprint(engine) == fingerprint

        declared = write(tmp_path / "elms.toml", elms_entry(elms), db_url, moved_from=["legistar:chicago"])
        moved = crawl(declared, "--full")
        assert moved.returncode == 0, moved.stderr
        # O2022-1001 and R2022-1002 are the stored bills (one status moved); three are new; the two Legistar
        # bills eLMS does not list have left the portal.
        assert line_of(moved) == (
            "chicago: succeeded (full) - 5 bills seen, 3 new, 2 changed, 1 status changes, 2 vanished, "
            "0 errors, 7 requests"  # a list page, five matters, the meetings listing
        )
        after = bills_by_file(engine)
        assert len(after) == 7  # 4 + 3 new, no duplicate
        assert after["O2022-1001"] == (ordinance_id, O2022, ELMS, None)
        assert after["R2022-1002"] == (before["R2022-1002"][0], R2022, ELMS, None)
        assert after["O2022-1003"][0::3] == (before["O2022-1003"][0], "vanished")
        assert after["O2022-1004"][0::3] == (before["O2022-1004"][0], "vanished")
        # the status log goes on where it was
        assert history(engine, ordinance_id) == [
            (1, "first_seen", None, "In Committee"),
            (2, "changed", "In Committee", "Passed"),
        ]
        assert history(engine, before["R2022-1002"][0]) == [(1, "first_seen", None, "Adopted")]
        elms_url = f"https://chicityclerkelms.chicago.gov/Matter/?matterId={O2022}"
        with session_scope(engine) as s:
            bill = s.get(Bill, ordinance_id)
            assert (bill.status, bill.public_url, bill.identifier) == ("Passed", elms_url, "O2022-1001")
            change = s.scalar(
                select(StatusChange).where(StatusChange.bill_id == ordinance_id, StatusChange.seq == 2)
            )
            assert change.action.description == "Passed"
            sources = s.execute(
                select(
                    BillSource.source_key, BillSource.source_id, BillSource.identifier, BillSource.public_url
                )
                .where(BillSource.bill_id == ordinance_id)
                .order_by(BillSource.id)
            ).all()
            assert sources == [
                ("legistar:chicago", legistar_id, "O2022-1001", old_url),
                (ELMS, O2022, "O2022-1001", elms_url),
            ]
            assert s.scalar(select(func.count()).select_from(BillSource)) == 4 + 5
            # old links keep resolving, new ones too
            assert bill_for_url(s, old_url).id == ordinance_id
            assert bill_for_url(s, elms_url).id == ordinance_id
            assert s.scalar(select(Jurisdiction.source_key)) == ELMS

        # `tracker track` with the old Legistar link follows the bill on eLMS.
        tracked = run_tracker("--config", str(declared), "track", old_url)
        assert tracked.returncode == 0, tracked.stderr
        assert tracked.stdout.startswith(f"chicago O2022-1001: tracked (bill {ordinance_id}, ")
        assert elms.detail_requests()[-1] == O2022
        # ... and so does the old link in another form (without its GUID), through the recorded source id
        with session_scope(engine) as s:
            cfg, source_id = resolve(load_config(declared), old_url.split("&GUID=")[0], s)
        assert (cfg.slug, source_id) == ("chicago", O2022)

        # Later crawls change nothing and duplicate nothing.
        fingerprint = store_fingerprint(engine)
        sweep = write(
            tmp_path / "sweep.toml", elms_entry(elms), db_url, ["legistar:chicago"], reconcile_every_hours=0
        )
        again = crawl(sweep)
        assert again.returncode == 0, again.stderr
        assert line_of(again).startswith(
            "chicago: succeeded (sweep) - 0 bills seen, 0 new, 0 changed, 0 status"
        )
        assert store_fingerprint(engine) == fingerprint


@pytest.mark.parametrize("ids", ["new instance", "same database"])
@BOTH_ENGINES
def test_legistar_client_rename_keeps_bills(tmp_path, db_url, engine, ids):
    # A new client name; its MatterIds are new (another Legistar instance) or the same (the same database).
    portal = legistar_portal({"chicago": 38000, "chicagoclerk": 91000 if ids == "new instance" else 38000})
    renamed = portal.client("chicagoclerk")
    passed = next(r["MatterId"] for r in renamed.matter_rows() if r["MatterFile"] == "O2022-1001")
    renamed.add_history(passed, "Passed", status_name="Passed")
    with LegistarPortalServer(portal) as server:
        crawl_legistar(tmp_path, server, db_url)
        before = bills_by_file(engine)
        cfg = write(
            tmp_path / "renamed.toml", legistar_entry(server, "chicagoclerk"), db_url, ["legistar:chicago"]
        )
        moved = crawl(cfg, "--full")
        assert moved.returncode == 0, moved.stderr
        assert line_of(moved).startswith(
            "chicago: succeeded (full) - 4 bills seen, 0 new, 4 changed, 1 status changes, 0 vanished, "
            "0 errors"
        )
    after = bills_by_file(engine)
    assert {f: (v[0], v[2], v[3]) for f, v in after.items()} == {
        f: (v[0], "legistar:chicagoclerk", None) for f, v in before.items()
    }
    assert {f: v[1] for f, v in after.items()} == {
        r["MatterFile"]: str(r["MatterId"]) for r in renamed.matter_rows()
    }
    assert history(engine, before["O2022-1001"][0]) == [
        (1, "first_seen", None, "In Committee"),
        (2, "changed", "In Committee", "Passed"),
    ]
    with session_scope(engine) as s:
        keys = s.execute(
            select(BillSource.source_key, func.count())
            .group_by(BillSource.source_key)
            .order_by(BillSource.source_key)
        ).all()
        assert keys == [("legistar:chicago", 4), ("legistar:chicagoclerk", 4)]
        old = f"https://chicago.legistar.com/LegislationDetail.aspx?ID={before['R2022-1002'][1]}"
        old_url = s.scalar(select(BillSource.public_url).where(BillSource.public_url.startswith(old + "&")))
        assert bill_for_url(s, old_url).id == before["R2022-1002"][0]


def test_plain_crawls_after_a_declared_move_adopt_every_bill(tmp_path, db_url, engine, legistar):
    """A plain crawl (no --full) right after the move lists everything, so every stored bill is adopted or
    marked vanished at once; the crawls after it are the usual incremental ones and change nothing more."""
    crawl_legistar(tmp_path, legistar, db_url)
    before = bills_by_file(engine)
    with ElmsServer([m for m in fixture_matters() if m["matterId"] != O2023]) as elms:
        declared = write(tmp_path / "elms.toml", elms_entry(elms), db_url, moved_from=["legistar:chicago"])
        first = crawl(declared)
        assert first.returncode == 0, first.stderr
        assert line_of(first).startswith(
            "chicago: succeeded (full) - 5 bills seen, 3 new, 2 changed, 1 status changes, 2 vanished, "
            "0 errors"
        )
        later = crawl(declared)
        assert later.returncode == 0, later.stderr
        assert line_of(later).startswith("chicago: succeeded (incremental) - ")
        assert " 0 new, 0 changed, 0 status changes, 0 vanished" in line_of(later)
    after = bills_by_file(engine)
    assert len(after) == 7
    assert after["O2022-1001"] == (before["O2022-1001"][0], O2022, ELMS, None)
    assert after["R2022-1002"] == (before["R2022-1002"][0], R2022, ELMS, None)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Bill).where(Bill.identifier == "O2022-1001")) == 1


# -- harder moves: re-created matters, colliding ids -----------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_recreated_matter_is_matched_by_its_legacy_record_number(tmp_path, db_url, engine, legistar):
    crawl_legistar(tmp_path, legistar, db_url)
    before = bills_by_file(engine)
    with ElmsServer() as elms:
        declared = write(tmp_path / "elms.toml", elms_entry(elms), db_url, moved_from=["legistar:chicago"])
        moved = crawl(declared, "--full")
        assert moved.returncode == 0, moved.stderr
    after = bills_by_file(engine)
    assert after["O2023-0000412"][:3] == (before["O2022-1003"][0], O2023, ELMS)
    assert "O2022-1003" not in after


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_legistar_rename_with_colliding_matter_ids_keeps_each_bill(tmp_path, db_url, engine):
    # The new instance numbers the same matters one lower: its O2022-1003 has the old R2022-1002's MatterId.
    portal = legistar_portal({"chicago": 38000, "chicagoclerk": 37999})
    with LegistarPortalServer(portal) as server:
        crawl_legistar(tmp_path, server, db_url)
        before = bills_by_file(engine)
        cfg = write(
            tmp_path / "renamed.toml", legistar_entry(server, "chicagoclerk"), db_url, ["legistar:chicago"]
        )
        moved = crawl(cfg, "--full")
        assert moved.returncode == 0, moved.stderr
    after = bills_by_file(engine)
    assert {f: (v[0], v[3]) for f, v in after.items()} == {f: (v[0], None) for f, v in before.items()}
