"""The `tracker documents` commands and the fetch after a crawl, as a user runs them (SQLite; the logic
also runs on PostgreSQL in test_documents_store.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models_documents import Document
from tests.clock import utc_now
from tests.conftest import run_tracker
from tests.documents.conftest import bill_with_attachments
from tests.documents.server import DocServer, Route
from tracker.demo import LegistarPortalServer, demo_portal


@pytest.fixture(autouse=True)
def _rules_alone(monkeypatch):
    """What documents add to a match, against the rules' exact results: the learned layer reads titles and
    would find "AGREEMENT - INMATE HOUSING" relevant from its title alone (see test_documents_store.py)."""
    monkeypatch.setenv("TRACKER_MATCHER", "rules")


def config_file(path: Path, db_url: str, jurisdictions: list[str], documents: str = "") -> Path:
    path.write_text(
        f'[database]\nurl = "{db_url}"\n\n[documents]\n{documents}\n\n' + "\n".join(jurisdictions)
    )
    return path


def riverton(hosts: str, extra: str = "") -> str:
    return (
        '[[jurisdictions]]\nslug = "riverton"\nname = "Riverton"\nplatform = "legistar"\n'
        f'client = "riverton"\ndocument_hosts = {hosts}\n{extra}\n'
    )


def test_fetch_show_and_hosts(tmp_path, sqlite_db, server, contract_pdf):
    url, engine = sqlite_db
    server.routes["/att/1.pdf"] = Route(contract_pdf)
    bill_id = bill_with_attachments(
        engine, "AGREEMENT - INMATE HOUSING", [("Agreement", server.url("/att/1.pdf"))]
    )
    with session_scope(engine) as s:
        from db.models import Bill

        ref = "riverton:" + s.scalar(select(Bill.identifier).where(Bill.id == bill_id))
    cfg = config_file(tmp_path / "t.toml", url, [riverton(f'["{server.host}", "docs.riverton.gov"]')])

    shown = run_tracker("--config", str(cfg), "documents", "show", ref)
    assert shown.returncode == 0 and "no documents fetched yet" in shown.stdout

    fetched = run_tracker("--config", str(cfg), "documents", "fetch")
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.startswith("riverton: documents - 1 checked, 1 new text, 0 unchanged")
    assert fetched.stdout.rstrip().endswith("1 bills re-matched, 1 newly relevant")

    shown = run_tracker("--config", str(cfg), "documents", "show", ref)
    assert shown.returncode == 0, shown.stderr
    assert f"- Agreement: ok (PDF, {len(contract_pdf):,} bytes, 1 pages" in shown.stdout
    assert "«housing of ICE detainees»" in shown.stdout and "(detention_contracts)" in shown.stdout
    as_json = json.loads(run_tracker("--config", str(cfg), "documents", "show", ref, "--json").stdout)
    assert as_json["documents"][0]["status"] == "ok" and as_json["documents"][0]["pages"] == 1
    assert {e["field"] for e in as_json["evidence"]} == {"document:Agreement"}
    with_text = run_tracker("--config", str(cfg), "documents", "show", ref, "--text").stdout
    assert "== Agreement ==\nINTERGOVERNMENTAL SERVICE AGREEMENT" in with_text
    review = run_tracker("--config", str(cfg), "review", "show", ref).stdout
    assert "document:Agreement" in review and "housing of ICE detainees" in review

    again = run_tracker("--config", str(cfg), "documents", "fetch", "--bill", ref, "--force")
    assert again.stdout.startswith("riverton: documents - 1 checked, 0 new text, 1 unchanged")

    hosts = run_tracker("--config", str(cfg), "documents", "hosts").stdout.splitlines()
    assert hosts == [
        "riverton:",
        f"  {server.host}  (document_hosts; private address allowed)",
        "  docs.riverton.gov  (document_hosts; private address allowed)",
    ]


def test_bad_input_is_one_line(tmp_path, sqlite_db):
    url, engine = sqlite_db
    bill_with_attachments(engine, "Ordinance", [])
    cfg = config_file(tmp_path / "t.toml", url, [riverton('["127.0.0.1:9"]')])
    cases = [
        (("documents", "show", "riverton:NOPE"), 1, "Error: no bill 'NOPE' in riverton"),
        # an unknown jurisdiction is a usage error (exit 2), a missing bill a run-time one (exit 1)
        (("documents", "show", "nowhere:X1"), 2, "Error: no jurisdiction 'nowhere' in the database"),
        (("documents", "fetch", "elsewhere"), 2, "Error: "),
        (
            ("documents", "fetch", "riverton", "--bill", "1"),
            2,
            "Error: give jurisdictions or --bill, not both",
        ),
        (("documents", "fetch", "--limit", "0"), 2, "Error: Invalid value for '--limit'"),
    ]
    for args, code, start in cases:
        result = run_tracker("--config", str(cfg), *args)
        assert result.returncode == code, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        if code == 2 and lines[0].startswith("Usage:"):  # click's usage errors: usage, then the one line
            lines = lines[-1:]
        assert len(lines) == 1 and lines[0].startswith(start), result.stderr
    bad = config_file(tmp_path / "bad.toml", url, [riverton('["*.legistar.com"]')])
    result = run_tracker("--config", str(bad), "documents", "hosts")
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "bad.toml: jurisdictions[0] (slug 'riverton').document_hosts[0]: document_hosts entries are "
        "'host' or 'host:port' (no wildcards), got '*.legistar.com'"
    )
    assert len(result.stderr.strip().splitlines()) == 1
    bad = config_file(tmp_path / "bad2.toml", url, [riverton("[]")], "max_bytes = -1")
    result = run_tracker("--config", str(bad), "documents", "fetch")
    assert result.returncode == 2 and "documents.max_bytes" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_documents_after_a_crawl_never_fail_it(tmp_path, sqlite_db):
    """The demo portal links its attachments on riverton.legistar1.com; with document_hosts naming only a
    loopback document server, they are refused (without any lookup) and recorded, and the crawl succeeds."""
    url, engine = sqlite_db
    portal = demo_portal(now=utc_now())  # the crawler's since watermark reads the machine's clock
    with LegistarPortalServer(portal) as api, DocServer() as docs:
        jurisdiction = riverton(
            f'["{docs.host}"]', f'api_base = "{api.base_url}"\ntimezone = "America/Chicago"'
        )
        cfg = config_file(tmp_path / "t.toml", url, [jurisdiction], "after_crawl = true\nper_crawl = 3")
        result = run_tracker("--config", str(cfg), "crawl", timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("riverton: succeeded (full)")
    assert lines[1].startswith(
        "riverton: documents - 3 checked, 0 new text, 0 unchanged, 0 failed, 3 refused"
    )
    assert "riverton.legistar1.com is not one of riverton's document hosts" in lines[1]
    assert docs.requests == []
    with session_scope(engine) as s:
        rows = s.execute(select(Document.status, Document.error, Document.url)).all()
    assert len(rows) == 3 and {r.status for r in rows} == {"refused"}
    assert all(r.url.startswith("https://riverton.legistar1.com/riverton/attachments/") for r in rows)
