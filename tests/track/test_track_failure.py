"""A one-bill track whose fetch fails (the portal refuses connections) reports its own failure: one
``Error:`` line and exit status 1 from ``tracker track``, the reason on the web's /track form; nothing is
marked tracked; and the failed track crawl (mode ``track``) never counts as the city's crawl in
``tracker status``, ``status --check`` or /admin (SQLite and PostgreSQL, the demo Legistar portal on
loopback for the city's real crawl)."""

from __future__ import annotations

import json
import socket

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from db.engine import session_scope
from db.models import Bill, CrawlRun
from tests.conftest import run_tracker
from tests.portal import portal_config
from tests.web.helpers import create_user, form_csrf, log_in
from tracker.config import load_config
from tracker.web.app import create_app

CLIENT = "riverton"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _down_config(tmp_path, server, portal, db_url):
    """The same city, its portal now refusing connections; one failure in a row is an alert."""
    port = _closed_port()
    cfg = portal_config(
        tmp_path / "down.toml",
        server,
        portal,
        db_url,
        clients=[CLIENT],
        extra={CLIENT: {"api_base": f"http://127.0.0.1:{port}/v1"}},
    )
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[alerts]\nfailures_in_a_row = 1\n", encoding="utf-8")
    return cfg, f"http://127.0.0.1:{port}"


def _riverton(report: dict) -> dict:
    (entry,) = [j for j in report["jurisdictions"] if j["slug"] == CLIENT]
    return entry


# The production engine (a crawl, three failed tracks, status, the web: 10-13 s a run); the next test and
# tests/track/test_track.py run both.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_failed_track_is_reported_and_never_the_citys_crawl(tmp_path, db_url, engine, portal, server):
    up = portal_config(tmp_path / "up.toml", server, portal, db_url, clients=[CLIENT])
    crawled = run_tracker("--config", str(up), "crawl")
    assert crawled.returncode == 0, crawled.stderr
    with session_scope(engine) as s:
        stored = s.scalars(select(Bill).order_by(Bill.id)).first()
        matter, identifier = stored.source_id, stored.identifier

    down, base = _down_config(tmp_path, server, portal, db_url)
    # a stored bill: its fresh copy could not be fetched, so it is not tracked (and the command says so)
    done = run_tracker("--config", str(down), "track", f"{base}/LegislationDetail.aspx?ID={matter}&GUID=X")
    assert done.returncode == 1, (done.stdout, done.stderr)
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"Error: {CLIENT}: could not fetch bill {matter} ({identifier}): "), line
    assert "failed (track)" in line and "nothing was tracked" in line, line
    assert "refused" in line.lower(), line  # the cause, in the crawler's words
    assert ": tracked" not in done.stdout
    # a bill never stored: the same failure, named
    missing = run_tracker("--config", str(down), "track", f"{base}/LegislationDetail.aspx?ID=987654&GUID=X")
    assert missing.returncode == 1
    (line,) = missing.stderr.strip().splitlines()
    assert line.startswith(f"Error: {CLIENT}: could not fetch bill 987654: "), line

    with session_scope(engine) as s:
        assert s.scalars(select(Bill).where(Bill.tracked_at.is_not(None))).all() == []
        runs = [(r.mode, r.status) for r in s.scalars(select(CrawlRun).order_by(CrawlRun.id))]
    assert runs == [("full", "succeeded"), ("track", "failed"), ("track", "failed")]

    # `tracker status`: the last crawl of the city is still its full crawl, which succeeded; no alert
    status = run_tracker("--config", str(down), "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    city = _riverton(report)
    assert (city["last_run"]["mode"], city["last_run"]["status"]) == ("full", "succeeded")
    assert city["failures_in_a_row"] == 0 and city["last_success_at"] is not None
    assert report["alerts"] == []
    check = run_tracker("--config", str(down), "status", "--check")
    assert check.returncode == 0, (check.stdout, check.stderr)
    assert "failed" not in check.stdout

    # the web: the form says why, nothing is tracked, /admin shows the city's crawl, not the track
    app = create_app(load_config(down), engine=engine)
    create_user(engine, "sam", "staff")
    create_user(engine, "root", "admin")
    with TestClient(app, follow_redirects=False) as client:
        log_in(client, "sam")
        form = client.get("/track")
        url = f"{base}/LegislationDetail.aspx?ID={matter}&GUID=X"
        posted = client.post("/track", data={"url": url, "csrf_token": form_csrf(form.text)})
        assert posted.status_code == 400, posted.text
        assert f"could not fetch bill {matter} ({identifier})" in posted.text
        assert "nothing was tracked" in posted.text and "refused" in posted.text.lower()
        assert f'value="{url.replace("&", "&amp;")}"' in posted.text  # the pasted link stays in the box
        client.cookies.clear()
        log_in(client, "root")
        admin = client.get("/admin")
        assert admin.status_code == 200
        row = admin.text.split(f'id="jurisdiction-{CLIENT}"')[1].split("</tr>")[0]
        assert 'class="ok">succeeded</span> (full)' in row
        assert "(track)" not in row and "refused" not in row.lower()
    with session_scope(engine) as s:
        assert s.scalars(select(Bill).where(Bill.tracked_at.is_not(None))).all() == []
        failed = s.scalars(select(CrawlRun.mode).where(CrawlRun.status == "failed")).all()
        assert failed == ["track"] * 3


def test_a_failed_track_of_a_new_city_leaves_it_never_crawled(tmp_path, db_url, engine, portal, server):
    down, base = _down_config(tmp_path, server, portal, db_url)
    done = run_tracker("--config", str(down), "track", f"{base}/LegislationDetail.aspx?ID=5&GUID=X")
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: {CLIENT}: could not fetch bill 5: ")
    status = run_tracker("--config", str(down), "status", "--format", "json", "--check")
    assert status.returncode == 0, (status.stdout, status.stderr)
    report = json.loads(status.stdout)
    city = _riverton(report)
    assert city["last_run"] is None and city["failures_in_a_row"] == 0 and city["last_success_at"] is None
    # only the track attempt is recorded: the city's first crawl is still to come
    with session_scope(engine) as s:
        assert [(r.mode, r.status) for r in s.scalars(select(CrawlRun))] == [("track", "failed")]
