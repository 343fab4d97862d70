"""Agenda platforms (PrimeGov, CivicClerk): a crawl that reads meetings but finds no agenda item in them is
never a healthy "succeeded, 0 bills". It is recorded as partial with a warning, shown by ``tracker
status``, opens an ``empty_agendas:<slug>`` alert (``status --check`` exits 1) and shows on /admin; once
the agendas carry items again, the next crawl succeeds and the alert closes. Real crawls (the ``tracker``
command in a child process) of loopback portals, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from db.engine import session_scope
from db.models import Bill, CrawlRun
from tests.conftest import run_tracker
from tests.platforms import test_civicclerk as cc
from tests.platforms import test_primegov as pg
from tests.platforms.civicclerk_server import agenda, south_fulton_api
from tests.platforms.primegov_server import la_portal
from tests.web.helpers import create_user, log_in
from tracker.config import load_config
from tracker.demo.primegov_portal import AppServer, Page
from tracker.web.app import create_app

WARNING = "but found no agenda items in them"


def _status(cfg) -> dict:
    done = run_tracker("--config", str(cfg), "status", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _assert_empty_agendas_reported(cfg, engine, slug: str, meetings: int) -> None:
    """status (json and text), status --check and /admin all say the agendas had no items."""
    report = _status(cfg)
    (city,) = [j for j in report["jurisdictions"] if j["slug"] == slug]
    run = city["last_run"]
    assert (run["status"], run["mode"], run["seen"]) == ("partial", "full", 0)
    assert run["message"].startswith(f"warning: read {meetings} meetings {WARNING}"), run["message"]
    assert city["last_success_at"] is None
    assert [(a["key"], a["kind"]) for a in report["alerts"]] == [(f"empty_agendas:{slug}", "empty_agendas")]
    assert WARNING in report["alerts"][0]["message"]

    check = run_tracker("--config", str(cfg), "status", "--check")
    assert check.returncode == 1, (check.stdout, check.stderr)
    assert f"  {slug}: last crawl " in check.stdout and " partial (full): 0 seen" in check.stdout
    alerts = check.stdout.split("ALERTS (1):\n", 1)[1]
    assert alerts.startswith(f"  {slug}: the last crawl (") and WARNING in alerts

    create_user(engine, "root", "admin")
    with TestClient(create_app(load_config(cfg), engine=engine), follow_redirects=False) as client:
        log_in(client, "root")
        page = client.get("/admin")
    assert page.status_code == 200
    row = page.text.split(f'id="jurisdiction-{slug}"')[1].split("</tr>")[0]
    assert 'class="error">partial</span> (full)' in row and WARNING in row


def _assert_healthy_again(cfg, slug: str) -> None:
    report = _status(cfg)
    (city,) = [j for j in report["jurisdictions"] if j["slug"] == slug]
    assert city["last_run"]["status"] == "succeeded" and city["last_success_at"] is not None
    assert report["alerts"] == []
    assert run_tracker("--config", str(cfg), "status", "--check").returncode == 0


def test_primegov_meetings_without_agenda_items(tmp_path, db_url, engine):
    portal = la_portal()
    published = dict(portal.pages)
    for template_id in published:  # the pages are up, their sections still empty
        portal.pages[template_id] = Page("Committee", [("ITEMS", []), ("PUBLIC COMMENT", [])])
    with AppServer(portal) as server:
        cfg = pg.config(tmp_path, db_url, pg.city("la", server, "lacity"))
        result = pg.crawl(cfg)
        assert result.returncode == 1, (result.stdout, result.stderr)
        (line,) = result.stdout.splitlines()
        assert line.startswith("la: partial (full) - 0 bills seen, 0 new"), line
        # the 5 listed meetings (one a notice of cancellation, not read) and their 4 pages
        assert f"warning: read 5 meetings {WARNING}" in line, line
        assert "Traceback" not in result.stderr
        with session_scope(engine) as s:
            assert s.scalars(select(Bill)).all() == []
            assert s.scalars(select(CrawlRun.status)).all() == ["partial"]
        _assert_empty_agendas_reported(cfg, engine, "la", 5)

        portal.pages.update(published)  # the agendas are published
        again = pg.crawl(cfg)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert again.stdout.startswith("la: succeeded (") and "7 bills seen" in again.stdout
    _assert_healthy_again(cfg, "la")


def test_civicclerk_meetings_without_agenda_items(tmp_path, db_url, engine):
    api = south_fulton_api()
    published = dict(api.agendas)
    for event in api.events:  # every agenda answers, without one item
        api.agendas[event["agendaId"]] = agenda(event["agendaId"], event["id"], [])
    with cc.served(api) as server:
        cfg = cc.config(tmp_path, db_url, server)
        result = cc.crawl(cfg)
        assert result.returncode == 1, (result.stdout, result.stderr)
        (line,) = result.stdout.splitlines()
        assert line.startswith("south-fulton: partial (full) - 0 bills seen, 0 new"), line
        assert f"warning: read 16 meetings {WARNING}" in line, line
        with session_scope(engine) as s:
            assert s.scalars(select(Bill)).all() == []
        _assert_empty_agendas_reported(cfg, engine, "south-fulton", 16)

        api.agendas.update(published)
        again = cc.crawl(cfg)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert "15 bills seen" in again.stdout
    _assert_healthy_again(cfg, "south-fulton")
