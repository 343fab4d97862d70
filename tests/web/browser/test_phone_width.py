"""Phones: at 375 px wide (and at 360 px) no page of the route list scrolls sideways, with real long council
titles, long identifiers and long URLs in the data. Run in Debian's chromium against ``tracker serve``, on
SQLite only: the layout is the browser's, the same whatever engine the pages were read from."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.conftest import run_tracker
from tests.web.browser.conftest import Site
from tests.web.browser.support import ROUTES, long_bills, unique_slug
from tests.web.helpers import PASSWORD


@pytest.fixture(scope="module")
def admin(site: Site) -> str:
    name = f"admin{unique_slug()}"
    result = run_tracker("users", "add", name, "--role", "admin", "--email", f"{name}@example.org",
                         env={"TRACKER_PASSWORD": PASSWORD, "TRACKER_DATABASE_URL": site.db_url})  # fmt: skip
    assert result.returncode == 0, result.stderr
    return name


@pytest.mark.parametrize("width", [375, 360])
def test_no_page_scrolls_sideways_at_phone_width(browser: Browser, site: Site, admin: str, width: int):
    ids = long_bills(site.engine)
    context = browser.new_context(base_url=site.base_url, viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Username").fill(admin)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        too_wide = []
        for route in [*ROUTES, f"/bills/{ids[0]}"]:
            response = page.goto(route)
            assert response is not None and response.status == 200, (route, response and response.status)
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                too_wide.append(f"{route}: {scroll} px in a {inner} px window")
        assert not too_wide, "; ".join(too_wide)
    finally:
        context.close()
