"""Matching during a real crawl (the `tracker` command in a child process, against the demo Legistar portal
on loopback), and the review commands as an editor runs them, on SQLite and PostgreSQL: decisions survive a
re-crawl and `tracker match --rescore`, a material change flags a decided bill, a change of case does not,
and the export carries the editors' word."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Bill, Jurisdiction
from db.models_review import BillMatch, ReviewEvent
from tests.clock import utc_now
from tests.conftest import run_tracker, write_config
from tests.factories import DETAINERS, GANG, PARKING, add_bills
from tracker.demo import LegistarPortalServer, demo_portal
from tracker.matcher.apply import current_rules
from tracker.review import confirm, reject

CLIENT = "riverton"


@pytest.fixture
def portal():
    return demo_portal(now=utc_now())


def _config(path, server, portal, db_url):
    client = portal.client(CLIENT)
    entry = {
        "slug": CLIENT,
        "name": client.display_name,
        "platform": "legistar",
        "client": client.name,
        "api_base": server.base_url,
        "timezone": client.timezone,
    }
    crawl = {"retries": 1, "backoff_base": 0.05, "download_timeout": 5.0}
    return write_config(path, [entry], database_url=db_url, crawl=crawl)


def _matches(engine) -> dict[str, BillMatch]:
    """source id (MatterId) -> match row, detached."""
    with session_scope(engine) as s:
        rows = s.execute(
            select(Bill.source_id, BillMatch)
            .join(BillMatch, BillMatch.bill_id == Bill.id)
            .join(Jurisdiction, Bill.jurisdiction_id == Jurisdiction.id)
            .where(Jurisdiction.slug == CLIENT)
        ).all()
        for _, m in rows:
            s.expunge(m)
        return {sid: m for sid, m in rows}


def _ok(result):
    assert result.returncode == 0, result.stderr
    return result


def test_crawl_matches_and_decisions_survive_recrawl_and_rescore(
    tmp_path, db_url, engine, portal, strict_rules
):
    client = portal.client(CLIENT)
    visible = {row["MatterId"] for row in client.matter_rows()}
    labels = {k: v for k, v in client.labels().items() if k in visible}  # some matters come later
    by_label = {}
    for matter_id, label in sorted(labels.items()):
        by_label.setdefault(label, matter_id)
    gang_id = by_label["gang_databases:expands"]  # "Ordinance abolishing the ... gang database ..."
    hills_id = by_label["neg_sanctuary_other"]  # "... Sanctuary Hills Neighborhood Association ..."
    gang = client.matters[gang_id]
    hills = client.matters[hills_id]

    with LegistarPortalServer(portal) as server:
        cfg = str(_config(tmp_path / "t.toml", server, portal, db_url))
        _ok(run_tracker("--config", cfg, "crawl"))

        matches = _matches(engine)
        with session_scope(engine) as s:
            assert len(matches) == s.scalar(select(func.count()).select_from(Bill)) > 100  # every bill
        for matter_id, label in labels.items():
            m = matches[str(matter_id)]
            if not label.startswith("neg_"):
                assert m.relevant and m.review_state == "pending", (label, client.matters[matter_id].title)
                assert label.split(":")[0] in m.categories
            elif label in ("neg_ice_other", "neg_police_routine", "neg_cbp_customs", "neg_shared_vocabulary"):
                assert not m.relevant and m.review_state is None, (label, client.matters[matter_id].title)
        g = matches[str(gang_id)]
        assert (g.categories[0], g.direction) == ("gang_databases", "expands")
        assert any(e["phrase"] == "gang database" for e in g.evidence)

        # Editors decide (the Sanctuary Hills association is not a sanctuary measure).
        with session_scope(engine) as session:
            decision = confirm(
                session,
                f"{CLIENT}:{gang.file}",
                categories=["gang_databases", "police_accountability"],
                note="abolition",
                by="alice",
            )
            assert decision.direction == "expands"
            reject(session, f"{CLIENT}:{hills.file}", by="bob")

        # The portal changes: the gang bill's title only in case, the rejected one materially.
        client.edit_matter(gang_id, MatterTitle=gang.title.upper())
        new_hills = "Resolution declaring Riverton a Sanctuary City"
        client.edit_matter(hills_id, MatterTitle=new_hills)
        second = _ok(run_tracker("--config", cfg, "crawl"))
        assert f"{CLIENT}: succeeded (incremental)" in second.stdout

    matches = _matches(engine)
    g, h = matches[str(gang_id)], matches[str(hills_id)]
    assert (g.review_state, g.decided_by, g.note, g.needs_review) == (
        "confirmed",
        "alice",
        "abolition",
        False,
    )
    assert g.editor_categories == ["gang_databases", "police_accountability"]
    assert g.evidence[0]["phrase"] == "GANG DATABASE"  # re-matched on the new title
    assert (h.review_state, h.decided_by, h.needs_review) == ("rejected", "bob", True)
    assert h.relevant and h.categories == ["sanctuary_declaration"]
    assert h.needs_review_reason.startswith("title changed since it was rejected by bob on ")
    assert h.needs_review_reason.endswith(f'(title then: "{hills.title}")')

    # A rules change: rescoring rewrites the machine's fields, never a decision.
    strict = current_rules(strict_rules)
    rescored = _ok(
        run_tracker(
            "--config",
            db_cfg(tmp_path, db_url),
            "match",
            "--rescore",
            env={"TRACKER_RULES": str(strict_rules)},
        )
    )
    first_line = rescored.stdout.splitlines()[0]
    assert first_line.startswith(
        f"Rescored {len(matches)} bills with rules 1/{strict.hash[:8]}: 0 newly relevant, "
    )
    assert first_line.endswith(" no longer relevant, 0 flagged for another look.")
    after = _matches(engine)
    assert int(first_line.split(", ")[1].split()[0]) > 0  # some bills are no longer relevant
    g = after[str(gang_id)]
    assert g.rules_hash == strict.hash
    assert (g.review_state, g.editor_categories, g.editor_direction) == (
        "confirmed",
        ["gang_databases", "police_accountability"],
        "expands",
    )
    assert (after[str(hills_id)].review_state, after[str(hills_id)].needs_review) == ("rejected", True)
    with session_scope(engine) as s:
        kinds = s.scalars(select(ReviewEvent.kind).order_by(ReviewEvent.id)).all()
    assert kinds == ["confirmed", "rejected", "flagged"]

    # The export carries the editors' word.
    exported = _ok(run_tracker("--config", db_cfg(tmp_path, db_url), "export", "--jurisdiction", CLIENT))
    records = {r["source_id"]: r for r in map(json.loads, exported.stdout.splitlines())}
    assert {k: records[str(gang_id)][k] for k in ("relevant", "categories", "direction", "review_state")} == {
        "relevant": True,
        "categories": ["gang_databases", "police_accountability"],
        "direction": "expands",
        "review_state": "confirmed",
    }
    assert records[str(hills_id)]["relevant"] is False and records[str(hills_id)]["categories"] == []


def db_cfg(tmp_path, db_url) -> str:
    """A configuration with only the database (the commands after a crawl need no portal)."""
    path = tmp_path / "db.toml"
    if not path.exists():
        write_config(path, [], database_url=db_url)
    return str(path)


def test_review_commands_and_their_one_line_errors(tmp_path, db_url, engine):
    ids = add_bills(engine, {"O2026-0053": GANG, "O2026-0060": DETAINERS, "O2026-0061": PARKING})
    cfg = db_cfg(tmp_path, db_url)

    def tracker(*args, env=None):
        return run_tracker("--config", cfg, *args, env={"TRACKER_EDITOR": "erin", **(env or {})})

    bad = tracker("review", "confirm", "riverton:O2026-0053", "--category", "gang_database")
    assert (bad.returncode, bad.stdout, bad.stderr) == (
        2,  # a usage error
        "",
        "Error: unknown category code 'gang_database' (did you mean 'gang_databases'?)\n",
    )
    bad = tracker("review", "show", "riverton:O1999-0001")
    assert (bad.returncode, bad.stderr) == (1, "Error: no bill 'O1999-0001' in riverton\n")

    added = tracker(
        "review", "add", "riverton:O2026-0061", "--category", "police_accountability", "--note", "n"
    )
    assert added.stdout == "Added riverton:O2026-0061 (police_accountability; expands) by erin.\n"
    corrected = tracker("review", "confirm", "riverton:O2026-0060", "--direction", "restricts")
    assert corrected.stdout == "Confirmed riverton:O2026-0060 (detainers_warrants; restricts) by erin.\n"

    shown = tracker("review", "show", f"{ids['O2026-0053']}")
    assert shown.returncode == 0, shown.stderr
    assert "Title:      Ordinance {abolishing} the Riverton Police Department «gang database»" in shown.stdout
    assert "Review:     pending" in shown.stdout
    assert "History:    no decisions yet" in shown.stdout

    table = tracker("review", "list")
    assert table.stdout.splitlines()[1].startswith("riverton:O2026-0053        pending     0.90  expands")
    assert table.stdout.splitlines()[-1] == "3 bills: 1 pending, 2 confirmed."

    exported = tracker("export", "--format", "csv")
    rows = {r["identifier"]: r for r in csv.DictReader(io.StringIO(exported.stdout))}
    assert {k: rows["O2026-0060"][k] for k in ("relevant", "categories", "direction", "review_state")} == {
        "relevant": "true",
        "categories": "detainers_warrants",
        "direction": "restricts",
        "review_state": "confirmed",
    }
    assert (
        rows["O2026-0061"]["relevant"] == "true"
        and rows["O2026-0061"]["categories"] == "police_accountability"
    )
    assert rows["O2026-0053"]["review_state"] == "pending"
