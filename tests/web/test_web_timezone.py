"""Pages show times in one declared zone: ``[web] timezone``, else ``[digests] timezone``, else UTC, with
the zone's abbreviation. Times are stored in UTC."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from db.engine import session_scope
from tests import factories as f
from tests.web.helpers import log_in
from tracker.config import Digests, Web
from tracker.web.app import create_app
from tracker.web.queries import template_helpers


@pytest.fixture(autouse=True)
def _utc_afterwards():
    yield
    template_helpers.set_display_zone("UTC")


def admin_row(engine, config, make_user) -> str:
    with session_scope(engine) as s:
        f.crawl_run(s, "riverton", "succeeded", f.T0)  # 2026-11-02 12:00 UTC
    make_user("admin", "admin")
    with TestClient(create_app(config, engine=engine), follow_redirects=False) as client:
        log_in(client, "admin")
        page = client.get("/admin")
    assert page.status_code == 200
    return page.text.split('id="jurisdiction-riverton"')[1].split("</tr>")[0]


def test_web_timezone_converts_stored_utc_times(engine, web_config, make_user):
    config = web_config.model_copy(update={"web": Web(timezone="America/Chicago")})
    row = admin_row(engine, config, make_user)
    assert "2026-11-02 06:00 CST" in row and "UTC" not in row


def test_display_zone_defaults_to_the_digests_zone(engine, web_config, make_user):
    config = web_config.model_copy(update={"digests": Digests(timezone="America/New_York")})
    assert config.display_timezone == "America/New_York"
    assert "2026-11-02 07:00 EST" in admin_row(engine, config, make_user)


def test_without_either_zone_times_are_utc(web_config):
    assert web_config.display_timezone == "UTC"
    template_helpers.set_display_zone(web_config.display_timezone)
    assert template_helpers.when(f.T0) == "2026-11-02 12:00 UTC"


def test_an_unknown_web_timezone_is_a_config_error():
    with pytest.raises(ValueError, match="unknown timezone"):
        Web(timezone="Mars/Olympus")


def test_subscriptions_page_shows_the_next_digest_in_the_display_zone(engine, web_config, make_user, login):
    config = web_config.model_copy(update={"web": Web(timezone="America/Chicago")})
    with TestClient(create_app(config, engine=engine), follow_redirects=False) as client:
        login(client, "staff", username="ana", email="ana@example.org")
        r = client.post("/subscriptions", data={
            "csrf_token": client.csrf, "email_enabled": "true", "frequency": "daily", "at_time": "08:00",
            "timezone": "America/Chicago",
        })  # fmt: skip
        assert r.status_code == 303
        page = client.get("/subscriptions")
    cell = page.text.split('data-label="Next digest">')[1].split("</td>")[0]
    assert cell.endswith(" 08:00 CST") and "UTC" not in cell
